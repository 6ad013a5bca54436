"""The 76-column layout of the discretised time series (reference §1.10), derived from the vendored config.

Values first, channel by channel in `discretizer_config.json` order (a categorical channel takes one column
per category, named `<channel>-><category>`; a continuous one takes one column named after the channel),
then one `mask-><channel>` column per channel.
"""

from __future__ import annotations

from features.mimic3_benchmarks import discretizer_config

EPS = 1e-6  # the reference's tolerance in bin and window arithmetic

_CFG = discretizer_config()
CHANNELS: tuple[str, ...] = _CFG.channels


def _value_columns() -> tuple[str, ...]:
    cols: list[str] = []
    for ch in CHANNELS:
        if _CFG.is_categorical[ch]:
            cols += [f"{ch}->{v}" for v in _CFG.possible_values[ch]]
        else:
            cols.append(ch)
    return tuple(cols)


VALUE_COLUMNS: tuple[str, ...] = _value_columns()
MASK_COLUMNS: tuple[str, ...] = tuple(f"mask->{ch}" for ch in CHANNELS)
COLUMNS: tuple[str, ...] = VALUE_COLUMNS + MASK_COLUMNS
CONTINUOUS_COLUMNS: tuple[str, ...] = _CFG.continuous_channels
CONTINUOUS_COLUMN_INDICES: tuple[int, ...] = tuple(COLUMNS.index(c) for c in CONTINUOUS_COLUMNS)


def n_bins(period_hours: float, timestep: float) -> int:
    """Number of steps for a period of T hours: int(T/Δ + 1 − 1e-6) (reference §1.10)."""
    return int(period_hours / timestep + 1.0 - EPS)


def bin_of(hours: float, timestep: float) -> int:
    """Bin of an event t hours after intime: int(t/Δ − 1e-6); bin k covers (kΔ, (k+1)Δ], t = 0 → bin 0."""
    return int(hours / timestep - EPS)


if len(COLUMNS) != 76:  # fail loudly if the vendored config ever changes
    raise ValueError(f"discretizer_config.json gives {len(COLUMNS)} columns, expected 76")
