"""Training losses on logits: plain BCE, and the homoscedastic uncertainty weighting of TSImageFusion.

Uncertainty loss (Kendall et al. 2018; reference §3.5, models-reference B4/B6 #4): one learnable
s_t = log σ_t² per label (init 0), L_t = the label's BCE-with-logits averaged over the batch.
  form 'code'  (TSImageFusion's code): mean_t( exp(−s_t)·L_t + ½·s_t )
  form 'paper' (the paper's Eq. 3):     Σ_t( exp(−s_t)·L_t + s_t )
`log_var` is a parameter of the loss module, not of the model: the trainer gives it its own Adam group
(lr 7e-4 in the reference).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from warehouse.lake import ClinfuseError

LOSSES = ("bce", "uncertainty")
UNCERTAINTY_FORMS = ("code", "paper")


class UncertaintyLoss(nn.Module):
    """loss(logits [B, C], y [B, C]) -> scalar, with a trainable `log_var` [C]."""

    def __init__(self, n_labels: int, form: str = "code"):
        super().__init__()
        if form not in UNCERTAINTY_FORMS:
            raise ClinfuseError(f"uncertainty loss form {form!r} is not one of {', '.join(UNCERTAINTY_FORMS)}")
        self.form = form
        self.log_var = nn.Parameter(torch.zeros(n_labels))

    def forward(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        dtype = torch.promote_types(logits.dtype, torch.float32)  # bf16/fp16 logits under autocast -> fp32
        per_label = F.binary_cross_entropy_with_logits(logits.to(dtype), y.to(dtype), reduction="none").mean(0)
        weighted = torch.exp(-self.log_var) * per_label
        if self.form == "code":
            return (weighted + 0.5 * self.log_var).mean()
        return (weighted + self.log_var).sum()


def make_loss(name: str, n_labels: int, form: str = "code") -> nn.Module:
    """'bce' -> BCE with logits (mean over batch and labels); 'uncertainty' -> UncertaintyLoss(n_labels, form)."""
    if name == "bce":
        return nn.BCEWithLogitsLoss()
    if name == "uncertainty":
        return UncertaintyLoss(n_labels, form)
    raise ClinfuseError(f"loss {name!r} is not one of {', '.join(LOSSES)}")
