"""Test helpers that graphkit ships, for our tests and users' alike.

- ``require_peer`` imports a peer library (PyG, DGL, ...) or skips the test (fails under
  ``GRAPHKIT_REQUIRE_PEERS=1``); ``assert_raises_in_subprocess`` runs bad-input snippets in a fresh interpreter.
- ``assert_matches_pyg`` / ``assert_permutation_equivariant`` check a layer against PyG's and under node
  permutations (``graphkit.testing.layers``).
- ``graphkit.testing.reference`` holds a plain-torch reference of every kernel; ``graphkit.testing.strategies``
  hypothesis strategies for random graphs.
"""
from graphkit.testing.layers import assert_matches_pyg, assert_permutation_equivariant, random_graph
from graphkit.testing.peers import import_dgl, peers_required, require_peer
from graphkit.testing.subprocess import assert_raises_in_subprocess, run_snippet

__all__ = [
    "require_peer", "peers_required", "import_dgl", "assert_raises_in_subprocess", "run_snippet",
    "assert_matches_pyg", "assert_permutation_equivariant", "random_graph",
]
