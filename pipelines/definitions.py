"""The one Definitions object: `dagster dev -m pipelines.definitions` or `clinfuse ui`."""

from __future__ import annotations

import dagster as dg

from pipelines.assets import raw
from pipelines.io import LakeIOManager
from pipelines.resources import resource_from_env

_clinfuse = resource_from_env()

defs = dg.Definitions(
    assets=[*raw.ASSETS],
    resources={"clinfuse": _clinfuse, "io_manager": LakeIOManager(clinfuse=_clinfuse)},
)
