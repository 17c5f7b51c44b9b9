"""File formats: bytes <-> (topology, named weights). Nothing here computes a layer."""

from .common import ModelFile

__all__ = ["ModelFile"]
