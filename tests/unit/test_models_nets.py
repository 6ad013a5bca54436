"""Encoders, the four model families, stage-1 loading, the ResNet-34 weights lookup and the losses.

Tiny tensors (B=3, T=5, 32x32 images, hidden 8, random-init CNN) so the file runs in seconds on a CPU.
"""

from __future__ import annotations

import os

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import ResNet34_Weights, resnet34

from features.weights import RANDOM_INIT, WeightsUnavailable
from models import encoders
from models.encoders import RESNET34_SOURCE, CxrEncoder, EhrLSTM, load_resnet34, resnet_weights_file
from models.losses import UncertaintyLoss, make_loss
from models.nets import MedFuse, TSFusion, UniCxr, UniEhr, build_model, load_stage1
from warehouse.lake import ClinfuseError

SMALL = {"hidden": 8, "layers": 2, "cxr_weights": "none", "heads": 2, "ff": 16}
N_LABELS = {"uni_ehr": 1, "uni_cxr": 14, "medfuse": 3, "tsfusion": 3}
RESNET_FILE = os.path.basename(ResNet34_Weights.IMAGENET1K_V1.url)


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def make_batch(has_cxr=(True, False, True), n_labels=3, steps=5, size=32, seed=0) -> dict:
    g = torch.Generator().manual_seed(seed)
    b = len(has_cxr)
    lengths = torch.tensor([steps, 2, 1, 4, 3, 5][:b], dtype=torch.int64)
    ts = torch.randn(b, steps, 76, generator=g)
    for row, length in enumerate(lengths.tolist()):
        ts[row, length:] = 0.0  # padding, as the DataLoader makes it
    present = torch.tensor(has_cxr, dtype=torch.bool)
    image = torch.rand(b, 1, size, size, generator=g) * present.view(b, 1, 1, 1)
    y = (torch.rand(b, n_labels, generator=g) > 0.5).float()
    return {"ts": ts, "lengths": lengths, "image": image, "has_cxr": present, "y": y,
            "index": torch.arange(b)}


def small(family: str, seed: int = 0, **overrides) -> nn.Module:
    torch.manual_seed(seed)
    return build_model(family, N_LABELS[family], {**SMALL, **overrides})


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """An empty torch hub cache, no CLINFUSE_WEIGHTS, and any download attempt fails the test."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("CLINFUSE_WEIGHTS", raising=False)

    def refuse(*args, **kwargs):
        raise AssertionError(f"tried to download {args[:1]}")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    expected = tmp_path / "torch" / "hub" / "checkpoints" / RESNET_FILE
    assert resnet_weights_file() == expected  # torch.hub.set_dir elsewhere would make TORCH_HOME moot
    return expected


# --- forward / backward -----------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["uni_ehr", "uni_cxr", "medfuse", "tsfusion"])
def test_forward_backward_every_family(family):
    model = small(family)
    has_cxr = (True, True, True) if family == "uni_cxr" else (True, False, True)
    batch = make_batch(has_cxr, n_labels=N_LABELS[family])
    logits = model(batch)
    assert logits.shape == (3, N_LABELS[family]) and logits.dtype == torch.float32
    assert torch.isfinite(logits).all()
    F.binary_cross_entropy_with_logits(logits, batch["y"]).backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
    assert any(p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize(("family", "missing"),
                         [("medfuse", "masked"), ("tsfusion", "masked"), ("tsfusion", "zero_token")])
def test_fusion_gradients_reach_both_encoders_only_through_paired_rows(family, missing):
    model = small(family, missing=missing)
    batch = make_batch((True, False, True))
    logits = model(batch)
    assert torch.isfinite(logits).all()

    def grads_of(row: int) -> tuple[float, float]:
        model.zero_grad(set_to_none=True)
        logits = model(batch)
        logits[row].sum().backward()

        def total(module):
            return sum(float(p.grad.abs().sum()) for p in module.parameters() if p.grad is not None)

        return total(model.ehr_model), total(model.cxr_model)

    torch.manual_seed(1)
    ehr_paired, cxr_paired = grads_of(0)
    assert ehr_paired > 0 and cxr_paired > 0
    torch.manual_seed(1)
    ehr_unpaired, cxr_unpaired = grads_of(1)
    assert ehr_unpaired > 0 and cxr_unpaired == 0  # an EHR-only row does not depend on the CNN at all


@pytest.mark.parametrize("family", ["medfuse", "tsfusion"])
def test_cnn_runs_only_on_rows_with_an_image(family):
    model = small(family).eval()
    seen: list[int] = []
    model.cxr_model.register_forward_hook(lambda m, inputs, out: seen.append(inputs[0].shape[0]))
    with torch.no_grad():
        out = model(make_batch((False, True, False)))
        assert seen == [1] and torch.isfinite(out).all()
        out = model(make_batch((False, False, False)))
        assert seen == [1] and out.shape == (3, 3) and torch.isfinite(out).all()


# --- TSFusion missing-image modes --------------------------------------------------------------------


def _fuse(model: TSFusion, tokens, has_cxr, mode: str) -> torch.Tensor:
    model.train(mode == "train")
    torch.manual_seed(123)  # same dropout masks for both calls in train mode
    if mode == "eval_no_grad":  # the inference fast path of nn.TransformerEncoderLayer
        with torch.no_grad():
            return model.fuse(tokens, has_cxr)
    return model.fuse(tokens, has_cxr)


@pytest.mark.parametrize("mode", ["train", "eval", "eval_no_grad"])
def test_masked_missing_token_cannot_change_tsfusion_output(mode):
    model = small("tsfusion", missing="masked")
    batch = make_batch((True, False, True, False))
    with torch.no_grad():
        tokens = model.eval().tokens(batch)
    assert torch.equal(tokens[~batch["has_cxr"], 1], torch.zeros(2, 8))
    perturbed = tokens.clone()
    perturbed[~batch["has_cxr"], 1] = torch.randn(2, 8) * 5
    base = _fuse(model, tokens, batch["has_cxr"], mode)
    moved = _fuse(model, perturbed, batch["has_cxr"], mode)
    assert base.shape == (4, 3) and torch.isfinite(base).all()
    torch.testing.assert_close(moved, base, rtol=0, atol=1e-6)
    # ...while the same change on a PAIRED row's image token does change that row
    paired = tokens.clone()
    paired[0, 1] += 1.0
    assert not torch.allclose(_fuse(model, paired, batch["has_cxr"], mode)[0], base[0], atol=1e-4)


@pytest.mark.parametrize("mode", ["train", "eval", "eval_no_grad"])
def test_zero_token_mode_attends_to_the_missing_token(mode):
    model = small("tsfusion", missing="zero_token")
    batch = make_batch((True, False, True, False))
    with torch.no_grad():
        tokens = model.eval().tokens(batch)
    perturbed = tokens.clone()
    perturbed[~batch["has_cxr"], 1] = torch.randn(2, 8) * 5
    base = _fuse(model, tokens, batch["has_cxr"], mode)
    moved = _fuse(model, perturbed, batch["has_cxr"], mode)
    missing = ~batch["has_cxr"]
    assert (moved[missing] - base[missing]).abs().max() > 1e-3
    torch.testing.assert_close(moved[~missing], base[~missing], rtol=0, atol=1e-6)  # rows stay independent


@pytest.mark.parametrize("missing", ["masked", "zero_token"])
def test_pixels_of_a_missing_image_are_ignored(missing):
    model = small("tsfusion", missing=missing).eval()
    batch = make_batch((True, False, True))
    noisy = dict(batch, image=batch["image"].clone())
    noisy["image"][1] = torch.rand(1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(noisy), model(batch), rtol=0, atol=0)


def test_masked_and_zero_token_agree_on_paired_rows_but_not_unpaired():
    masked = small("tsfusion", missing="masked").eval()
    faithful = small("tsfusion", missing="zero_token").eval()
    faithful.load_state_dict(masked.state_dict())
    batch = make_batch((True, False, True))
    with torch.no_grad():
        a, b = masked(batch), faithful(batch)
    torch.testing.assert_close(a[[0, 2]], b[[0, 2]], rtol=0, atol=1e-6)
    assert (a[1] - b[1]).abs().max() > 1e-4


def test_tsfusion_eval_no_grad_matches_eval_with_grad():
    model = small("tsfusion").eval()
    batch = make_batch((True, False, False))
    with torch.no_grad():
        fast = model(batch)
    slow = model(batch)
    torch.testing.assert_close(fast, slow.detach(), rtol=1e-5, atol=1e-5)


# --- MedFuse -----------------------------------------------------------------------------------------


def test_medfuse_unpaired_row_sees_only_the_ehr_token():
    model = small("medfuse").eval()
    batch = make_batch((True, False, True))
    other = dict(batch, image=torch.rand(3, 1, 32, 32))  # every row gets a different image
    with torch.no_grad():
        out, out_other = model(batch), model(other)
        v_ehr = model.ehr_model(batch["ts"], batch["lengths"])
        _, (h, _) = model.fusion_lstm(v_ehr[1:2].unsqueeze(1))  # the length-1 sequence [v_ehr]
        expected = model.head(h[-1])
    torch.testing.assert_close(out[1], out_other[1], rtol=0, atol=0)
    torch.testing.assert_close(out[1:2], expected, rtol=1e-5, atol=1e-6)
    assert (out[0] - out_other[0]).abs().max() > 1e-5  # a paired row does use its image


# --- encoders ----------------------------------------------------------------------------------------


def test_ehr_lstm_packs_by_length_and_keeps_batch_order():
    torch.manual_seed(0)
    lstm = EhrLSTM(76, 8, 2, 0.3).eval()
    batch = make_batch((True, False, True))
    with torch.no_grad():
        feats = lstm(batch["ts"], batch["lengths"])
        garbage = batch["ts"].clone()
        garbage[1, 2:] = 7.0  # beyond row 1's length
        torch.testing.assert_close(lstm(garbage, batch["lengths"]), feats, rtol=0, atol=0)
        for row in range(3):
            length = int(batch["lengths"][row])
            alone = lstm(batch["ts"][row:row + 1, :length], batch["lengths"][row:row + 1])
            torch.testing.assert_close(alone[0], feats[row], rtol=1e-5, atol=1e-6)


def test_ehr_lstm_reference_init_and_dropout():
    torch.manual_seed(0)
    lstm = EhrLSTM(76, 8, 2, 0.3)
    assert len(lstm.lstms) == 2 and all(m.num_layers == 1 for m in lstm.lstms)
    assert lstm.dropout.p == 0.3
    for layer in lstm.lstms:
        torch.testing.assert_close(layer.weight_hh_l0.T @ layer.weight_hh_l0, torch.eye(8), atol=1e-5, rtol=0)
        assert not layer.bias_ih_l0.any() and not layer.bias_hh_l0.any()
    head = UniEhr(1, hidden=8).head
    assert not head.bias.any()
    batch = make_batch()
    lstm.train()
    torch.manual_seed(3)
    dropped = lstm(batch["ts"], batch["lengths"])
    assert (dropped == 0).any()  # dropout on the feature in training


@pytest.mark.parametrize("size", [32, 64])
def test_cxr_encoder_repeats_and_normalises_inside(size):
    torch.manual_seed(0)
    encoder = CxrEncoder(weights="none").eval()
    image = torch.rand(2, 1, size, size)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        out = encoder(image)
        expected = encoder.trunk((image.repeat(1, 3, 1, 1) - mean) / std)
    assert out.shape == (2, 512)
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    assert not any(k in ("mean", "std") for k in encoder.state_dict())


def test_reference_parameter_counts():
    """models-reference.md B3: the MedFuse IHM total 23,869,264 minus the two stage-1 heads this fusion model
    does not carry (EHR head 257, 14-way CXR head 7,182); TSFusion replaces the fusion LSTM by the transformer."""
    medfuse = MedFuse(1, cxr_weights="none")
    assert n_params(medfuse.ehr_model) == 868_352
    assert n_params(medfuse.cxr_model) == 21_284_672
    assert n_params(medfuse.projection) == 131_328
    assert n_params(medfuse.fusion_lstm) == 1_576_960
    assert n_params(medfuse.head) == 513
    assert n_params(medfuse) == 23_869_264 - 257 - 7_182 == 23_861_825
    tsf = TSFusion(25, cxr_weights="none")
    assert n_params(tsf.transformer) == 1_579_520
    # the reference's pheno attention model 23,895,947 carries a 25-way EHR head and a 25-way CXR head
    assert n_params(tsf) == 23_895_947 - (256 * 25 + 25) - (512 * 25 + 25)
    assert n_params(UncertaintyLoss(25)) == 25
    assert n_params(UniEhr(1)) == 868_352 + 257


# --- build_model -------------------------------------------------------------------------------------


def test_build_model_families_and_errors(torch_home):
    assert isinstance(small("uni_ehr"), UniEhr) and small("uni_ehr").weights_source == {}
    assert isinstance(small("uni_cxr"), UniCxr)
    assert isinstance(small("medfuse"), MedFuse)
    tsf = small("tsfusion")
    assert isinstance(tsf, TSFusion) and tsf.missing == "masked"
    assert tsf.weights_source == {"cxr_encoder": "none"}
    layer = tsf.transformer.layers[0]
    assert layer.self_attn.batch_first and not layer.norm_first and layer.activation_relu_or_gelu == 1
    assert len(tsf.transformer.layers) == 2 and tsf.head.in_features == 16
    with pytest.raises(ClinfuseError, match="family"):
        build_model("mmtm", 1, {})
    with pytest.raises(ClinfuseError, match="unknown key"):
        build_model("medfuse", 1, {"hiden": 8})
    with pytest.raises(ClinfuseError, match="missing"):
        build_model("tsfusion", 1, {**SMALL, "missing": "drop"})
    with pytest.raises(ClinfuseError, match="backbone"):
        build_model("uni_cxr", 14, {"backbone": "vit_b_16"})
    with pytest.raises(ClinfuseError, match="weights"):
        build_model("uni_cxr", 14, {"cxr_weights": "chexpert"})


def test_build_model_is_deterministic_given_a_seed():
    a, b = small("tsfusion", seed=7), small("tsfusion", seed=7)
    for (name, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(pa, pb), name
    batch = make_batch()
    with torch.no_grad():
        torch.testing.assert_close(a.eval()(batch), b.eval()(batch), rtol=0, atol=0)


# --- ResNet-34 ImageNet weights from torchvision's cache ---------------------------------------------


def test_strict_without_the_file_names_the_expected_path(torch_home):
    with pytest.raises(WeightsUnavailable) as info:
        CxrEncoder(weights="imagenet", policy="strict")
    assert isinstance(info.value, ClinfuseError)
    assert str(torch_home) in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ClinfuseError, match=RESNET_FILE):
        build_model("medfuse", 1, {"hidden": 8})  # policy from the (unset) environment: strict


def test_auto_without_the_file_is_random_init(torch_home, monkeypatch):
    _, source = load_resnet34("auto")
    assert source == RANDOM_INIT == "random-init"
    model = build_model("tsfusion", 1, {**SMALL, "cxr_weights": "imagenet", "weights_policy": "auto"})
    assert model.weights_source == {"cxr_encoder": "random-init"}
    monkeypatch.setenv("CLINFUSE_WEIGHTS", "auto")
    assert CxrEncoder(weights="imagenet").weights_source == "random-init"
    assert CxrEncoder(weights="none", policy="strict").weights_source == "none"


def test_cached_weights_file_is_loaded(torch_home):
    torch.manual_seed(5)
    reference = resnet34(weights=None)
    torch_home.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), torch_home)
    torch.manual_seed(6)  # a failed load would leave a different random init
    encoder = CxrEncoder(weights="imagenet", policy="strict")
    assert encoder.weights_source == RESNET34_SOURCE == "torchvision:resnet34.IMAGENET1K_V1"
    expected = {k: v for k, v in reference.state_dict().items() if not k.startswith("fc.")}
    loaded = encoder.trunk.state_dict()
    assert loaded.keys() == expected.keys()
    for name, value in expected.items():
        assert torch.equal(loaded[name], value), name
    model = build_model("uni_cxr", 14, {"cxr_weights": "imagenet"})
    assert model.weights_source == {"cxr_encoder": RESNET34_SOURCE}


def test_corrupt_weights_file_is_a_clear_error(torch_home):
    torch_home.parent.mkdir(parents=True)
    torch_home.write_bytes(b"not a checkpoint")
    with pytest.raises(ClinfuseError, match="cannot load"):
        encoders.load_resnet34("auto")


# --- stage-1 checkpoints -----------------------------------------------------------------------------


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("part", ["ehr", "cxr"])
def test_load_stage1_copies_exactly_one_encoder(part, tmp_path):
    prefix = f"{part}_model."
    stage1 = small("uni_ehr" if part == "ehr" else "uni_cxr", seed=1)
    if part == "cxr":  # make the BatchNorm statistics differ from a fresh model's
        stage1.train()(make_batch((True, True, True)))
    path = tmp_path / "best.pt"
    torch.save({"model": stage1.state_dict(), "epoch": 3, "config": {"lr": 1e-4}}, path)
    fusion = small("tsfusion", seed=2)
    before = _snapshot(fusion)
    count = load_stage1(fusion, path, part=part)
    expected = {k: v for k, v in stage1.state_dict().items() if k.startswith(prefix)}
    assert count == len(expected) > 0
    assert count == sum(1 for k in fusion.state_dict() if k.startswith(prefix))
    after = fusion.state_dict()
    for name, value in after.items():
        if name.startswith(prefix):
            assert torch.equal(value, expected[name]), name
        else:
            assert torch.equal(value, before[name]), name  # projection, transformer, head, other encoder
    changed = [k for k in expected if not torch.equal(before[k], expected[k])]
    assert changed  # the test would notice a no-op copy
    assert fusion.weights_source[f"stage1_{part}"] == str(path)


def test_load_stage1_rejects_the_wrong_checkpoint(tmp_path):
    ehr_path, wide_path = tmp_path / "ehr.pt", tmp_path / "wide.pt"
    torch.save({"model": small("uni_ehr").state_dict()}, ehr_path)
    torch.save(small("uni_ehr", hidden=16).state_dict(), wide_path)  # a bare state dict is accepted too
    fusion = small("medfuse")
    with pytest.raises(ClinfuseError, match="no cxr_model"):
        load_stage1(fusion, ehr_path, part="cxr")
    with pytest.raises(ClinfuseError, match="shape"):
        load_stage1(fusion, wide_path, part="ehr")
    with pytest.raises(ClinfuseError, match="does not exist"):
        load_stage1(fusion, tmp_path / "nope.pt", part="ehr")
    with pytest.raises(ClinfuseError, match="part"):
        load_stage1(fusion, ehr_path, part="notes")
    assert load_stage1(fusion, ehr_path, part="ehr") == 8  # 2 layers x (w_ih, w_hh, b_ih, b_hh)


# --- losses ------------------------------------------------------------------------------------------


def _per_label_bce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    p = torch.sigmoid(logits)
    return (-(y * torch.log(p) + (1 - y) * torch.log(1 - p))).mean(0)


@pytest.mark.parametrize("form", ["code", "paper"])
def test_uncertainty_loss_value_and_log_var_gradient(form):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 3, generator=g, dtype=torch.float64)
    y = (torch.rand(6, 3, generator=g) > 0.5).double()
    loss = make_loss("uncertainty", 3, form).double()
    assert isinstance(loss, UncertaintyLoss) and loss.log_var.requires_grad
    assert torch.equal(loss.log_var, torch.zeros(3, dtype=torch.float64))  # init s = 0
    s = torch.tensor([0.3, -0.5, 1.2], dtype=torch.float64)
    with torch.no_grad():
        loss.log_var.copy_(s)
    value = loss(logits, y)
    value.backward()
    per_label = _per_label_bce(logits, y)
    if form == "code":
        expected_value = (torch.exp(-s) * per_label + 0.5 * s).mean()
        expected_grad = (-torch.exp(-s) * per_label + 0.5) / 3
    else:
        expected_value = (torch.exp(-s) * per_label + s).sum()
        expected_grad = -torch.exp(-s) * per_label + 1.0
    torch.testing.assert_close(value, expected_value, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(loss.log_var.grad, expected_grad, rtol=1e-10, atol=1e-12)


def test_uncertainty_loss_at_zero_is_mean_bce_and_make_loss_errors():
    logits, y = torch.randn(4, 5), (torch.rand(4, 5) > 0.5).float()
    bce = make_loss("bce", 5)
    torch.testing.assert_close(bce(logits, y), F.binary_cross_entropy_with_logits(logits, y))
    torch.testing.assert_close(UncertaintyLoss(5, "code")(logits, y), bce(logits, y))
    with pytest.raises(ClinfuseError, match="loss"):
        make_loss("focal", 5)
    with pytest.raises(ClinfuseError, match="form"):
        make_loss("uncertainty", 5, "kendall")
