"""Cleaning and unit conversion of the 17 variables' events (reference §1.6) and the duplicate rule (§1.7).

Two modes:

* ``faithful`` reproduces what MedFuse's `mimic4extract` does on MIMIC-IV, bugs included: the unit slot
  holds `valuenum`, so unit tests are dead; FiO2 is divided by 100 for every value; temperature is
  converted only when value >= 79; weight only via the item label ("lbs."); inch heights stay inches;
  urine / other-fluid lab ids stay in; no outlier rule; duplicates resolved by the pandas sort of a mixed
  column (numeric max for cleaned variables, lexicographic max for raw-string ones).
* ``fixed`` (project default) applies the intended rules with the real `valueuom`, converts 226707
  inches, divides FiO2 only when > 1, drops urine / other-fluid lab ids, applies `variable_ranges.csv`
  (outside OUTLIER LOW/HIGH -> dropped, outside VALID LOW/HIGH -> clipped) and resolves duplicates by
  numeric max.

Output: one row per (stay_id, charttime, variable) with `value_num` (Float64, continuous channels) or
`value_str` (String, categorical channels incl. capillary refill "0.0"/"1.0"); the other one is null.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from features.mimic3_benchmarks import discretizer_config, ready_item_map, variable_ranges

CleaningMode = Literal["fixed", "faithful"]
CLEANING_MODES: tuple[str, ...] = ("fixed", "faithful")

CRR = "Capillary refill rate"
DBP = "Diastolic blood pressure"
FIO2 = "Fraction inspired oxygen"
GLUCOSE = "Glucose"
HEIGHT = "Height"
O2SAT = "Oxygen saturation"
SBP = "Systolic blood pressure"
TEMP = "Temperature"
WEIGHT = "Weight"
PH = "pH"

# Variables with a cleaning function in mimic3-benchmarks; every other one stays a raw string there.
CLEANED_VARIABLES = frozenset({CRR, DBP, SBP, FIO2, O2SAT, GLUCOSE, PH, TEMP, WEIGHT, HEIGHT})
# Urine glucose, urine pH (two ids) and other-body-fluid pH pooled with blood values by the reference.
NON_BLOOD_LAB_ITEMIDS = (51478, 51491, 51094, 50831)
HEIGHT_INCH_ITEMIDS = (226707,)
FAHRENHEIT_ITEMIDS = (223761,)

# Strings pandas 1.x read_csv turns into NaN when the reference reads events.csv back (the rows are then
# dropped). "None" is not among them in pandas 1.x (it is since 2.0): GCS eye "None" survives.
_PANDAS1_NA_TOKENS = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null",
)
_UNSIGNED_DECIMAL = r"^(\d+(\.\d*)?|\.\d+)$"  # clean_lab / clean_o2sat's notion of "numeric"
_BP_PAIR = r"^(\d+)/(\d+)$"
_CRR_NORMAL = ("Normal <3 secs", "Brisk")
_CRR_ABNORMAL = ("Abnormal >3 secs", "Delayed")

_KEY_COLUMNS = ("subject_id", "hadm_id", "stay_id", "charttime", "hours")
_OPTIONAL_INPUTS = {"valuenum": pl.Float64, "valueuom": pl.String}


def clean_events(events: pl.LazyFrame | pl.DataFrame, mode: CleaningMode = "fixed") -> pl.LazyFrame:
    """Clean raw events of the 17 variables and keep one value per (stay_id, charttime, variable).

    `events` needs stay_id, charttime, itemid, value (String); valuenum, valueuom and the keys
    subject_id, hadm_id, hours are used / passed through when present. Item ids outside the ready map
    are dropped. Returns a LazyFrame: [keys present], itemid, variable, value_str, value_num.
    """
    if mode not in CLEANING_MODES:
        raise ValueError(f"cleaning mode must be one of {CLEANING_MODES}, got {mode!r}")
    lf = _with_item_map(_with_optional_inputs(events.lazy()))
    lf = _drop_unread_values(lf, mode)
    if mode == "fixed":
        lf = lf.filter(~pl.col("itemid").is_in(NON_BLOOD_LAB_ITEMIDS))
    lf = _with_parsed_inputs(lf, mode)
    lf = lf.with_columns(_clean_value_num(mode).alias("value_num"), _clean_value_str().alias("value_str"))
    if mode == "fixed":
        lf = _apply_variable_ranges(lf)
    lf = lf.filter(pl.col("value_num").is_not_null() | pl.col("value_str").is_not_null())
    return _keep_one_value_per_time(lf, mode)


# ---------------------------------------------------------------- inputs


def _with_optional_inputs(lf: pl.LazyFrame) -> pl.LazyFrame:
    names = lf.collect_schema().names()
    missing = [c for c in ("stay_id", "charttime", "itemid", "value") if c not in names]
    if missing:
        raise ValueError(f"clean_events: events lack required column(s) {missing}")
    extra = [pl.lit(None, dtype).alias(c) for c, dtype in _OPTIONAL_INPUTS.items() if c not in names]
    return lf.with_columns(extra) if extra else lf


def _item_table() -> pl.LazyFrame:
    """Ready item map with the variable as an Enum (cheap comparisons) and the label tests done once
    per item rather than once per event."""
    items = ready_item_map()
    label = pl.col("mimic_label").str.to_lowercase()
    return items.lazy().select(
        "itemid",
        pl.col("variable").cast(pl.Enum(sorted(items["variable"].unique()))),
        label.str.contains("oz", literal=True).alias("_label_oz"),
        label.str.contains("lb", literal=True).alias("_label_lb"),
        label.str.contains("f", literal=True).alias("_label_f"),
        label.str.contains("in", literal=True).alias("_label_in"),
    )


def _with_item_map(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Attach variable and label flags from the ready item map (inner join: unmapped ids go)."""
    names = lf.collect_schema().names()
    lf = lf.drop([c for c in ("variable", "mimic_label") if c in names])
    return lf.with_columns(pl.col("itemid").cast(pl.Int64)).join(_item_table(), on="itemid", how="inner")


def _drop_unread_values(lf: pl.LazyFrame, mode: CleaningMode) -> pl.LazyFrame:
    value = pl.col("value")
    if mode == "faithful":
        # The reference reads events.csv back with pandas and drops rows whose `value` is NaN.
        return lf.filter(value.is_not_null() & ~value.is_in(_PANDAS1_NA_TOKENS))
    # Fixed: a row is usable when it has text or a numeric value (labs often carry "___" + valuenum).
    return lf.with_columns(pl.when(value.str.strip_chars() == "").then(None).otherwise(value).alias("value")) \
        .filter(pl.col("value").is_not_null() | pl.col("valuenum").is_not_null())


# ---------------------------------------------------------------- value parsing


def _float(expr: pl.Expr) -> pl.Expr:
    """Python float(): surrounding spaces allowed, NaN treated as missing (pandas drops it)."""
    return expr.str.strip_chars().cast(pl.Float64, strict=False).fill_nan(None)


def _with_parsed_inputs(lf: pl.LazyFrame, mode: CleaningMode) -> pl.LazyFrame:
    """Columns every rule reads, computed once: `_num` (the event as a number), `_dec` (faithful:
    number only if an unsigned decimal, as clean_lab / clean_o2sat require), `_unit` (lower-case unit)."""
    value = pl.col("value")
    if mode == "faithful":
        num = _float(value)
        dec = pl.when(value.str.contains(_UNSIGNED_DECIMAL)).then(num)
    else:
        num = pl.coalesce(pl.col("valuenum").fill_nan(None), _float(value))
        dec = num
    return lf.with_columns(num.alias("_num"), dec.alias("_dec"),
                           pl.col("valueuom").fill_null("").str.to_lowercase().alias("_unit"))


def _bp_part(group: int) -> pl.Expr:
    """SBP (group 1) / DBP (group 2): "a/b" -> a or b; other strings parsed as numbers."""
    value = pl.col("value")
    return pl.when(value.str.contains("/", literal=True)) \
        .then(value.str.extract(_BP_PAIR, group).cast(pl.Float64)) \
        .otherwise(pl.col("_num"))


def _unit_mentions(text: str) -> pl.Expr:
    return pl.col("_unit").str.contains(text, literal=True)


# ---------------------------------------------------------------- per-variable rules


def _clean_value_num(mode: CleaningMode) -> pl.Expr:
    """Cleaned number of a continuous channel's event; null for categorical channels."""
    cfg = discretizer_config()
    var = pl.col("variable")
    rules = _faithful_rules() if mode == "faithful" else _fixed_rules()
    expr = pl.when(var == SBP).then(_bp_part(1)).when(var == DBP).then(_bp_part(2))
    for variable, rule in rules.items():
        expr = expr.when(var == variable).then(rule)
    # Raw variables (HR, RR, MBP): the discretizer's float(value).
    expr = expr.when(var.is_in(cfg.continuous_channels)).then(pl.col("_num")).otherwise(None)
    return expr.cast(pl.Float64)


def _faithful_rules() -> dict[str, pl.Expr]:
    num, dec = pl.col("_num"), pl.col("_dec")
    oz = pl.col("_label_oz")
    lb = oz | pl.col("_label_lb")
    return {
        # Python-3 `map` makes the "is string" mask a scalar True and the 'torr' test reads valuenum:
        # every value is divided by 100.
        FIO2: num / 100.0,
        O2SAT: pl.when(dec <= 1).then(dec * 100.0).otherwise(dec),
        GLUCOSE: dec,
        PH: dec,
        # `'F' in s.lower()` never holds, so only the value test converts.
        TEMP: pl.when(num >= 79).then((num - 32) * 5.0 / 9.0).otherwise(num),
        # Unit slot holds valuenum: only the label ("Admission Weight (lbs.)") can trigger.
        WEIGHT: pl.when(lb).then(pl.when(oz).then(num / 16.0).otherwise(num) * 0.453592).otherwise(num),
        # 226707's label "Height" has no "in" and its unit is gone: inches stay inches.
        HEIGHT: pl.when(pl.col("_label_in")).then((num * 2.54).round(0)).otherwise(num),
    }


def _fixed_rules() -> dict[str, pl.Expr]:
    num = pl.col("_num")
    oz = _unit_mentions("oz") | pl.col("_label_oz")
    lb = oz | _unit_mentions("lb") | pl.col("_label_lb")
    fahrenheit = _unit_mentions("f") | pl.col("_label_f") | pl.col("itemid").is_in(FAHRENHEIT_ITEMIDS)
    inches = _unit_mentions("in") | pl.col("_label_in") | pl.col("itemid").is_in(HEIGHT_INCH_ITEMIDS)
    return {
        FIO2: pl.when(~_unit_mentions("torr") & (num > 1)).then(num / 100.0).otherwise(num),
        O2SAT: pl.when(num <= 1).then(num * 100.0).otherwise(num),
        GLUCOSE: num,
        PH: num,
        # Value >= 79 kept from the intended rule: catches Fahrenheit values charted in the Celsius item.
        TEMP: pl.when(fahrenheit | (num >= 79)).then((num - 32) * 5.0 / 9.0).otherwise(num),
        WEIGHT: pl.when(lb).then(pl.when(oz).then(num / 16.0).otherwise(num) * 0.453592).otherwise(num),
        HEIGHT: pl.when(inches).then((num * 2.54).round(0)).otherwise(num),
    }


def _clean_value_str() -> pl.Expr:
    """Category string of a categorical channel's event; capillary refill mapped to "0.0"/"1.0"."""
    cfg = discretizer_config()
    var, value = pl.col("variable"), pl.col("value")
    crr = pl.when(value.is_in(_CRR_NORMAL)).then(pl.lit("0.0")) \
        .when(value.is_in(_CRR_ABNORMAL)).then(pl.lit("1.0"))
    others = [c for c in cfg.categorical_channels if c != CRR]
    return pl.when(var == CRR).then(crr).when(var.is_in(others)).then(value).otherwise(None)


def _apply_variable_ranges(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Fixed mode: outside OUTLIER LOW/HIGH -> dropped, outside VALID LOW/HIGH -> clipped (strict <, >).

    Names are matched case-insensitively: the file's "Heart rate" is the channel "Heart Rate".
    """
    ranges = variable_ranges().with_columns(pl.col("variable").str.to_lowercase())
    per_channel = pl.DataFrame({"variable": discretizer_config().continuous_channels}) \
        .with_columns(pl.col("variable").str.to_lowercase().alias("_key")) \
        .join(ranges.rename({"variable": "_key"}), on="_key", how="inner").drop("_key", "impute")
    # Enum-typed key, to join on the events' Enum column.
    enum = lf.collect_schema()["variable"]
    lf = lf.join(per_channel.lazy().with_columns(pl.col("variable").cast(enum)), on="variable", how="left")
    v = pl.col("value_num")
    outlier = (v < pl.col("outlier_low")) | (v > pl.col("outlier_high"))
    clipped = pl.when(v < pl.col("valid_low")).then(pl.col("valid_low")) \
        .when(v > pl.col("valid_high")).then(pl.col("valid_high")).otherwise(v)
    value_num = pl.when(v.is_null() | pl.col("outlier_low").is_null()).then(v) \
        .when(outlier).then(None).otherwise(clipped)
    return lf.with_columns(value_num.alias("value_num")) \
        .drop("outlier_low", "valid_low", "valid_high", "outlier_high")


# ---------------------------------------------------------------- duplicates


def _keep_one_value_per_time(lf: pl.LazyFrame, mode: CleaningMode) -> pl.LazyFrame:
    """One value per (stay_id, charttime, variable): the last after sorting by value (reference §1.7).

    The reference sorts a mixed object column: cleaned variables hold floats (numeric order), raw ones
    hold strings (lexicographic order, '9' > '10'). Faithful mode reproduces that; fixed mode takes the
    numeric max of every continuous variable (categorical ties: string max, for determinism).
    Only rows that share their key are sorted (duplicates are rare; sorting everything is the cost).
    """
    var = pl.col("variable")
    if mode == "faithful":
        numeric_key = pl.when(var.is_in(CLEANED_VARIABLES)).then(pl.col("value_num"))
        string_key = pl.when(~var.is_in(CLEANED_VARIABLES)).then(pl.col("value")).otherwise(pl.col("value_str"))
    else:
        numeric_key, string_key = pl.col("value_num"), pl.col("value_str")
    names = lf.collect_schema().names()
    keys = [c for c in _KEY_COLUMNS if c in names]
    group = ["stay_id", "charttime", "variable"]
    lf = lf.with_columns(pl.len().over(group).alias("_n"))
    singles = lf.filter(pl.col("_n") == 1)
    duplicates = (
        lf.filter(pl.col("_n") > 1)
        .with_columns(numeric_key.alias("_num_key"), string_key.alias("_str_key"))
        # itemid last: equal values under two item ids (a stored column since timeseries_events) keep one id
        .sort([*group, "_num_key", "_str_key", "itemid"], nulls_last=False)
        .unique(subset=group, keep="last", maintain_order=True)
    )
    out = [f.select(*keys, "itemid", var.cast(pl.String), "value_str", "value_num") for f in (singles, duplicates)]
    return pl.concat(out)
