"""Loaders for the vendored mimic3-benchmarks resources (MIT, `warehouse/resources/mimic3_benchmarks`).

Every loader reads a file shipped inside the `warehouse` package, parses it once (cached) and returns
plain Python values or Polars frames. Nothing here touches MIMIC data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl
import yaml

import warehouse

RESOURCE_DIR = Path(warehouse.__file__).parent / "resources" / "mimic3_benchmarks"

# MedFuse's hard-coded `levels` array (trainers/trainer.py), the same as Harutyunyan et al.'s table;
# it differs from the YAML `type` for 5 groups (reference §1.3), so it is kept here, not derived.
PHENOTYPE_LEVELS: dict[str, str] = {
    "Acute and unspecified renal failure": "acute",
    "Acute cerebrovascular disease": "acute",
    "Acute myocardial infarction": "acute",
    "Cardiac dysrhythmias": "mixed",
    "Chronic kidney disease": "chronic",
    "Chronic obstructive pulmonary disease and bronchiectasis": "chronic",
    "Complications of surgical procedures or medical care": "acute",
    "Conduction disorders": "mixed",
    "Congestive heart failure; nonhypertensive": "mixed",
    "Coronary atherosclerosis and other heart disease": "chronic",
    "Diabetes mellitus with complications": "mixed",
    "Diabetes mellitus without complication": "chronic",
    "Disorders of lipid metabolism": "chronic",
    "Essential hypertension": "chronic",
    "Fluid and electrolyte disorders": "acute",
    "Gastrointestinal hemorrhage": "acute",
    "Hypertension with complications and secondary hypertension": "chronic",
    "Other liver diseases": "mixed",
    "Other lower respiratory disease": "acute",
    "Other upper respiratory disease": "acute",
    "Pleurisy; pneumothorax; pulmonary collapse": "acute",
    "Pneumonia (except that caused by tuberculosis or sexually transmitted disease)": "acute",
    "Respiratory failure; insufficiency; arrest (adult)": "acute",
    "Septicemia (except in labor)": "acute",
    "Shock": "acute",
}

# Item ids that exist in MIMIC-IV (reference §1.5): MetaVision ICU ids and hosp lab ids.
MIMIC_IV_ICU_MIN_ITEMID = 220000
MIMIC_IV_LAB_ITEMIDS = (50000, 52999)


def resource_path(name: str) -> Path:
    path = RESOURCE_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"vendored resource missing: {path}")
    return path


# ---------------------------------------------------------------- item map


@lru_cache(maxsize=1)
def _item_map_raw() -> pl.DataFrame:
    # Every column as text: the file mixes numbers, dates and free text (LOINC column holds "6/1/1742").
    return pl.read_csv(resource_path("itemid_to_variable_map.csv"), infer_schema=False)


@lru_cache(maxsize=1)
def ready_item_map() -> pl.DataFrame:
    """The 114 item ids in use: LEVEL2 non-empty, COUNT > 0, STATUS == 'ready' (reference §1.5).

    Columns: itemid (Int64), variable (= LEVEL2), mimic_label, unitname, linksto, fluid, count.
    """
    raw = _item_map_raw()
    count = pl.col("COUNT").cast(pl.Int64, strict=False)
    ready = raw.filter(
        pl.col("LEVEL2").is_not_null() & (pl.col("LEVEL2").str.strip_chars() != "")
        & (count > 0) & (pl.col("STATUS") == "ready")
    )
    return ready.select(
        pl.col("ITEMID").cast(pl.Int64).alias("itemid"),
        pl.col("LEVEL2").alias("variable"),
        pl.col("MIMIC LABEL").fill_null("").alias("mimic_label"),
        pl.col("UNITNAME").alias("unitname"),
        pl.col("LINKSTO").alias("linksto"),
        pl.col("FLUID").alias("fluid"),
        count.alias("count"),
    )


def _in_mimic_iv(itemid: pl.Expr) -> pl.Expr:
    lo, hi = MIMIC_IV_LAB_ITEMIDS
    return (itemid >= MIMIC_IV_ICU_MIN_ITEMID) | itemid.is_between(lo, hi)


@lru_cache(maxsize=1)
def mimic_iv_item_map() -> pl.DataFrame:
    """The 44 ready item ids that exist in MIMIC-IV (ICU ids >= 220000 plus lab ids 50000-52999)."""
    return ready_item_map().filter(_in_mimic_iv(pl.col("itemid")))


def mimic_iv_itemids() -> list[int]:
    """The 44 MIMIC-IV item ids of the 17 variables, sorted."""
    return sorted(mimic_iv_item_map()["itemid"].to_list())


def itemids_by_variable(mimic_iv_only: bool = True) -> dict[str, list[int]]:
    """variable -> sorted item ids (every one of the 17 channels is a key, possibly with no ids)."""
    frame = mimic_iv_item_map() if mimic_iv_only else ready_item_map()
    out: dict[str, list[int]] = {ch: [] for ch in discretizer_config().channels}
    for variable, ids in frame.group_by("variable").agg(pl.col("itemid").sort()).iter_rows():
        out[variable] = list(ids)
    return out


# ---------------------------------------------------------------- discretizer config


@dataclass(frozen=True)
class DiscretizerConfig:
    """The 17 channels in `discretizer_config.json` order (NOT the sorted order of channel_info.json)."""

    channels: tuple[str, ...]
    is_categorical: dict[str, bool]
    possible_values: dict[str, tuple[str, ...]]
    normal_values: dict[str, str]

    @property
    def categorical_channels(self) -> tuple[str, ...]:
        return tuple(c for c in self.channels if self.is_categorical[c])

    @property
    def continuous_channels(self) -> tuple[str, ...]:
        return tuple(c for c in self.channels if not self.is_categorical[c])


@lru_cache(maxsize=1)
def discretizer_config() -> DiscretizerConfig:
    raw = json.loads(resource_path("discretizer_config.json").read_text())
    channels = tuple(raw["id_to_channel"])
    return DiscretizerConfig(
        channels=channels,
        is_categorical={c: bool(raw["is_categorical_channel"][c]) for c in channels},
        possible_values={c: tuple(raw["possible_values"][c]) for c in channels},
        normal_values={c: str(raw["normal_values"][c]) for c in channels},
    )


@lru_cache(maxsize=1)
def channel_info() -> dict:
    """channel_info.json as is: category strings and their numeric codes per channel."""
    return json.loads(resource_path("channel_info.json").read_text())


# ---------------------------------------------------------------- variable ranges


@lru_cache(maxsize=1)
def variable_ranges() -> pl.DataFrame:
    """variable_ranges.csv as mimic3-benchmarks reads it: first row per LEVEL2, complete rows only.

    Columns: variable, outlier_low, valid_low, impute, valid_high, outlier_high (Float64).
    Note the file spells "Heart rate" where the channel is "Heart Rate"; callers match names
    case-insensitively (see cleaning.py).
    """
    raw = pl.read_csv(resource_path("variable_ranges.csv"), infer_schema=False)
    cols = {"OUTLIER LOW": "outlier_low", "VALID LOW": "valid_low", "IMPUTE": "impute",
            "VALID HIGH": "valid_high", "OUTLIER HIGH": "outlier_high"}
    frame = raw.select(
        pl.col("LEVEL2").alias("variable"),
        *[pl.col(k).cast(pl.Float64).alias(v) for k, v in cols.items()],
    )
    return frame.unique(subset="variable", keep="first", maintain_order=True).drop_nulls()


# ---------------------------------------------------------------- phenotypes


def _load_yaml(name: str) -> dict:
    # libyaml's parser when present: the pure-Python one takes seconds on these files (at graph load)
    return yaml.load(resource_path(name).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@lru_cache(maxsize=1)
def _phenotype_yaml() -> dict:
    return _load_yaml("icd_9_10_definitions_2.yaml")


@lru_cache(maxsize=1)
def _hcup_yaml() -> dict:
    return _load_yaml("hcup_ccs_2015_definitions.yaml")


@lru_cache(maxsize=1)
def phenotype_names() -> tuple[str, ...]:
    """The 25 benchmark groups in label-column order (alphabetical, as create_phenotyping sorts them)."""
    return tuple(sorted(k for k, v in _phenotype_yaml().items() if v["use_in_benchmark"]))


@lru_cache(maxsize=1)
def phenotype_definitions() -> pl.DataFrame:
    """One row per (benchmark group, ICD version, code), unique.

    The YAML's code list of a group = the hcup_ccs_2015 ICD-9 list (same prefix) + appended ICD-10-CM
    codes (reference §1.3). The prefix length is taken from hcup_ccs_2015_definitions.yaml and checked.
    Columns: phenotype, ccs_id, yaml_type, level (MedFuse), icd_version (9|10), icd_code.
    """
    defs, hcup = _phenotype_yaml(), _hcup_yaml()
    rows: list[tuple[str, int, str, str, int, str]] = []
    for name in phenotype_names():
        codes = [str(c) for c in defs[name]["codes"]]
        icd9 = [str(c) for c in hcup[name]["codes"]]
        if codes[: len(icd9)] != icd9:
            raise ValueError(f"{name}: ICD-9 prefix of icd_9_10_definitions_2.yaml differs from hcup_ccs_2015")
        meta = (name, int(defs[name]["id"]), str(defs[name]["type"]), PHENOTYPE_LEVELS[name])
        rows += [(*meta, 9, c) for c in icd9]
        rows += [(*meta, 10, c) for c in codes[len(icd9):]]
    schema = {"phenotype": pl.String, "ccs_id": pl.Int64, "yaml_type": pl.String, "level": pl.String,
              "icd_version": pl.Int64, "icd_code": pl.String}
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.unique(subset=["phenotype", "icd_version", "icd_code"], keep="first", maintain_order=True)


# ---------------------------------------------------------------- reference splits


def _flag_file(name: str) -> pl.DataFrame:
    # Headerless "subject_id,flag" files.
    return pl.read_csv(resource_path(name), has_header=False, new_columns=["subject_id", "flag"],
                       schema_overrides={"subject_id": pl.Int64, "flag": pl.Int8})


@lru_cache(maxsize=1)
def reference_test_set() -> pl.DataFrame:
    """MedFuse `testset_iv.csv`: 47,046 subjects, flag 1 = test (9,409)."""
    return _flag_file("testset_iv.csv")


@lru_cache(maxsize=1)
def reference_val_set() -> pl.DataFrame:
    """MedFuse `valset_iv.csv`: 37,300 training subjects, flag 1 = validation (3,730)."""
    return _flag_file("valset_iv.csv")
