"""Aligned text tables for the command line (one implementation for every command)."""

from __future__ import annotations


def print_aligned(names: list[str], cells: list[list[str]]) -> None:
    """Header, dashes, rows padded to column width, and a row count."""
    widths = [max([len(n)] + [len(row[i]) for row in cells]) for i, n in enumerate(names)]
    print("  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    print(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
