"""Hyper-parameter profiles: `paper` (the reference code's and papers' values) and `demo` (CPU-sized).

A model's settings are its profile's values overlaid with whatever the user sets (Dagster config,
`clinfuse run --set`). `paper` follows reference-pipelines.md §3.6 and models-reference.md B4: batch 16,
Adam, ReduceLROnPlateau (factor 0.5, patience 10) on validation loss, early stopping on validation mean
AUROC (patience 15; 45 for the transformer fusion), 224-pixel images, ImageNet-initialised ResNet-34 for
the radiology encoder. `demo` keeps every architecture as it is and shrinks what costs time on a
2-core CPU: a few epochs and 64-pixel images.
"""

from __future__ import annotations

import os

from warehouse.lake import ClinfuseError

FAMILIES = ("uni_ehr", "uni_cxr", "medfuse", "tsfusion")
TASKS = ("ihm", "pheno")
PROFILES = ("paper", "demo")
FAMILY_TASKS: tuple[tuple[str, str], ...] = (
    ("uni_cxr", "cxr"),
    *((family, task) for family in ("uni_ehr", "medfuse", "tsfusion") for task in TASKS),
)

# What every model shares, whatever the profile.
COMMON = {
    "mode": "fixed",            # fixed | faithful (see FAITHFUL)
    "seed": 1002,
    "device": "auto",
    "num_workers": 0,
    "batch_size": 16,
    "weight_decay": 0.0,
    "lr_patience": 10,
    "lr_factor": 0.5,
    "hidden": 256,
    "layers": 2,
    "dropout": 0.3,
    "backbone": "resnet34",
    "image_column": "clahe",    # clahe | plain (features.cxr_tensors)
    "augment": "medfuse",       # medfuse | paper | none
    "loss": "bce",              # bce | uncertainty
    "uncertainty_lr": 7e-4,
    "uncertainty_form": "code",  # code | paper
    "missing": "masked",        # tsfusion: masked | zero_token
    "n_bootstrap": 1000,
    "subgroup_n_bootstrap": 200,
    "noise_fractions": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
    "shuffle_train_labels": False,  # a negative control: the same model on permuted training labels
}

# What `mode: faithful` changes (the reference code's behaviour, bugs included, for comparison runs).
FAITHFUL = {
    "betas": [0.9, 0.9],            # the reference wires --beta_1 into the second beta (reference §7 #9)
    "missing": "zero_token",        # the transformer attends the zero token of a missing image (§7 #15)
    "validation_subset": "paired",  # the reference validates on PAIRED samples only (§7 #8)
    "augment": "medfuse",
}
FIXED = {"betas": [0.9, 0.999], "validation_subset": "partial"}

_PAPER = {
    ("uni_ehr", "ihm"): {"lr": 5.3985e-4, "epochs": 100, "patience": 15},
    ("uni_ehr", "pheno"): {"lr": 5.3985e-4, "epochs": 100, "patience": 15},
    ("uni_cxr", "cxr"): {"lr": 5e-4, "epochs": 100, "patience": 15, "cxr_weights": "imagenet"},
    ("medfuse", "ihm"): {"lr": 1e-4, "epochs": 50, "patience": 15},
    ("medfuse", "pheno"): {"lr": 7e-5, "epochs": 50, "patience": 15},
    ("tsfusion", "ihm"): {"lr": 1e-4, "epochs": 50, "patience": 45},
    ("tsfusion", "pheno"): {"lr": 7e-5, "epochs": 100, "patience": 45, "loss": "uncertainty"},
}
_PAPER_ALL = {"image_size": 224, "cxr_weights": "none"}  # fusion encoders start from the stage-1 checkpoints

# 200 resamples (50 per subgroup) instead of 1,000: scikit-learn's per-call checks cost ~1 ms per label
# and metric, which for 25 phenotypes is minutes per report on 2 cores.
_DEMO_ALL = {"epochs": 4, "patience": 4, "lr": 1e-3, "image_size": 64, "cxr_weights": "none",
             "n_bootstrap": 200, "subgroup_n_bootstrap": 50}
_DEMO = {
    ("uni_cxr", "cxr"): {"epochs": 2, "cxr_weights": "imagenet"},
    ("tsfusion", "pheno"): {"loss": "uncertainty"},
}


def model_name(family: str, task: str) -> str:
    """Asset and artifact name: `uni_cxr`, or `<family>_<task>`."""
    return family if task == "cxr" else f"{family}_{task}"


def profile_name(configured: str | None = None) -> str:
    value = (configured or os.environ.get("CLINFUSE_MODEL_PROFILE") or "paper").strip().lower()
    if value not in PROFILES:
        raise ClinfuseError(f"model profile {value!r}: expected one of {', '.join(PROFILES)}")
    return value


def resolve_settings(family: str, task: str, profile: str, overrides: dict | None = None) -> dict:
    """The settings a model trains with: common values, the profile's, the mode's, then the user's."""
    if (family, task) not in FAMILY_TASKS:
        raise ClinfuseError(f"no model {family!r} for task {task!r}")
    profile = profile_name(profile)
    settings = dict(COMMON)
    if profile == "paper":
        settings |= _PAPER_ALL | _PAPER[(family, task)]
    else:
        settings |= _DEMO_ALL | _DEMO.get((family, task), {})
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    mode = overrides.get("mode", settings["mode"])
    if mode not in ("fixed", "faithful"):
        raise ClinfuseError(f"mode {mode!r}: expected fixed or faithful")
    settings |= FAITHFUL if mode == "faithful" else FIXED
    if family in ("uni_ehr", "uni_cxr"):  # the reference's PAIRED-only validation is its fusion runs' bug (§7 #8)
        settings["validation_subset"] = "partial"
    unknown = sorted(set(overrides) - set(settings))
    if unknown:
        raise ClinfuseError(f"unknown model setting(s): {', '.join(unknown)}")
    settings |= overrides
    if not 64 <= int(settings["image_size"]) <= 224:
        # below 64 px ResNet-34's last BatchNorm sees one value per channel when a batch has a single image
        raise ClinfuseError(f"image_size {settings['image_size']}: expected 64 to 224 pixels")
    settings["profile"] = profile
    settings["family"] = family
    settings["task"] = task
    return settings
