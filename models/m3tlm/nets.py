"""The M3T-LM network as models-reference.md A3 rebuilds Table I.

    num [B, 26] -> AttConv1d: conv1d 32x3 -> conv1d 32x3 -> max-pool 2 -> ECA-style SE -> spatial attention
                   -> flatten (32 x 11 = 352) || raw num (26) = 378
    dx  [B, 23] -> Embedding(V_dx, 32) -> LSTM(2) -> 2          (ICD diagnosis long titles)
    px  [B, 18] -> Embedding(V_px, 32) -> LSTM(2) -> 2          (ICD procedure long titles)
    eth [B]     -> Embedding(6, 32) -> 32
    ohe [B, 28] -> pass-through
    image [B, 1, S, S] -> ImageBranch -> GAP (+ BatchNorm) -> F (1536 for InceptionResNetV2, 512 for ResNets)
    concat (378 + 28 + 32 + F + 2 + 2 = 1978 at the paper's sizes) -> Dense 64 -> Dropout 0.1 -> Dense 32
    -> Dropout 0.1 -> LoS head (Dense 1 + ReLU) and mortality head (Dense 1, a logit; A6 #10)

Activations not given by the paper are ReLU (A6 #18). A row without an image gets a zero image feature
(the paper has an image for every sample; the clean frame does not), and only rows with an image go
through the image backbone. PyTorch's LSTM has two bias vectors,
so a text LSTM holds 288 parameters where Keras' holds 280; the widths are Table I's.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from features.weights import missing_weights, weights_policy
from warehouse.lake import ClinfuseError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
TORCHVISION_RESNETS = ("resnet18", "resnet34")


class AttConv1d(nn.Module):
    """[B, n] numeric values -> [B, filters * ((n - 4) // 2) + n] (378 for n = 26)."""

    def __init__(self, n_inputs: int = 26, filters: int = 32, kernel: int = 3):
        super().__init__()
        self.length = (n_inputs - 2 * (kernel - 1)) // 2
        if self.length < 1:
            raise ClinfuseError(f"AttConv1d: {n_inputs} numeric inputs are too few for two convolutions of {kernel}")
        self.conv1 = nn.Conv1d(1, filters, kernel)
        self.conv2 = nn.Conv1d(filters, filters, kernel)
        self.pool = nn.MaxPool1d(2)
        # ECA-style channel attention: one kernel-3 filter, no bias, over the pooled channel descriptor (3 params)
        self.se = nn.Conv1d(1, 1, 3, padding=1, bias=False)
        # CBAM-style spatial attention: channel-mean and channel-max maps -> conv 2 -> 1, kernel 1 (3 params)
        self.spatial = nn.Conv1d(2, 1, 1)
        self.n_inputs = n_inputs
        self.out_dim = filters * self.length + n_inputs

    def forward(self, num: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv2(torch.relu(self.conv1(num.unsqueeze(1)))))
        x = self.pool(x)                                               # [B, 32, 11]
        channel = torch.sigmoid(self.se(x.mean(dim=2).unsqueeze(1)))   # [B, 1, 32]
        x = x * channel.transpose(1, 2)
        maps = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)  # [B, 2, 11]
        x = x * torch.sigmoid(self.spatial(maps))
        return torch.cat([x.flatten(1), num], dim=1)


class TextBranch(nn.Module):
    """[B, L] token ids, left-padded with 0 (Keras' pad_sequences default) -> final LSTM state [B, units]."""

    def __init__(self, vocab_size: int, embed_dim: int = 32, units: int = 2):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.lstm = nn.LSTM(embed_dim, units, batch_first=True)
        self.out_dim = units

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.lstm(self.embedding(tokens))
        return hidden[-1]


def _torchvision_resnet(name: str, weights: str, policy: str | None) -> tuple[nn.Module, str]:
    from torchvision import models as tv

    enum = {"resnet18": tv.ResNet18_Weights.IMAGENET1K_V1, "resnet34": tv.ResNet34_Weights.IMAGENET1K_V1}[name]
    model = getattr(tv, name)(weights=None)
    if weights == "none":
        return model, "none"
    path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(enum.url)
    if not path.is_file():
        return model, missing_weights(
            f"torchvision {name} IMAGENET1K_V1",
            f"Expected the file {path.name} at {path} (torch hub's cache). On a machine with internet access run "
            f"`wget {enum.url}` and copy the file there.", weights_policy(policy))
    try:
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except Exception as exc:  # noqa: BLE001 - a corrupt file raises anything torch.load can raise
        raise ClinfuseError(f"{path}: cannot load {name} ImageNet weights ({type(exc).__name__}); "
                            f"delete the file and provide it again") from None
    return model, f"torchvision:{name}.IMAGENET1K_V1"


def _timm_model(name: str, weights: str, channels: int, policy: str | None) -> tuple[nn.Module, str]:
    import timm

    if name not in timm.list_models():
        raise ClinfuseError(f"image backbone {name!r} is neither {' / '.join(TORCHVISION_RESNETS)} nor a timm model")
    if weights == "none":
        return timm.create_model(name, pretrained=False, in_chans=channels, num_classes=0), "none"
    # ImageNet weights only from the local Hugging Face cache (HF_HOME): never downloaded
    from huggingface_hub import try_to_load_from_cache
    from timm.models import get_pretrained_cfg

    config = get_pretrained_cfg(name)
    repo = getattr(config, "hf_hub_id", None) if config else None
    cached = None
    for filename in ("model.safetensors", "pytorch_model.bin"):
        found = try_to_load_from_cache(repo, filename) if repo else None
        if isinstance(found, str):
            cached = found
            break
    if cached is None:
        source = missing_weights(f"timm {name} ImageNet weights",
                                 f"Expected them in the Hugging Face cache (repository {repo}); fetch them on a "
                                 f"machine with internet access (timm.create_model({name!r}, pretrained=True)) and "
                                 f"copy HF_HOME here.", weights_policy(policy))
        return timm.create_model(name, pretrained=False, in_chans=channels, num_classes=0), source
    model = timm.create_model(name, pretrained=True, in_chans=channels, num_classes=0,
                              pretrained_cfg_overlay={"file": cached})
    return model, f"timm:{repo}"


class ImageBranch(nn.Module):
    """[B, 1, S, S] images in [0, 1] -> pooled feature [B, F].

    channels 3: the grey image is repeated and normalised with ImageNet statistics (the default reading,
    A6 #9); channels 1: fed as it is (Table I's 1-channel InceptionResNetV2). `weights_source` says where the
    weights came from ("torchvision:...", "timm:...", "random-init" when absent under the auto policy, "none")."""

    def __init__(self, backbone: str = "resnet34", weights: str = "imagenet", channels: int = 3,
                 batch_norm: bool = True, policy: str | None = None):
        super().__init__()
        if channels not in (1, 3):
            raise ClinfuseError(f"image branch: channels must be 1 or 3, got {channels}")
        if weights not in ("imagenet", "none"):
            raise ClinfuseError(f"image branch: weights {weights!r} is not imagenet or none")
        if backbone in TORCHVISION_RESNETS:
            trunk, self.weights_source = _torchvision_resnet(backbone, weights, policy)
            if channels == 1:
                if self.weights_source.startswith("torchvision:"):
                    raise ClinfuseError("image branch: ImageNet ResNet weights need 3 channels (image_channels 3)")
                trunk.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
            self.out_dim = trunk.fc.in_features
            trunk.fc = nn.Identity()
        else:
            trunk, self.weights_source = _timm_model(backbone, weights, channels, policy)
            # models with a conv head after pooling (MobileNetV3, ...) output head_hidden_size features
            self.out_dim = int(getattr(trunk, "head_hidden_size", None) or trunk.num_features)
        self.trunk = trunk
        self.channels = channels
        self.norm = nn.BatchNorm1d(self.out_dim) if batch_norm else nn.Identity()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if image.dim() != 4 or image.shape[1] != 1:
            raise ValueError(f"image branch expects [B, 1, S, S] images, got {tuple(image.shape)}")
        if self.channels == 3:
            image = (image.expand(-1, 3, -1, -1) - self.mean) / self.std
        feature = self.trunk(image)
        if self.training and feature.shape[0] == 1 and isinstance(self.norm, nn.BatchNorm1d):
            # one image in a training batch: BatchNorm has no batch statistics, use the running ones
            n = self.norm
            return nn.functional.batch_norm(feature, n.running_mean, n.running_var, n.weight, n.bias, False, 0.0, n.eps)
        return self.norm(feature)


class M3TLM(nn.Module):
    """forward(batch) -> {"los": [B] (>= 0, days), "mortality": [B] logits}. Batch keys: num [B, n_numeric],
    onehot [B, n_onehot], ethnicity [B] int, dx [B, Ld] int, px [B, Lp] int, image [B, 1, S, S], has_cxr [B]."""

    def __init__(self, *, n_numeric: int = 26, n_onehot: int = 28, n_ethnicity: int = 6, dx_vocab: int = 535,
                 px_vocab: int = 530, embed_dim: int = 32, lstm_units: int = 2, image: ImageBranch | None = None,
                 dense: tuple[int, int] = (64, 32), dropout: float = 0.1):
        super().__init__()
        self.numeric = AttConv1d(n_numeric)
        self.dx = TextBranch(dx_vocab, embed_dim, lstm_units)
        self.px = TextBranch(px_vocab, embed_dim, lstm_units)
        self.ethnicity = nn.Embedding(n_ethnicity, embed_dim)
        self.image = image
        self.n_onehot = n_onehot
        self.fusion_dim = (self.numeric.out_dim + n_onehot + embed_dim + (image.out_dim if image else 0)
                           + self.dx.out_dim + self.px.out_dim)
        self.dense64 = nn.Linear(self.fusion_dim, dense[0])
        self.dense32 = nn.Linear(dense[0], dense[1])
        self.dropout = nn.Dropout(dropout)
        self.los_head = nn.Linear(dense[1], 1)
        self.mortality_head = nn.Linear(dense[1], 1)

    def fuse(self, batch: dict) -> torch.Tensor:
        parts = [self.numeric(batch["num"]), batch["onehot"], self.ethnicity(batch["ethnicity"])]
        if self.image is not None:
            # the image branch sees only the rows with an image; a row without one gets a zero feature
            has = batch["has_cxr"].nonzero().squeeze(1)
            feature = parts[0].new_zeros((len(batch["has_cxr"]), self.image.out_dim))
            if len(has):
                feature = feature.index_copy(0, has, self.image(batch["image"].index_select(0, has)))
            parts.append(feature)
        parts += [self.dx(batch["dx"]), self.px(batch["px"])]
        return torch.cat(parts, dim=1)

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        shared = self.dropout(torch.relu(self.dense32(self.dropout(torch.relu(self.dense64(self.fuse(batch)))))))
        return {"los": torch.relu(self.los_head(shared)).squeeze(1), "mortality": self.mortality_head(shared).squeeze(1)}

    def init_los_bias(self, value: float) -> None:
        """Start the LoS head at `value` days (its bias), so its ReLU is active from the first step."""
        with torch.no_grad():
            self.los_head.bias.fill_(float(value))

    def shared_layer(self, name: str = "dense32") -> nn.Parameter:
        """The kernel GradNorm balances the task gradients on (the last shared layer by default)."""
        if name not in ("dense32", "dense64"):
            raise ClinfuseError(f"gradnorm_layer {name!r}: expected dense32 or dense64")
        return getattr(self, name).weight


def build_m3tlm(settings: dict, *, dx_vocab: int, px_vocab: int, n_numeric: int = 26, n_onehot: int = 28,
                n_ethnicity: int = 6, weights_policy: str | None = None, with_image: bool = True) -> M3TLM:
    """The network of `settings` (models.m3tlm.settings); `weights_source` set on the model."""
    image = None
    if with_image:
        image = ImageBranch(settings["image_backbone"], settings["cxr_weights"], int(settings["image_channels"]),
                            bool(settings["image_bn"]), policy=weights_policy)
    model = M3TLM(n_numeric=n_numeric, n_onehot=n_onehot, n_ethnicity=n_ethnicity, dx_vocab=dx_vocab,
                  px_vocab=px_vocab, embed_dim=int(settings["embed_dim"]), lstm_units=int(settings["lstm_units"]),
                  image=image, dense=tuple(settings["dense"]), dropout=float(settings["dropout"]))
    model.weights_source = {"image_branch": image.weights_source if image else "not used"}
    return model
