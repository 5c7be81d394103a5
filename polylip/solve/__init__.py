"""The solve stage: a relaxation handed to a backend, the retry policy, and the :class:`Result`."""
