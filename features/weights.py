"""Where pretrained weights come from, and what happens when they are missing.

Weights come from the libraries' own caches (Hugging Face's `HF_HOME`, torchxrayvision's cache dir).
Strict by default: no weights -> a clear error saying how to provide them. `weights: auto` (config, or
`CLINFUSE_WEIGHTS=auto`; the offline demo uses it) falls back to a randomly initialised model of the
same architecture, and the `weights_source` it returns says so wherever the embeddings go.
"""

from __future__ import annotations

import os
from typing import Literal

from warehouse.lake import ClinfuseError

WeightsPolicy = Literal["strict", "auto"]
RANDOM_INIT = "random-init"


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
