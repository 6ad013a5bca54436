"""Cleaning rules of reference §1.6 in both modes, and the duplicate rule of §1.7."""

from datetime import datetime, timedelta

import polars as pl
import pytest

from features.timeseries.cleaning import clean_events

T0 = datetime(2150, 1, 1, 8)
SCHEMA = {"stay_id": pl.Int64, "charttime": pl.Datetime("us"), "itemid": pl.Int64, "value": pl.String,
          "valuenum": pl.Float64, "valueuom": pl.String}


def raw(*rows):
    """rows: (itemid, value, valuenum, valueuom[, minutes after T0]); one stay."""
    out = []
    for i, r in enumerate(rows):
        itemid, value, valuenum, uom, *rest = r
        minutes = rest[0] if rest else i
        out.append((1, T0 + timedelta(minutes=minutes), itemid, value, valuenum, uom))
    return pl.DataFrame(out, schema=SCHEMA, orient="row")


def cleaned(mode, *rows):
    return clean_events(raw(*rows), mode).collect().sort("charttime")


def nums(mode, *rows):
    return cleaned(mode, *rows)["value_num"].to_list()


@pytest.mark.parametrize(("mode", "expected"), [("faithful", [0.5, 0.005]), ("fixed", [0.5, 0.5])])
def test_fio2(mode, expected):
    assert nums(mode, (223835, "50", 50.0, None), (223835, "0.5", 0.5, None)) == pytest.approx(expected)


@pytest.mark.parametrize(("mode", "expected"), [
    ("faithful", [37.0, 37.0, 78.0]),  # 78 °F is below the >= 79 test: not converted
    ("fixed", [37.0, 37.0, 26.0]),     # unit °F -> 25.6 °C, then clipped to VALID LOW 26
])
def test_temperature(mode, expected):
    rows = [(223761, "98.6", 98.6, "°F"), (223762, "37", 37.0, "°C"), (223761, "78", 78.0, "°F")]
    assert nums(mode, *rows) == pytest.approx(expected)


def test_temperature_fahrenheit_value_in_celsius_item_converted_in_both_modes():
    for mode in ("faithful", "fixed"):
        assert nums(mode, (223762, "99", 99.0, "°C")) == pytest.approx([(99 - 32) * 5 / 9])


@pytest.mark.parametrize(("mode", "expected"), [("faithful", [70.0, 178.0]), ("fixed", [178.0, 178.0])])
def test_height_inches(mode, expected):
    assert nums(mode, (226707, "70", 70.0, "Inch"), (226730, "178", 178.0, "cm")) == expected


@pytest.mark.parametrize("mode", ["faithful", "fixed"])
def test_weight_lbs_and_kg(mode):
    got = nums(mode, (226531, "200", 200.0, None), (224639, "80", 80.0, "kg"))
    assert got == pytest.approx([200 * 0.453592, 80.0])


def test_weight_lbs_by_unit_only_in_fixed():
    assert nums("fixed", (224639, "176", 176.0, "lbs")) == pytest.approx([176 * 0.453592])
    assert nums("faithful", (224639, "176", 176.0, "lbs")) == [176.0]


@pytest.mark.parametrize("mode", ["faithful", "fixed"])
def test_blood_pressure_pairs(mode):
    out = cleaned(mode, (220050, "120/80", None, "mmHg", 0), (220051, "120/80", None, "mmHg", 0))
    assert dict(zip(out["variable"], out["value_num"], strict=False)) == {
        "Systolic blood pressure": 120.0, "Diastolic blood pressure": 80.0}


@pytest.mark.parametrize("mode", ["faithful", "fixed"])
def test_o2sat_fraction_to_percent(mode):
    assert nums(mode, (220277, "0.95", 0.95, "%"), (50817, "97", 97.0, "%")) == pytest.approx([95.0, 97.0])


def test_urine_and_other_fluid_labs_dropped_in_fixed_only():
    rows = [(51478, "100", 100.0, "mg/dL"), (51491, "6.0", 6.0, "units"), (50831, "7.4", 7.4, "units"),
            (51094, "5", 5.0, None), (50931, "140", 140.0, "mg/dL")]
    assert cleaned("faithful", *rows).height == 5
    fixed = cleaned("fixed", *rows)
    assert fixed["itemid"].to_list() == [50931]


def test_outliers_only_in_fixed():
    rows = [(220045, "400", 400.0, "bpm"), (220045, "360", 360.0, "bpm"), (220045, "80", 80.0, "bpm")]
    assert nums("faithful", *rows) == [400.0, 360.0, 80.0]
    # "Heart rate" in variable_ranges.csv: OUTLIER HIGH 390 -> dropped, VALID HIGH 350 -> clipped.
    assert nums("fixed", *rows) == [350.0, 80.0]


def test_duplicate_rule_string_max_in_faithful_numeric_max_in_fixed():
    rows = [(220045, "9", 9.0, "bpm", 0), (220045, "10", 10.0, "bpm", 0)]
    assert nums("faithful", *rows) == [9.0]   # '9' > '10' as strings
    assert nums("fixed", *rows) == [10.0]


def test_duplicate_rule_numeric_for_cleaned_variables_in_faithful():
    rows = [(220050, "90", 90.0, "mmHg", 0), (220179, "100", 100.0, "mmHg", 0)]
    assert nums("faithful", *rows) == [100.0]  # cleaned to floats before the sort in the reference


def test_lab_text_values():
    rows = [(50931, "___", 100.0, "mg/dL"), (51478, "NEG", None, "mg/dL"), (50931, " ", 90.0, "mg/dL")]
    assert cleaned("faithful", *rows).height == 0          # the reference reads `value` only
    assert nums("fixed", *rows) == [100.0, 90.0]            # fixed falls back on valuenum


def test_categorical_values_and_pandas_na_tokens():
    rows = [(220739, "None", 1.0, None), (223900, "NA", None, None), (223901, "Obeys Commands", 6.0, None)]
    faithful = cleaned("faithful", *rows)
    assert faithful["value_str"].to_list() == ["None", "Obeys Commands"]
    assert faithful["value_num"].null_count() == 2


def test_capillary_refill_mapping():
    out = cleaned("faithful", (3348, "Brisk", None, None), (3348, "Delayed", None, None), (3348, "?", None, None))
    assert out["value_str"].to_list() == ["0.0", "1.0"]


def test_unmapped_items_dropped_and_columns():
    out = cleaned("fixed", (220045, "80", 80.0, "bpm"), (999999, "1", 1.0, None))
    assert out.columns == ["stay_id", "charttime", "itemid", "variable", "value_str", "value_num"]
    assert out.height == 1


def test_bad_mode():
    with pytest.raises(ValueError, match="cleaning mode"):
        clean_events(raw((220045, "80", 80.0, "bpm")), "strict")
