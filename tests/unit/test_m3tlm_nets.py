"""M3T-LM's branches: Table I's widths (378 numeric, 1536 image, 1978 fused at the paper's sizes), the
parameter counts Table I gives per layer, the heads, and the Huber + BCE losses by hand."""

from __future__ import annotations

import math

import pytest
import torch

from features.weights import WeightsUnavailable
from models.m3tlm.nets import M3TLM, AttConv1d, ImageBranch, TextBranch
from models.m3tlm.train import TaskLosses


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def _batch(b: int = 3, size: int = 64, has_cxr=None) -> dict:
    g = torch.Generator().manual_seed(0)
    return {"num": torch.randn(b, 26, generator=g), "onehot": torch.zeros(b, 28).index_fill_(1, torch.tensor([0]), 1.0),
            "ethnicity": torch.tensor([0, 5, 2][:b]), "dx": torch.randint(0, 535, (b, 23), generator=g),
            "px": torch.randint(0, 530, (b, 18), generator=g), "image": torch.rand(b, 1, size, size, generator=g),
            "has_cxr": torch.tensor(has_cxr if has_cxr is not None else [True] * b)}


def test_att_1dcnn_has_table_one_shapes_and_parameters():
    branch = AttConv1d(26)
    out = branch(torch.randn(4, 26))
    assert out.shape == (4, 378) and branch.out_dim == 378 and branch.length == 11
    assert [_count(m) for m in (branch.conv1, branch.conv2, branch.se, branch.spatial)] == [128, 3104, 3, 3]
    # the raw inputs are concatenated after the attended features
    x = torch.randn(2, 26)
    assert torch.equal(branch(x)[:, 352:], x)


def test_text_and_ethnicity_branches():
    dx, px = TextBranch(535, 32, 2), TextBranch(530, 32, 2)
    assert dx(torch.randint(0, 535, (5, 23))).shape == (5, 2) and px(torch.randint(0, 530, (5, 18))).shape == (5, 2)
    assert dx.embedding.weight.numel() == 17_120 and px.embedding.weight.numel() == 16_960
    model = M3TLM(image=None)
    assert model.ethnicity.weight.numel() == 192


def test_the_faithful_image_branch_is_a_one_channel_inception_resnet_v2_of_1536_features():
    branch = ImageBranch("inception_resnet_v2", "none", channels=1, batch_norm=False)
    assert branch.weights_source == "none" and branch.out_dim == 1536
    assert branch.trunk.conv2d_1a.conv.in_channels == 1
    model = M3TLM(image=branch).eval()
    assert model.fusion_dim == 378 + 28 + 32 + 1536 + 2 + 2 == 1978
    assert model.dense64.in_features == 1978 and _count(model.dense64) == 126_656 and _count(model.dense32) == 2_080
    with torch.no_grad():
        out = model(_batch(2, 128))
    assert out["los"].shape == (2,) and out["mortality"].shape == (2,) and (out["los"] >= 0).all()


def test_the_default_image_branch_repeats_grey_to_three_channels_with_batchnorm(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))  # an empty torch hub cache
    branch = ImageBranch("resnet34", "imagenet", channels=3, batch_norm=True, policy="auto")
    assert branch.weights_source == "random-init" and branch.out_dim == 512
    assert isinstance(branch.norm, torch.nn.BatchNorm1d)
    assert branch.eval()(torch.rand(2, 1, 64, 64)).shape == (2, 512)
    with pytest.raises(WeightsUnavailable):
        ImageBranch("resnet34", "imagenet", policy="strict")


def test_a_row_without_an_image_gets_a_zero_image_feature():
    model = M3TLM(image=ImageBranch("test_resnet", "none")).eval()
    batch = _batch(3, has_cxr=[True, False, True])
    with torch.no_grad():
        before = model(batch)
        batch["image"][1] = torch.rand(1, 64, 64)  # the image of a row without one cannot change its output
        after = model(batch)
        fused = model.fuse(batch)
    assert torch.equal(before["los"][1], after["los"][1]) and torch.equal(before["mortality"], after["mortality"])
    start = 378 + 28 + 32
    assert (fused[1, start:start + model.image.out_dim] == 0).all()
    model.train()  # a training batch with one image uses BatchNorm's running statistics
    model(_batch(3, has_cxr=[False, True, False]))["los"].sum().backward()


def test_huber_and_bce_equal_a_hand_computation():
    out = {"los": torch.tensor([1.0, 5.0]), "mortality": torch.tensor([0.0, 2.0])}
    batch = {"los": torch.tensor([0.0, 2.0]), "mortality": torch.tensor([1.0, 0.0])}
    huber, bce = TaskLosses(delta=2.0)(out, batch)
    # |e| = 1 <= 2: 0.5 * 1; |e| = 3 > 2: 2 * 3 - 0.5 * 4 = 4
    assert huber.item() == pytest.approx((0.5 + 4.0) / 2)
    assert bce.item() == pytest.approx((math.log(2) + math.log(1 + math.e ** 2)) / 2)
    _, weighted = TaskLosses(2.0, pos_weight=3.0)(out, batch)
    assert weighted.item() == pytest.approx((3 * math.log(2) + math.log(1 + math.e ** 2)) / 2)
