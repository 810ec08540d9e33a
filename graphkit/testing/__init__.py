"""Test helpers that graphkit ships, for our tests and users' alike.

``require_peer`` / ``assert_raises_in_subprocess`` are always here; the reference kernels live in
``graphkit.testing.reference`` and layer checks (``assert_matches_pyg``, ``assert_permutation_equivariant``) in
``graphkit.testing.layers``; hypothesis strategies in ``graphkit.testing.strategies``.
"""
from graphkit.testing.peers import import_dgl, peers_required, require_peer
from graphkit.testing.subprocess import assert_raises_in_subprocess, run_snippet

__all__ = ["require_peer", "peers_required", "import_dgl", "assert_raises_in_subprocess", "run_snippet"]
