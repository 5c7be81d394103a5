import sys

from polylip.cli import main

sys.exit(main())
