"""On-disk storage: the one pickle-free array store (``store``) and the one atomic write (``atomic``)."""
from graphkit.io.atomic import atomic_write, atomic_write_bytes, atomic_write_text, remove_stale_temps
from graphkit.io.store import (DATA_ENV, STORE_FORMAT, ArrayStore, default_root, flatten, load_or_build,
                               sha256_file, unflatten)

__all__ = ["ArrayStore", "load_or_build", "default_root", "sha256_file", "flatten", "unflatten", "STORE_FORMAT",
           "DATA_ENV", "atomic_write", "atomic_write_text", "atomic_write_bytes", "remove_stale_temps"]
