"""Exact optimization by variable elimination (dynamic programming over a tree decomposition)."""
