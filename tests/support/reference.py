"""Where the tests find ``shared/reference`` (published figures and the CertDNN networks).

Order: the environment variable ``POLYLIP_REFERENCE``; ``shared/reference`` beside the
repository (how the workplace and CI lay it out: the clone and ``shared/`` side by side);
``/work/shared/reference``. Tests that need it skip when none exists.
"""

import os

_HERE = os.path.dirname(os.path.abspath(__file__))
_CANDIDATES = [os.environ.get("POLYLIP_REFERENCE"),
               os.path.join(_HERE, "..", "..", "..", "shared", "reference"),
               "/work/shared/reference"]

REF = next((os.path.normpath(p) for p in _CANDIDATES if p and os.path.isdir(p)),
           "/nonexistent/shared/reference")
NETS = os.path.join(REF, "certdnn_nets")
