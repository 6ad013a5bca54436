"""GradNorm (M3T-LM Eqs. 4-6): one update by hand, and on a toy with one slow task that task's weight rises."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.m3tlm.gradnorm import GradNorm
from warehouse.lake import ClinfuseError


def test_one_update_equals_the_hand_computation():
    theta = torch.nn.Parameter(torch.tensor([1.0]))
    gn = GradNorm(2, alpha=1.5, lr=0.1)
    gn.observe([theta * 1.0, theta * 1.0], theta)           # L(0) = [1, 1], ||grad L_i|| = [1, 1]
    gn._norms, gn._losses = [], []                           # the update below uses the second step only
    gn.observe([theta * 0.2, theta * 0.9], theta)           # L = [0.2, 0.9]: task 2 is the slow one
    row = gn.update()
    ratio = np.array([0.2, 0.9])
    r = ratio / ratio.mean()
    norms = np.array([0.2, 0.9])
    G = 0.5 * norms
    target = G.mean() * r ** 1.5
    w = 0.5 - 0.1 * np.sign(G - target) * norms
    w = w / w.sum()
    assert row["weights"] == pytest.approx(w.tolist()) and sum(row["weights"]) == pytest.approx(1.0)
    assert row["r"] == pytest.approx(r.tolist()) and row["L_grad"] == pytest.approx(np.abs(G - target).sum())
    assert row["weights"][1] > 0.5 > row["weights"][0]


def test_on_a_toy_with_one_slow_task_the_slow_tasks_weight_rises():
    torch.manual_seed(0)
    x = torch.randn(256, 4)
    fast_y = x @ torch.tensor([1.0, -2.0, 0.5, 1.0])             # linear: learnt quickly
    slow_y = torch.sin(3 * x[:, 0]) * torch.cos(3 * x[:, 1]) * 3  # barely learnable by this net: slow
    shared = torch.nn.Linear(4, 8)
    fast_head, slow_head = torch.nn.Linear(8, 1), torch.nn.Linear(8, 1)
    params = [*shared.parameters(), *fast_head.parameters(), *slow_head.parameters()]
    optimizer = torch.optim.SGD(params, lr=0.05)
    gn = GradNorm(2, alpha=1.5, lr=0.01)
    for _ in range(150):
        h = shared(x)
        losses = [torch.nn.functional.mse_loss(fast_head(h).squeeze(1), fast_y),
                  torch.nn.functional.mse_loss(slow_head(h).squeeze(1), slow_y)]
        gn.observe(losses, shared.weight)
        optimizer.zero_grad()
        gn.combine(losses).backward()
        optimizer.step()
        gn.update()
    weights = gn.weights
    assert weights[1] > 0.6 and weights[0] < 0.4 and weights.sum() == pytest.approx(1.0)
    assert gn.history[-1]["r"][1] > 1 > gn.history[-1]["r"][0]   # the slow task's relative rate is above 1


def test_bad_settings_and_an_update_before_any_step_are_refused():
    with pytest.raises(ClinfuseError):
        GradNorm(2, initial=[0.5, 0.0])
    with pytest.raises(ClinfuseError):
        GradNorm(2).update()
