"""GradNorm task weights (models-reference.md A4, M3T-LM Eqs. 3-6; Chen et al. 2018).

    L(t)    = sum_i w_i(t) L_i(t),                       w_i(0) = 0.5
    G_i(t)  = || grad_theta (w_i L_i) ||_2 = w_i || grad_theta L_i ||_2     (theta: the last shared layer)
    r_i(t)  = (L_i(t) / L_i(0)) / mean_j (L_j(t) / L_j(0))                  (relative inverse training rate)
    L_grad  = sum_i | G_i(t) - mean_j G_j(t) * r_i(t)^alpha |              (the target term held constant)
    w_i    <- w_i - lambda * dL_grad / dw_i = w_i - lambda * sign(G_i - target_i) * || grad_theta L_i ||
    then w is clipped at a small positive floor and renormalised to its initial sum (1).

A task whose loss falls more slowly than the other's (r_i > 1) gets a target above the mean gradient norm,
so its weight rises; a fast task's weight falls. With the target held constant the derivative above is
exact, so no second-order graph is needed: `observe` takes one first-order gradient per task w.r.t. theta.

Use: `weights = gn.combine(losses)` for the backward pass; `gn.observe(losses, theta)` each step;
`gn.update()` after each step (`update="step"`) or once per epoch on the epoch's mean norms and losses
(the paper's Keras callback).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from warehouse.lake import ClinfuseError

FLOOR = 1e-3


class GradNorm:
    def __init__(self, n_tasks: int = 2, *, alpha: float = 1.5, lr: float = 1e-3,
                 initial: Sequence[float] | None = None):
        initial = np.full(n_tasks, 0.5) if initial is None else np.asarray(initial, np.float64)
        if initial.shape != (n_tasks,) or (initial <= 0).any():
            raise ClinfuseError(f"GradNorm: {n_tasks} positive initial weights expected, got {list(initial)}")
        if lr < 0 or alpha < 0:
            raise ClinfuseError(f"GradNorm: lr and alpha must be >= 0, got {lr} and {alpha}")
        self.alpha, self.lr = float(alpha), float(lr)
        self.weights = initial.copy()
        self.total = float(initial.sum())
        self.initial_losses: np.ndarray | None = None
        self._norms: list[np.ndarray] = []
        self._losses: list[np.ndarray] = []
        self.history: list[dict] = [{"update": 0, "weights": self.weights.tolist()}]

    def combine(self, losses: Sequence[torch.Tensor]) -> torch.Tensor:
        """sum_i w_i L_i (the weights are constants for the model's backward pass)."""
        return sum(float(w) * loss for w, loss in zip(self.weights, losses, strict=True))

    def observe(self, losses: Sequence[torch.Tensor], shared: torch.nn.Parameter) -> np.ndarray:
        """Record || grad_theta L_i || and L_i for this step (the graph is kept for the backward pass);
        the first call fixes L_i(0). Returns the gradient norms."""
        norms = np.array([float(torch.autograd.grad(loss, shared, retain_graph=True)[0].norm())
                          for loss in losses])
        values = np.array([float(loss.detach()) for loss in losses])
        if self.initial_losses is None:
            self.initial_losses = np.maximum(values, 1e-12)
        self._norms.append(norms)
        self._losses.append(values)
        return norms

    def update(self) -> dict:
        """One weight update from the steps observed since the last one (their mean norms and losses)."""
        if not self._norms:
            raise ClinfuseError("GradNorm.update: observe at least one step first")
        norms, losses = np.mean(self._norms, axis=0), np.mean(self._losses, axis=0)
        self._norms, self._losses = [], []
        grad_norms = self.weights * norms                                   # G_i
        ratio = losses / self.initial_losses
        rate = ratio / ratio.mean()                                         # r_i
        target = grad_norms.mean() * rate ** self.alpha                     # constant in L_grad
        l_grad = float(np.abs(grad_norms - target).sum())
        step = np.sign(grad_norms - target) * norms                         # dL_grad / dw_i
        weights = np.maximum(self.weights - self.lr * step, FLOOR)
        self.weights = weights * self.total / weights.sum()
        row = {"update": len(self.history), "weights": self.weights.tolist(), "G": grad_norms.tolist(),
               "r": rate.tolist(), "loss_ratio": ratio.tolist(), "L_grad": l_grad}
        self.history.append(row)
        return row

    def state_dict(self) -> dict:
        return {"alpha": self.alpha, "lr": self.lr, "weights": self.weights.tolist(), "total": self.total,
                "initial_losses": None if self.initial_losses is None else self.initial_losses.tolist(),
                "history": self.history}
