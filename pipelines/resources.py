"""The one resource every asset uses: the home directory and the source folders."""


import os

import dagster as dg

from warehouse.lake import DEFAULT_SHARDS, Home
from warehouse.sources import SourceLayout, Sources, detect_all, resolve_sources


class ClinfuseResource(dg.ConfigurableResource):
    """Home directory and MIMIC source folders. Empty source fields fall back to CLINFUSE_MIMIC_*,
    clinfuse.yaml, the sources the home was last ingested from, then the synthetic source."""

    home: str = ".clinfuse"
    mimic_iv: str = ""
    mimic_cxr: str = ""
    mimic_note: str = ""
    shards: int = DEFAULT_SHARDS

    def open_home(self) -> Home:
        return Home.open(self.home)

    def sources(self) -> Sources:
        return resolve_sources(self.open_home(), mimic_iv=self.mimic_iv or None,
                               mimic_cxr=self.mimic_cxr or None, mimic_note=self.mimic_note or None)

    def layouts(self) -> dict[str, SourceLayout]:
        return detect_all(self.sources())


def resource_from_env() -> ClinfuseResource:
    """LOCAL and deployed runs differ only in these variables (the compose file sets them)."""
    return ClinfuseResource(
        home=os.environ.get("CLINFUSE_HOME", ".clinfuse"),
        mimic_iv=os.environ.get("CLINFUSE_MIMIC_IV", ""),
        mimic_cxr=os.environ.get("CLINFUSE_MIMIC_CXR", ""),
        mimic_note=os.environ.get("CLINFUSE_MIMIC_NOTE", ""),
        shards=int(os.environ.get("CLINFUSE_SHARDS", DEFAULT_SHARDS)),
    )
