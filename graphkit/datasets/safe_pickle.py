"""Read the Python pickles some standard data sets ship (Planetoid, ZINC) without unrestricted unpickling.

A pickle names the callables it wants called while loading (``GLOBAL`` opcodes); an ordinary ``pickle.load``
imports and calls whatever it names, so a crafted file can run ``os.system``. :class:`AllowListUnpickler` resolves
a name only if it is in an explicit table of ``(module, name) -> object`` that holds the numpy, scipy and
container types those files really contain; any other name raises :class:`UnsafePickleError` before anything is
imported or called. The table maps names to objects directly (nothing is imported by name), so the old module
paths in files written by Python 2 and scipy < 1.8 (``numpy.core.multiarray``, ``scipy.sparse.csr``) resolve to
today's objects without importing deprecated modules.

>>> import io, pickle, numpy as np
>>> load_pickle(io.BytesIO(pickle.dumps(np.arange(3), protocol=2)), PLANETOID_TYPES).tolist()
[0, 1, 2]
>>> try:
...     load_pickle(io.BytesIO(pickle.dumps(print)), PLANETOID_TYPES)
... except UnsafePickleError as exc:
...     print(exc)
<stream> asks for builtins.print, which is not an allowed type (allowed: numpy arrays and dtypes, scipy sparse matrices, dict/list/defaultdict)
"""
from __future__ import annotations

import collections
import copyreg
import io
import os
import pickle
from typing import IO, Any, Callable, Dict, Tuple, Union

import numpy as np
import scipy.sparse as sp
import torch
import torch._utils

__all__ = ["AllowListUnpickler", "UnsafePickleError", "load_pickle", "PLANETOID_TYPES", "TORCH_TENSOR_TYPES",
           "numpy_reconstruct"]

Table = Dict[Tuple[str, str], Any]


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle asked for a type or function outside the allow-list; nothing it names was imported or called."""


def numpy_reconstruct() -> Callable[..., Any]:
    """numpy's ``_reconstruct`` (the array-pickle constructor), from numpy 2's ``_core`` or numpy 1's ``core``."""
    core = getattr(np, "_core", None) or np.core  # type: ignore[attr-defined]
    return core.multiarray._reconstruct


def _latin1(text: str, encoding: str = "latin1") -> bytes:
    """Python 3's protocol-2 spelling of ``bytes`` (``_codecs.encode(text, "latin1")``), for that codec only."""
    if encoding != "latin1" or not isinstance(text, str):
        raise UnsafePickleError(f"_codecs.encode is allowed only as encode(str, 'latin1'), got {encoding!r}")
    return text.encode("latin1")


def _numpy_table() -> Table:
    recon = numpy_reconstruct()
    core = getattr(np, "_core", None) or np.core  # type: ignore[attr-defined]
    table: Table = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype, ("_codecs", "encode"): _latin1}
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        table[(mod, "_reconstruct")] = recon
        table[(mod, "scalar")] = core.multiarray.scalar
    for mod in ("numpy.core.numeric", "numpy._core.numeric"):
        table[(mod, "_frombuffer")] = core.numeric._frombuffer
    return table


def _scipy_table() -> Table:
    table: Table = {}
    for cls in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix, sp.lil_matrix):
        short = cls.__name__.split("_")[0]  # csr, csc, coo, lil
        for mod in (f"scipy.sparse.{short}", f"scipy.sparse._{short}", "scipy.sparse"):
            table[(mod, cls.__name__)] = cls
    return table


# What the Planetoid files hold: scipy CSR (or LIL) features, numpy label arrays, and a dict/defaultdict of
# int -> list of neighbour ints (``copyreg._reconstructor``/``object`` build the sparse matrices of Python 2).
PLANETOID_TYPES: Table = {
    **_numpy_table(), **_scipy_table(),
    ("collections", "defaultdict"): collections.defaultdict, ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "list"): list, ("builtins", "dict"): dict, ("builtins", "object"): object,
    ("builtins", "set"): set, ("builtins", "int"): int, ("copyreg", "_reconstructor"): copyreg._reconstructor,
}
# Python 2 spelled ``builtins`` and ``copyreg`` as ``__builtin__`` and ``copy_reg`` (pickle's own fix_imports
# mapping lives in the default find_class, which this module replaces).
PLANETOID_TYPES.update({("__builtin__", n): v for (m, n), v in list(PLANETOID_TYPES.items()) if m == "builtins"})
PLANETOID_TYPES[("copy_reg", "_reconstructor")] = copyreg._reconstructor
_ALLOWED_WORDS = "numpy arrays and dtypes, scipy sparse matrices, dict/list/defaultdict"


class AllowListUnpickler(pickle.Unpickler):
    """A ``pickle.Unpickler`` whose ``find_class`` answers only from ``allowed`` (``(module, name) -> object``)."""

    def __init__(self, file: IO[bytes], allowed: Table, source: str = "<stream>", what: str = _ALLOWED_WORDS,
                 encoding: str = "latin1") -> None:
        # latin1: Python 2 pickles store numpy's raw bytes as ``str``; latin1 maps them back byte for byte.
        super().__init__(file, encoding=encoding)
        self.allowed, self.source, self.what = allowed, source, what

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise UnsafePickleError(f"{self.source} asks for {module}.{name}, which is not an allowed type "
                                    f"(allowed: {self.what})") from None


def load_pickle(file: Union[str, "os.PathLike[str]", IO[bytes]], allowed: Table, what: str = _ALLOWED_WORDS) -> Any:
    """Unpickle ``file`` (a path or binary stream) admitting only the types in ``allowed``."""
    if isinstance(file, (str, os.PathLike)):
        with open(file, "rb") as fh:
            return AllowListUnpickler(io.BytesIO(fh.read()), allowed, str(file), what).load()
    return AllowListUnpickler(file, allowed, what=what).load()


def _storage_from_bytes(data: bytes) -> Any:
    """``torch.storage._load_from_bytes`` as a pickled tensor names it, but with ``weights_only=True``.

    torch's own version calls ``torch.load(..., weights_only=False)``, i.e. a full unpickler on bytes that the
    file supplies; here those bytes go through torch's restricted loader, which admits storages and tensors only.
    """
    if not isinstance(data, bytes):
        raise UnsafePickleError(f"a tensor storage must be bytes, got {type(data).__name__}")
    return torch.load(io.BytesIO(data), weights_only=True)


# What ``pickle.dump`` of a list of dicts of torch tensors holds (ZINC's ``molecules/*.pickle``).
TORCH_TENSOR_TYPES: Table = {
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch.storage", "_load_from_bytes"): _storage_from_bytes,
    ("collections", "OrderedDict"): collections.OrderedDict, ("_codecs", "encode"): _latin1,
    ("builtins", "dict"): dict, ("builtins", "list"): list,
}
