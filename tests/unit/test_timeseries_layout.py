"""Golden checks on the 76-column layout (reference-pipelines.md §5 items 2-3)."""

import pytest

from features.timeseries.layout import (
    CHANNELS,
    COLUMNS,
    CONTINUOUS_COLUMN_INDICES,
    CONTINUOUS_COLUMNS,
    MASK_COLUMNS,
    VALUE_COLUMNS,
    bin_of,
    n_bins,
)


def test_width_and_split_values_masks():
    assert len(COLUMNS) == 76
    assert len(VALUE_COLUMNS) == 59 and len(MASK_COLUMNS) == 17
    assert len(set(COLUMNS)) == 76


def test_reference_column_names():
    assert COLUMNS[0] == "Capillary refill rate->0.0"
    assert COLUMNS[1] == "Capillary refill rate->1.0"
    assert COLUMNS[2] == "Diastolic blood pressure"
    assert COLUMNS[3] == "Fraction inspired oxygen"
    assert COLUMNS[7] == "Glascow coma scale eye opening->4 Spontaneously"
    assert COLUMNS[10] == "Glascow coma scale eye opening->Spontaneously"
    assert COLUMNS[28] == "Glascow coma scale total->15"
    assert COLUMNS[48] == "Glascow coma scale verbal response->3 Inapprop words"
    assert COLUMNS[49] == "Glucose"
    assert COLUMNS[58] == "pH"
    assert COLUMNS[59] == "mask->Capillary refill rate"
    assert COLUMNS[64] == "mask->Glascow coma scale total"
    assert COLUMNS[75] == "mask->pH"
    assert MASK_COLUMNS == tuple(f"mask->{c}" for c in CHANNELS)


def test_continuous_columns():
    assert list(CONTINUOUS_COLUMN_INDICES) == [2, 3, *range(49, 59)]
    assert [COLUMNS[i] for i in CONTINUOUS_COLUMN_INDICES] == list(CONTINUOUS_COLUMNS)


@pytest.mark.parametrize(("timestep", "steps"), [(2.0, 24), (1.0, 48), (0.8, 60)])
def test_ihm_bins(timestep, steps):
    assert n_bins(48.0, timestep) == steps


def test_bin_edges():
    assert bin_of(0.0, 2.0) == 0
    assert bin_of(2.0, 2.0) == 0
    assert bin_of(2.0001, 2.0) == 1
    assert bin_of(4.0, 2.0) == 1
    assert bin_of(48.0, 2.0) == 23
