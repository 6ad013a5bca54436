"""The one resource every asset uses: the home directory and the source folders.

The subject-shard count is not a field here: it is fixed when the definitions load (the partitions
definition, pipelines.partitions) and reaches unpartitioned assets as the plain `shards` resource."""


import os

import dagster as dg

from features.notes.tokenizer import DEFAULT_MODEL as BIO_CLINICALBERT
from features.weights import weights_policy
from warehouse.lake import ClinfuseError, Home
from warehouse.sources import SourceLayout, Sources, detect_all, resolve_sources


class ClinfuseResource(dg.ConfigurableResource):
    """Home directory and MIMIC source folders. Empty source fields fall back to CLINFUSE_MIMIC_*,
    clinfuse.yaml, the sources the home was last ingested from, then the synthetic source."""

    home: str = ".clinfuse"
    mimic_iv: str = ""
    mimic_cxr: str = ""
    mimic_note: str = ""
    weights: str = ""  # strict | auto; empty: $CLINFUSE_WEIGHTS, else strict
    notes_model: str = ""  # BERT-family id or directory; empty: $CLINFUSE_NOTES_MODEL, else Bio_ClinicalBERT
    model_profile: str = ""  # paper | demo; empty: $CLINFUSE_MODEL_PROFILE, else paper

    def open_home(self, context: dg.AssetExecutionContext | None = None) -> Home:
        """The home. Given an asset's context, first check that every lake table the asset reads was
        materialised: an asset never publishes an empty table for lack of its inputs."""
        home = Home.open(self.home)
        if context is not None:
            require_inputs(home, context)
        return home

    def sources(self) -> Sources:
        return resolve_sources(self.open_home(), mimic_iv=self.mimic_iv or None,
                               mimic_cxr=self.mimic_cxr or None, mimic_note=self.mimic_note or None)

    def weights_policy(self) -> str:
        return weights_policy(self.weights or None)

    def notes_model_id(self) -> str:
        return self.notes_model or os.environ.get("CLINFUSE_NOTES_MODEL") or BIO_CLINICALBERT

    def model_profile_name(self) -> str:
        from models.profiles import profile_name

        return profile_name(self.model_profile or None)

    def layouts(self) -> dict[str, SourceLayout]:
        return detect_all(self.sources())

    def source_releases(self) -> dict[str, str]:
        """Source kind -> its release (e.g. mimic-iv-demo-2.2), as every report states its data source."""
        return {kind: layout.release for kind, layout in self.layouts().items()}


def resource_from_env() -> ClinfuseResource:
    """LOCAL and deployed runs differ only in these variables (the compose file sets them)."""
    return ClinfuseResource(
        home=os.environ.get("CLINFUSE_HOME", ".clinfuse"),
        mimic_iv=os.environ.get("CLINFUSE_MIMIC_IV", ""),
        mimic_cxr=os.environ.get("CLINFUSE_MIMIC_CXR", ""),
        mimic_note=os.environ.get("CLINFUSE_MIMIC_NOTE", ""),
        weights=os.environ.get("CLINFUSE_WEIGHTS", ""),
        notes_model=os.environ.get("CLINFUSE_NOTES_MODEL", ""),
        model_profile=os.environ.get("CLINFUSE_MODEL_PROFILE", ""),
    )


LAKE_SCHEMAS = ("raw", "cohorts", "features", "embeddings")  # asset key schema/table = lake/<schema>/<table>/


def require_inputs(home: Home, context: dg.AssetExecutionContext) -> None:
    """ClinfuseError "materialise X first" when a lake table the selected assets depend on was never written."""
    outputs = sorted(context.selected_asset_keys, key=lambda k: k.path)
    for key in outputs:
        for dep in sorted(set(context.assets_def.asset_deps.get(key, ())) - set(outputs), key=lambda k: k.path):
            if len(dep.path) == 2 and dep.path[0] in LAKE_SCHEMAS and not home.table_dir(*dep.path).is_dir():
                name = dep.to_user_string()
                raise ClinfuseError(f"{key.to_user_string()} reads {name}, which was never materialised in "
                                    f"{home.root}: materialise {name} first")
