"""Converters from every modality to ``Graph``/``Batch``, and the collate function for DataLoaders."""
from graphkit.data.collate import collate

__all__ = ["collate"]
