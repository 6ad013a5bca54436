"""The one Definitions object: `dagster dev -m pipelines.definitions` or `clinfuse ui`."""

import dagster as dg

from pipelines.assets import raw
from pipelines.io import LakeIOManager
from pipelines.resources import ClinfuseResource, resource_from_env

ASSETS = [*raw.ASSETS]


def build_definitions(clinfuse: ClinfuseResource) -> dg.Definitions:
    return dg.Definitions(
        assets=ASSETS,
        resources={"clinfuse": clinfuse, "io_manager": LakeIOManager(clinfuse=clinfuse)},
    )


defs = build_definitions(resource_from_env())
