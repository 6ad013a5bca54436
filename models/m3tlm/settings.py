"""M3T-LM's hyper-parameters: the `paper` profile (models-reference A4: RMSprop lr 1e-3, batch 64, 30 epochs,
128-pixel images) and `demo` (CPU-sized), with the `fixed` / `faithful` modes (A6, part E)."""

from __future__ import annotations

from models.profiles import profile_name
from warehouse.lake import ClinfuseError

COMMON = {
    "mode": "fixed",               # fixed | faithful; must match the frame's mode
    "seed": 1002,
    "device": "auto",
    "batch_size": 64,
    "lr": 1e-3,                    # RMSprop
    "epochs": 30,
    "huber_delta": 2.0,
    "gradnorm_alpha": 1.5,
    "gradnorm_lr": 0.0,            # 0 = the model's learning rate (A4's recommended reading)
    "gradnorm_update": "epoch",    # epoch (the paper's Keras callback) | step | off (fixed 0.5 / 0.5)
    "gradnorm_layer": "dense32",   # the last shared layer whose kernel's gradients GradNorm balances
    "oversample": "random",        # random (imblearn, training split only) | class_weight | none
    "image_backbone": "resnet34",  # resnet18 | resnet34 (torchvision) | inception_resnet_v2 | any timm name
    "cxr_weights": "imagenet",     # imagenet (local cache only, strict/auto policy) | none
    "image_size": 128,
    "image_column": "plain",       # the paper scales raw pixels (/255); clahe is the MedFuse preprocessing
    "image_bn": True,              # BatchNorm on the pooled image feature (the paper's CRXMDL text)
    "dx_length": 23,               # Table I's padded token lengths
    "px_length": 18,
    "embed_dim": 32,
    "lstm_units": 2,
    "dx_vocab": 535,               # Table I's vocabulary sizes, padding and out-of-vocabulary included
    "px_vocab": 530,
    "dense": [64, 32],
    "dropout": 0.1,
    "text_l2": 1e-4,               # A6 #18: L2 on the text branches (RMSprop weight decay on them only)
    "n_bootstrap": 1000,
    "threshold": 0.5,
    "shuffle_train_labels": False,  # negative control: permuted training labels (both tasks)
}
FAITHFUL = {"image_backbone": "inception_resnet_v2", "cxr_weights": "none", "image_size": 128,
            "image_bn": False, "image_channels": 1}
FIXED = {"image_channels": 3}
PAPER = {}
# demo: timm's 0.37 M-parameter `test_resnet` at 64 px (ResNet-18 costs ~10 s per batch on a busy 2-core CPU)
DEMO = {"epochs": 3, "image_size": 64, "image_backbone": "test_resnet", "n_bootstrap": 200}
CHOICES = {
    "mode": ("fixed", "faithful"), "gradnorm_update": ("epoch", "step", "off"), "gradnorm_layer": ("dense32", "dense64"),
    "oversample": ("random", "class_weight", "none"), "cxr_weights": ("imagenet", "none"),
    "image_column": ("clahe", "plain"),
}
MODE_TEXT = {
    "fixed": "the clean reading (models-reference A6): prediction time = admittime + window; events and the "
             "latest frontal chest X-ray up to it; ICD titles of the patient's earlier admissions only; label = "
             "remaining LoS from the prediction time; subject-level split; random oversampling of the training "
             "split only, after the split; model selection on validation.",
    "faithful": "LEAKAGE WARNING - the paper's inputs: the whole admission's events and images, the ICD titles "
                "coded at discharge of the same admission, total LoS as the label (all of which encode the "
                "outcome), and the Table-I image branch (InceptionResNetV2, 1 channel, 128 px, random init). "
                "The paper's SMOTE before the train/validation split is NOT reproduced: oversampling stays on the "
                "training split, after the subject split; its figures are therefore not comparable with the "
                "paper's validation rows and are optimistic for the leaked inputs.",
}


def resolve_settings(profile: str | None, overrides: dict | None = None) -> dict:
    """Common values, the profile's, the mode's, then the user's."""
    profile = profile_name(profile)
    settings = dict(COMMON) | (PAPER if profile == "paper" else DEMO)
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None and v != ""}
    mode = overrides.get("mode", settings["mode"])
    if mode not in CHOICES["mode"]:
        raise ClinfuseError(f"m3tlm: mode {mode!r}: expected fixed or faithful")
    settings |= FAITHFUL if mode == "faithful" else FIXED
    unknown = sorted(set(overrides) - set(settings))
    if unknown:
        raise ClinfuseError(f"m3tlm: unknown setting(s): {', '.join(unknown)}")
    settings |= overrides
    for key, allowed in CHOICES.items():
        if settings[key] not in allowed:
            raise ClinfuseError(f"m3tlm: {key} {settings[key]!r}: expected one of {', '.join(allowed)}")
    if not 32 <= int(settings["image_size"]) <= 224:
        raise ClinfuseError(f"m3tlm: image_size {settings['image_size']}: expected 32 to 224 pixels")
    if int(settings["epochs"]) < 1 or int(settings["batch_size"]) < 2:
        raise ClinfuseError("m3tlm: epochs must be >= 1 and batch_size >= 2")
    settings["profile"] = profile
    return settings
