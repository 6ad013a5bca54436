"""The synthetic MIMIC generator (SPEC §9): MIMIC-IV (v1.0 / v2.2 / v3.1 layouts), MIMIC-IV-Note and
MIMIC-CXR-JPG files with planted signal, deterministic for a seed."""

from .generator import LAYOUTS, generate

__all__ = ["generate", "LAYOUTS"]
