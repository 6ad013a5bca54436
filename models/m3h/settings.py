"""M3H's settings: `paper` (models-reference.md C3-C4 values) and `demo` (a 2-core CPU in seconds).

Unreported sizes (Supplemental Fig. 1 is not in the seed text) are [inferred]: widths in multiples of 64.
The paper's 5-fold CV over batch {256, 512} x lr {1e-4, 3e-4} is not run: `paper` takes batch 256, lr 1e-4.
"""

from __future__ import annotations

from models.profiles import profile_name
from warehouse.lake import ClinfuseError

COMMON = {
    "mode": "fixed",            # fixed: every selection on validation; faithful: on test, as the paper (C6 #6)
    "seed": 1002,
    "device": "auto",
    "threads": 0,               # torch intra-op threads while training/evaluating (0 = torch's default)
    "modality_hidden": 256,     # per-modality feed-forward net: d_m -> hidden -> projection
    "projection": 128,          # the shared space of the contrastive alignment
    "shared_hidden": 256,       # shared network
    "task_dim": 64,             # F: task-specific embedding width = cross-task attention width
    "dropout": 0.1,
    "attention_alpha": 0.1,     # cross-exploration strength (C3)
    "temperature": 0.1,         # InfoNCE temperature (C6 #9, inferred)
    "loss_weights": 1.0,        # every loss weight fixed at 1 (C6 #10)
    "ae_hidden": 256,
    "ae_latent": 32,
    "clusters": 15,
    "pca_components": 32,       # fixed space for a like-for-like silhouette (C6 #13)
    "min_train_positives": 10,  # binary: positives; multiclass/regression: labelled rows in the training split
    "max_tasks": 0,             # 0 = every task that passes min_train_positives
    "tim_tasks": 0,             # tasks in the TIM matrix (0 = every trained task)
    "tim_max_subset": 0,        # |S| of the added subsets; 0 = pairs only (Fig. 6)
    "tim_subsets": 1,           # sampled subsets S per (i, j) besides S = {} (only when tim_max_subset > 0)
    "tim_epochs": 0,            # epochs of each TIM model (0 = epochs)
    "n_bootstrap": 1000,
    "subgroup_n_bootstrap": 200,
}
PAPER = {"epochs": 15, "batch_size": 256, "lr": 1e-4, "tim_max_subset": 2, "tim_subsets": 4}
DEMO = {"epochs": 6, "batch_size": 32, "lr": 3e-3, "modality_hidden": 64, "projection": 32, "shared_hidden": 64,
        "task_dim": 32, "ae_hidden": 64, "ae_latent": 8, "pca_components": 8, "max_tasks": 6, "tim_tasks": 4,
        "tim_epochs": 4, "threads": 1, "n_bootstrap": 200, "subgroup_n_bootstrap": 50}
INT_KEYS = ("seed", "threads", "modality_hidden", "projection", "shared_hidden", "task_dim", "ae_hidden", "ae_latent",
            "clusters", "pca_components", "min_train_positives", "max_tasks", "tim_tasks", "tim_max_subset",
            "tim_subsets", "tim_epochs", "n_bootstrap", "subgroup_n_bootstrap", "epochs", "batch_size")

MODE_TEXT = {
    "fixed": "the default: the TIM matrix and the best multi-task set per task are read from validation scores; "
             "test is evaluated once; CIs are 95 % bootstrap percentile intervals, the paper's ±1 SD over 5 random "
             "90 % test subsets beside them (C6 #6-7).",
    "faithful": "reproduces the paper's protocol: the TIM matrix and the best multi-task set per task are read "
                "from TEST scores (selection on test: the best sets' test scores are optimistic, C6 #6).",
}


def resolve_settings(profile: str | None = None, overrides: dict | None = None) -> dict:
    """COMMON, then the profile's values, then the user's (None/empty = unset)."""
    name = profile_name(profile)
    settings = {**COMMON, **(PAPER if name == "paper" else DEMO), "profile": name}
    for key, value in (overrides or {}).items():
        if value in (None, ""):
            continue
        if key not in settings:
            raise ClinfuseError(f"m3h: unknown setting {key!r}; known: {', '.join(sorted(settings))}")
        settings[key] = value
    if settings["mode"] not in ("fixed", "faithful"):
        raise ClinfuseError(f"m3h: mode must be fixed or faithful, got {settings['mode']!r}")
    for key in INT_KEYS:
        if int(settings[key]) != settings[key] or int(settings[key]) < 0:
            raise ClinfuseError(f"m3h: {key} must be a non-negative integer, got {settings[key]!r}")
        settings[key] = int(settings[key])
    for key in ("epochs", "batch_size", "clusters"):
        if settings[key] < 1:
            raise ClinfuseError(f"m3h: {key} must be >= 1, got {settings[key]}")
    return settings
