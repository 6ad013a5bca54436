"""The two unimodal encoders of MedFuse / TSImageFusion (reference §3.1–3.2) and the ResNet-34 weights lookup.

`EhrLSTM`: a stack of single-layer LSTMs over the 76-column discretised series, packed by length; the
feature is the last layer's final hidden state, with dropout. `CxrEncoder`: torchvision ResNet-34 with the
classifier removed (512-d pooled feature), fed grey images in [0, 1] that it repeats to 3 channels and
normalises with the ImageNet statistics itself.

ImageNet weights come only from torchvision's own cache, `torch.hub.get_dir()/checkpoints/<file>` (the file
torchvision would download for `ResNet34_Weights.IMAGENET1K_V1`). Nothing here downloads: a missing file
is an error under the strict weights policy and a randomly initialised trunk under `auto`
(`features.weights`).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence
from torchvision.models import ResNet34_Weights, resnet34

from features.timeseries.layout import COLUMNS
from features.weights import NamedWeights, WeightsLookup, missing_weights, register_weights, weights_policy
from warehouse.lake import ClinfuseError

EHR_INPUT_DIM = len(COLUMNS)  # 76
CXR_FEATURE_DIM = 512  # ResNet-34's pooled feature
RESNET34_WEIGHTS = ResNet34_Weights.IMAGENET1K_V1
RESNET34_SOURCE = "torchvision:resnet34.IMAGENET1K_V1"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
BACKBONES = ("resnet34",)
CXR_WEIGHTS = ("imagenet", "none")


def init_linear(layer: nn.Linear) -> nn.Linear:
    """The reference's initialisation of the EHR model's linear layers: Xavier-uniform weight, zero bias."""
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


class EhrLSTM(nn.Module):
    """[B, T, input_dim] padded series + lengths [B] -> feature [B, hidden].

    `layers` separate single-layer LSTMs (the reference stacks them by hand, so a dropout argument to each
    LSTM would be a no-op; the only dropout is the one on the final feature)."""

    def __init__(self, input_dim: int = EHR_INPUT_DIM, hidden: int = 256, layers: int = 2, dropout: float = 0.3):
        super().__init__()
        if layers < 1:
            raise ClinfuseError(f"EHR LSTM: layers must be >= 1, got {layers}")
        self.input_dim = input_dim
        self.feats_dim = hidden
        self.lstms = nn.ModuleList(
            nn.LSTM(input_dim if i == 0 else hidden, hidden, batch_first=True) for i in range(layers)
        )
        self.dropout = nn.Dropout(dropout)
        for lstm in self.lstms:
            for name, param in lstm.named_parameters():
                if name.startswith("weight_ih"):
                    nn.init.xavier_uniform_(param)
                elif name.startswith("weight_hh"):
                    nn.init.orthogonal_(param)
                else:
                    nn.init.zeros_(param)

    def forward(self, ts: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        # pack_padded_sequence wants the lengths on the CPU; enforce_sorted=False keeps the batch order in h.
        packed = pack_padded_sequence(ts, lengths.detach().to("cpu", torch.int64), batch_first=True,
                                      enforce_sorted=False)
        hidden = None
        for lstm in self.lstms:
            packed, (hidden, _) = lstm(packed)
        return self.dropout(hidden[-1])


def resnet_weights_file() -> Path:
    """Where torchvision keeps (and would download) the ResNet-34 ImageNet weights: torch hub's cache
    (`$TORCH_HOME/hub/checkpoints`, `~/.cache/torch/hub/checkpoints` by default, or `torch.hub.set_dir`)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(RESNET34_WEIGHTS.url)


def resnet_weights_lookup() -> WeightsLookup:
    """Is the ResNet-34 ImageNet file in torch hub's cache? (load_resnet34 and `clinfuse doctor`)"""
    path = resnet_weights_file()
    return WeightsLookup(path.is_file(), str(path), path.name)


register_weights(NamedWeights("resnet34-IMAGENET1K_V1", "torchvision", "models/uni_cxr", resnet_weights_lookup))


def load_resnet34(policy: str | None = None) -> tuple[nn.Module, str]:
    """(torchvision ResNet-34 with its 1000-way `fc`, weights_source). Never downloads.

    policy: 'strict' | 'auto' | None (CLINFUSE_WEIGHTS, else strict). weights_source is
    RESNET34_SOURCE when the cached file was loaded, 'random-init' when it is absent under `auto`."""
    policy = weights_policy(policy)
    found = resnet_weights_lookup()
    path = Path(found.where)
    model = resnet34(weights=None)
    if not found.present:
        source = missing_weights(
            "torchvision resnet34 IMAGENET1K_V1",
            f"Expected the file {path.name} at {path} (torch hub's cache: $TORCH_HOME/hub/checkpoints, "
            f"TORCH_HOME defaults to ~/.cache/torch). On a machine with internet access run "
            f"`wget {RESNET34_WEIGHTS.url} -O {path.name}` (or `python -c \"import torchvision; "
            f"torchvision.models.resnet34(weights='IMAGENET1K_V1')\"`) and copy the file there.",
            policy,
        )
        return model, source
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except Exception as exc:  # noqa: BLE001 - a corrupt or foreign file raises anything torch.load can raise
        raise ClinfuseError(f"{path}: cannot load torchvision resnet34 ImageNet weights "
                            f"({type(exc).__name__}: {exc}); delete the file and provide it again") from None
    return model, RESNET34_SOURCE


class CxrEncoder(nn.Module):
    """[B, 1, S, S] images in [0, 1] -> feature [B, 512]; any S >= 32 (the trunk ends in adaptive pooling).

    weights: 'imagenet' (torchvision's cache, under `policy`) or 'none' (random init). `weights_source` is
    RESNET34_SOURCE, 'random-init' (imagenet asked, file absent, policy auto) or 'none'."""

    def __init__(self, backbone: str = "resnet34", weights: str = "imagenet", policy: str | None = None):
        super().__init__()
        if backbone not in BACKBONES:
            raise ClinfuseError(f"CXR backbone {backbone!r} is not supported (choose from {', '.join(BACKBONES)})")
        if weights == "imagenet":
            trunk, self.weights_source = load_resnet34(policy)
        elif weights == "none":
            trunk, self.weights_source = resnet34(weights=None), "none"
        else:
            raise ClinfuseError(f"CXR weights {weights!r} is not one of {', '.join(CXR_WEIGHTS)}")
        trunk.fc = nn.Identity()
        self.trunk = trunk
        self.feats_dim = CXR_FEATURE_DIM
        # Not persistent: constants, so the state dict holds only the trunk's weights.
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if image.dim() != 4 or image.shape[1] not in (1, 3):
            raise ValueError(f"CXR encoder expects [B, 1, S, S] images, got {tuple(image.shape)}")
        if image.shape[1] == 1:
            image = image.expand(-1, 3, -1, -1)
        return self.trunk((image - self.mean) / self.std)
