"""What changed in the source folders since the last look: cheap (stat only, never hashing gigabytes).

The state of a source is {raw table name: [size, mtime_ns]} for every table file its layout found; a table
whose file appeared, vanished or changed size or modification time is "changed". Images are not statted one
by one (MIMIC-CXR-JPG has 377,110): the image list is re-read whenever the metadata table that lists every
image changes, which is how the release publishes new images.
"""

from __future__ import annotations

import hashlib
import json

from warehouse.sources import SourceLayout

# Raw tables re-read when another table's file changes (they have no file of their own).
FOLLOWERS = {"cxr_metadata": ("cxr_images",)}


def source_state(layouts: dict[str, SourceLayout]) -> dict[str, list[int]]:
    state = {}
    for layout in layouts.values():
        for table, path in layout.files.items():
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            state[table] = [stat.st_size, stat.st_mtime_ns]
    return dict(sorted(state.items()))


def changed_tables(previous: dict[str, list[int]], current: dict[str, list[int]]) -> list[str]:
    """Tables whose file is new, gone or different, plus the tables that follow them (FOLLOWERS)."""
    changed = {t for t in previous.keys() | current.keys() if previous.get(t) != current.get(t)}
    changed |= {follower for t in list(changed) for follower in FOLLOWERS.get(t, ())}
    return sorted(changed)


def state_fingerprint(state: dict[str, list[int]], tables: list[str]) -> str:
    """A short hash of the given tables' states: the same change seen twice gives the same run key."""
    text = json.dumps({t: state.get(t) for t in tables}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
