"""Where pretrained weights come from, and what happens when they are missing.

Weights come from the libraries' own caches (Hugging Face's `HF_HOME`, torchxrayvision's cache dir).
Strict by default: no weights -> a clear error saying how to provide them. `weights: auto` (config, or
`CLINFUSE_WEIGHTS=auto`; the offline demo uses it) falls back to a randomly initialised model of the
same architecture, and the `weights_source` it returns says so wherever the embeddings go.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from warehouse.lake import ClinfuseError

WeightsPolicy = Literal["strict", "auto"]
RANDOM_INIT = "random-init"
NO_SOURCE = "no source"  # a modality absent from the source: nothing to embed, no model loaded


class WeightsUnavailable(ClinfuseError):
    """Pretrained weights were asked for (strict) and are not on this machine."""


def weights_policy(configured: str | None = None) -> WeightsPolicy:
    """The policy in force: an explicit setting wins, then CLINFUSE_WEIGHTS, then strict."""
    value = (configured or os.environ.get("CLINFUSE_WEIGHTS") or "strict").strip().lower()
    if value not in ("strict", "auto"):
        raise ClinfuseError(f"weights: {value!r} is not 'strict' or 'auto'")
    return value  # type: ignore[return-value]


def missing_weights(what: str, how_to_provide: str, policy: WeightsPolicy) -> str:
    """Strict: raise with instructions. Auto: return RANDOM_INIT for the caller to record."""
    if policy == "strict":
        raise WeightsUnavailable(
            f"{what}: pretrained weights not found. {how_to_provide} "
            f"Or set `weights: auto` (CLINFUSE_WEIGHTS=auto) to run with a randomly initialised model "
            f"(recorded as weights_source={RANDOM_INIT})."
        )
    return RANDOM_INIT


# ---------------------------------------------------------------- the named-weights registry
# One table of the pretrained weights clinfuse can load (in the style of torchxrayvision's `model_urls`). Each
# entry's `lookup` is the very function its loader calls to find the files, so `clinfuse doctor` checks exactly
# what loading needs. Entries are registered by the module that loads them (features.notes.bert,
# features.cxr.densenet, models.encoders); `clinfuse doctor` imports those modules.


@dataclass(frozen=True)
class WeightsLookup:
    """What an offline lookup found: `present` when every file loading needs is there."""

    present: bool
    where: str  # the file or folder looked at
    needs: str  # the files loading needs


@dataclass(frozen=True)
class NamedWeights:
    name: str  # the library's own name for the weights
    library: str
    used_by: str  # the assets that load them
    lookup: Callable[[], WeightsLookup]


WEIGHTS: dict[str, NamedWeights] = {}


def register_weights(entry: NamedWeights) -> NamedWeights:
    WEIGHTS[entry.name] = entry
    return entry


def lookup_weights(name: str) -> WeightsLookup:
    """The registry entry's lookup (ClinfuseError for a name no loader registered)."""
    if name not in WEIGHTS:
        raise ClinfuseError(f"no registered weights named {name!r}; known: {', '.join(sorted(WEIGHTS))}")
    return WEIGHTS[name].lookup()
