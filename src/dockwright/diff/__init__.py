"""Layers: apply a (compressed) tar safely, write a directory's diff as a deterministic tar."""

from dockwright.diff.apply import AppliedLayer, apply_layer
from dockwright.diff.tarwrite import DiffResult, write_diff, write_tree

__all__ = ["AppliedLayer", "DiffResult", "apply_layer", "write_diff", "write_tree"]
