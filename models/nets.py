"""The four model families: `uni_ehr`, `uni_cxr`, `medfuse` (LSTM fusion) and `tsfusion` (transformer fusion).

Every model maps a batch (models/CONTRACT.md: ts, lengths, image, has_cxr, y, index) to logits [B, C].
Fusion models run the CNN only on the rows that have an image and give the others a zero image token:
MedFuse packs the token sequence to length 1 for them (reference §3.3), TSFusion either masks the token
(`masked`, the default: the token's values cannot reach the output) or attends to it (`zero_token`, the
reference code, §3.4 and bug 15).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from models.encoders import EHR_INPUT_DIM, CxrEncoder, EhrLSTM, init_linear
from warehouse.lake import ClinfuseError

FAMILIES = ("uni_ehr", "uni_cxr", "medfuse", "tsfusion")
MISSING_MODES = ("masked", "zero_token")
STAGE1_PARTS = {"ehr": "ehr_model", "cxr": "cxr_model"}

DEFAULT_CONFIG: dict = {
    "input_dim": EHR_INPUT_DIM,
    "hidden": 256,
    "layers": 2,
    "dropout": 0.3,
    "backbone": "resnet34",
    "cxr_weights": "imagenet",
    "weights_policy": None,  # None: CLINFUSE_WEIGHTS, else strict (features.weights)
    "missing": "masked",
    "fusion_layers": 2,
    "heads": 8,
    "ff": 1024,
    "fusion_dropout": 0.1,
}


def image_features(cxr_model: CxrEncoder, image: torch.Tensor, has_cxr: torch.Tensor) -> torch.Tensor:
    """CNN features [B, 512] for the rows with an image, zeros elsewhere. Rows without an image never go
    through the CNN: it saves the time of the (many) EHR-only rows and keeps zero images out of the
    BatchNorm statistics."""
    rows = has_cxr.nonzero().squeeze(1)
    if rows.numel() == 0:
        return image.new_zeros(image.shape[0], cxr_model.feats_dim)
    encoded = cxr_model(image.index_select(0, rows))
    # zeros of the encoder's output dtype (bf16 under autocast), so index_copy sees one dtype
    return encoded.new_zeros(image.shape[0], encoded.shape[1]).index_copy(0, rows, encoded)


class UniEhr(nn.Module):
    """EHR-only baseline (and stage-1 EHR encoder): EhrLSTM -> Linear(hidden -> C)."""

    def __init__(self, n_labels: int, input_dim: int = EHR_INPUT_DIM, hidden: int = 256, layers: int = 2,
                 dropout: float = 0.3):
        super().__init__()
        self.ehr_model = EhrLSTM(input_dim, hidden, layers, dropout)
        self.head = init_linear(nn.Linear(hidden, n_labels))
        self.weights_source: dict[str, str] = {}

    def forward(self, batch: dict) -> torch.Tensor:
        return self.head(self.ehr_model(batch["ts"], batch["lengths"]))


class UniCxr(nn.Module):
    """Image-only baseline (and stage-1 CXR encoder): CxrEncoder -> Linear(512 -> C). Every row has an image."""

    def __init__(self, n_labels: int = 14, backbone: str = "resnet34", weights: str = "imagenet",
                 policy: str | None = None):
        super().__init__()
        self.cxr_model = CxrEncoder(backbone, weights, policy)
        self.head = nn.Linear(self.cxr_model.feats_dim, n_labels)
        self.weights_source = {"cxr_encoder": self.cxr_model.weights_source}

    def forward(self, batch: dict) -> torch.Tensor:
        return self.head(self.cxr_model(batch["image"]))


class MedFuse(nn.Module):
    """MedFuse LSTM fusion: [v_ehr, proj(v_cxr)] (length 1 when the image is missing) -> LSTM(hidden -> 512)
    -> final hidden state -> Linear(512 -> C). Both encoders are trained."""

    def __init__(self, n_labels: int, input_dim: int = EHR_INPUT_DIM, hidden: int = 256, layers: int = 2,
                 dropout: float = 0.3, backbone: str = "resnet34", cxr_weights: str = "imagenet",
                 policy: str | None = None):
        super().__init__()
        self.ehr_model = EhrLSTM(input_dim, hidden, layers, dropout)
        self.cxr_model = CxrEncoder(backbone, cxr_weights, policy)
        self.projection = nn.Linear(self.cxr_model.feats_dim, hidden)
        # The fusion LSTM's width is the CXR feature size (512), as in the reference.
        self.fusion_lstm = nn.LSTM(hidden, self.cxr_model.feats_dim, batch_first=True)
        self.head = nn.Linear(self.cxr_model.feats_dim, n_labels)
        self.weights_source = {"cxr_encoder": self.cxr_model.weights_source}

    def forward(self, batch: dict) -> torch.Tensor:
        has_cxr = batch["has_cxr"]
        v_ehr = self.ehr_model(batch["ts"], batch["lengths"])
        v_cxr = self.projection(image_features(self.cxr_model, batch["image"], has_cxr))
        v_cxr = v_cxr * has_cxr.unsqueeze(1).to(v_cxr.dtype)
        tokens = torch.stack([v_ehr, v_cxr], dim=1)
        steps = 1 + has_cxr.detach().to("cpu", torch.int64)  # unpaired rows: the LSTM sees only v_ehr
        packed = pack_padded_sequence(tokens, steps, batch_first=True, enforce_sorted=False)
        _, (hidden, _) = self.fusion_lstm(packed)
        return self.head(hidden[-1])


class TSFusion(nn.Module):
    """TSImageFusion transformer fusion: tokens [v_ehr, proj(v_cxr)] (EHR first, no positional embedding)
    -> post-LN TransformerEncoder -> both output tokens flattened [B, 2*hidden] -> Linear(-> C).

    missing='masked': the image token of a row without an image is a key-padding position AND its output
    position is zeroed before the flatten, so its values cannot change the output. missing='zero_token':
    a zero token that the other token attends to (the reference code)."""

    def __init__(self, n_labels: int, input_dim: int = EHR_INPUT_DIM, hidden: int = 256, layers: int = 2,
                 dropout: float = 0.3, backbone: str = "resnet34", cxr_weights: str = "imagenet",
                 policy: str | None = None, missing: str = "masked", fusion_layers: int = 2, heads: int = 8,
                 ff: int = 1024, fusion_dropout: float = 0.1):
        super().__init__()
        if missing not in MISSING_MODES:
            raise ClinfuseError(f"tsfusion missing={missing!r} is not one of {', '.join(MISSING_MODES)}")
        if hidden % heads:
            raise ClinfuseError(f"tsfusion: hidden {hidden} is not divisible by heads {heads}")
        self.missing = missing
        self.ehr_model = EhrLSTM(input_dim, hidden, layers, dropout)
        self.cxr_model = CxrEncoder(backbone, cxr_weights, policy)
        self.projection = nn.Linear(self.cxr_model.feats_dim, hidden)
        layer = nn.TransformerEncoderLayer(hidden, heads, ff, fusion_dropout, batch_first=True)
        # No nested tensors: with a key-padding mask in eval mode they would change what comes out at the
        # padded position (and the fast path's output shape) between train and eval.
        self.transformer = nn.TransformerEncoder(layer, fusion_layers, enable_nested_tensor=False)
        self.head = nn.Linear(2 * hidden, n_labels)
        self.weights_source = {"cxr_encoder": self.cxr_model.weights_source}

    def tokens(self, batch: dict) -> torch.Tensor:
        """[B, 2, hidden]: v_ehr, then the projected image feature (zeros where there is no image)."""
        has_cxr = batch["has_cxr"]
        v_ehr = self.ehr_model(batch["ts"], batch["lengths"])
        v_cxr = self.projection(image_features(self.cxr_model, batch["image"], has_cxr))
        v_cxr = v_cxr * has_cxr.unsqueeze(1).to(v_cxr.dtype)
        return torch.stack([v_ehr, v_cxr], dim=1)

    def fuse(self, tokens: torch.Tensor, has_cxr: torch.Tensor) -> torch.Tensor:
        """tokens [B, 2, hidden] -> logits [B, C]."""
        if self.missing == "masked":
            absent = torch.stack([torch.zeros_like(has_cxr, dtype=torch.bool), ~has_cxr.bool()], dim=1)
            out = self.transformer(tokens, src_key_padding_mask=absent)
            out = out.masked_fill(absent.unsqueeze(2), 0.0)
        else:
            out = self.transformer(tokens)
        return self.head(out.flatten(1))

    def forward(self, batch: dict) -> torch.Tensor:
        return self.fuse(self.tokens(batch), batch["has_cxr"])


def build_model(family: str, n_labels: int, config: dict | None = None) -> nn.Module:
    """A model of `family` (uni_ehr | uni_cxr | medfuse | tsfusion) with `n_labels` outputs.

    config keys (all optional, reference values by default, see DEFAULT_CONFIG): input_dim, hidden, layers,
    dropout (EHR encoder); backbone, cxr_weights ('imagenet' | 'none'), weights_policy ('strict' | 'auto' |
    None); missing ('masked' | 'zero_token'), fusion_layers, heads, ff, fusion_dropout (tsfusion only).
    Keys irrelevant to the family are ignored; unknown keys are an error (a typo must not go unnoticed)."""
    config = dict(config or {})
    unknown = sorted(set(config) - set(DEFAULT_CONFIG))
    if unknown:
        raise ClinfuseError(f"model config: unknown key(s) {', '.join(unknown)} "
                            f"(known: {', '.join(DEFAULT_CONFIG)})")
    if n_labels < 1:
        raise ClinfuseError(f"model: n_labels must be >= 1, got {n_labels}")
    c = {**DEFAULT_CONFIG, **config}
    ehr = {"input_dim": c["input_dim"], "hidden": c["hidden"], "layers": c["layers"], "dropout": c["dropout"]}
    cxr = {"backbone": c["backbone"], "policy": c["weights_policy"]}
    if family == "uni_ehr":
        return UniEhr(n_labels, **ehr)
    if family == "uni_cxr":
        return UniCxr(n_labels, weights=c["cxr_weights"], **cxr)
    if family == "medfuse":
        return MedFuse(n_labels, cxr_weights=c["cxr_weights"], **ehr, **cxr)
    if family == "tsfusion":
        return TSFusion(n_labels, cxr_weights=c["cxr_weights"], missing=c["missing"],
                        fusion_layers=c["fusion_layers"], heads=c["heads"], ff=c["ff"],
                        fusion_dropout=c["fusion_dropout"], **ehr, **cxr)
    raise ClinfuseError(f"model family {family!r} is not one of {', '.join(FAMILIES)}")


def _checkpoint_state(checkpoint_path: Path) -> dict[str, torch.Tensor]:
    if not checkpoint_path.is_file():
        raise ClinfuseError(f"stage-1 checkpoint {checkpoint_path} does not exist")
    try:
        # Our own trainer's checkpoints: they also hold config, lineage and history objects, so a full load.
        checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - a corrupt file raises anything unpickling can raise
        raise ClinfuseError(f"stage-1 checkpoint {checkpoint_path}: cannot be read "
                            f"({type(exc).__name__}: {exc})") from None
    state = checkpoint.get("model", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise ClinfuseError(f"stage-1 checkpoint {checkpoint_path}: no model state dict in it")
    return state


def load_stage1(model: nn.Module, checkpoint_path: str | Path, part: str = "ehr") -> int:
    """Copy the encoder of a stage-1 checkpoint (written by models.train for uni_ehr / uni_cxr) into a
    fusion model: every state-dict entry named `ehr_model.*` (part='ehr') or `cxr_model.*` (part='cxr'),
    parameters and buffers (BatchNorm statistics) alike. Nothing else is touched. Returns how many tensors
    were copied. The checkpoint may be a trainer checkpoint ({'model': state_dict, ...}) or a bare state dict.
    Records the origin in `model.weights_source['stage1_<part>']`."""
    if part not in STAGE1_PARTS:
        raise ClinfuseError(f"load_stage1: part {part!r} is not one of {', '.join(STAGE1_PARTS)}")
    prefix = STAGE1_PARTS[part] + "."
    checkpoint_path = Path(checkpoint_path)
    source = {k: v for k, v in _checkpoint_state(checkpoint_path).items() if k.startswith(prefix)}
    target = {k: v for k, v in model.state_dict(keep_vars=True).items() if k.startswith(prefix)}
    if not target:
        raise ClinfuseError(f"load_stage1: {type(model).__name__} has no {prefix}* weights")
    if not source:
        raise ClinfuseError(f"stage-1 checkpoint {checkpoint_path} has no {prefix}* weights "
                            f"(is it a {'uni_ehr' if part == 'ehr' else 'uni_cxr'} checkpoint?)")
    missing = sorted(set(target) - set(source))
    extra = sorted(set(source) - set(target))
    if missing or extra:
        raise ClinfuseError(f"stage-1 checkpoint {checkpoint_path}: {prefix}* entries differ from the model "
                            f"(missing {missing[:3]}, unexpected {extra[:3]}; "
                            f"{len(missing)} + {len(extra)} in all)")
    wrong = [k for k in target if tuple(target[k].shape) != tuple(source[k].shape)]
    if wrong:
        k = wrong[0]
        raise ClinfuseError(f"stage-1 checkpoint {checkpoint_path}: {k} has shape {tuple(source[k].shape)}, the "
                            f"model {tuple(target[k].shape)} (different hidden size or layers?)")
    with torch.no_grad():
        for name, tensor in target.items():
            tensor.copy_(source[name])
    sources = getattr(model, "weights_source", None)
    if isinstance(sources, dict):
        sources[f"stage1_{part}"] = str(checkpoint_path)
    return len(target)
