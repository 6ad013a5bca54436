"""M3H's network (models-reference.md C3, with the recommended readings of C6 #8-#10).

    modality inputs x_m ─ ModalityNet_m ─► z_m (projection space) ─┬─ InfoNCE between present pairs (contrastive)
                                                                   └─ masked mean over present modalities
      ─► shared network ─► task-specific nets (one per task, width F) ─► stack [B, T, F]
      ─► CrossTaskAttention ─► heads: binary logit | multiclass log-probabilities | regression value
    concat(z_m) ─► autoencoder encoder ─► latent (K-means, clustering task) ─► decoder ─► concat(x_m) (MSE)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

EPS = 1e-8


def mlp(d_in: int, hidden: int, d_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, d_out))


class CrossTaskAttention(nn.Module):
    """Algorithm 1 of M3H with C6 #8's reading: task tokens E = nn.Embedding(T, F) (batch-independent),
    Q = W_Q E [T, F]; K = W_K x, V = W_V x [B, T, F] from the stacked task embeddings x;
    M = Q Kᵀ [B, T, T] per sample; W = softmax(I + α · M / max|M|) over the key axis (max over each sample's
    T×T block, + ε); O = W V. One head; no 1/√F scaling (the max-normalisation replaces it)."""

    def __init__(self, n_tasks: int, dim: int, alpha: float = 0.1):
        super().__init__()
        self.n_tasks, self.alpha = n_tasks, float(alpha)
        self.tokens = nn.Embedding(n_tasks, dim)
        self.w_q = nn.Linear(dim, dim, bias=False)
        self.w_k = nn.Linear(dim, dim, bias=False)
        self.w_v = nn.Linear(dim, dim, bias=False)
        self.last_weights: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ids = torch.arange(self.n_tasks, device=x.device)
        q = self.w_q(self.tokens(ids))                       # [T, F]
        k, v = self.w_k(x), self.w_v(x)                      # [B, T, F]
        m = torch.einsum("tf,bsf->bts", q, k)                # [B, T(query), T(key)]
        scale = m.abs().amax(dim=(1, 2), keepdim=True) + EPS
        eye = torch.eye(self.n_tasks, device=x.device, dtype=x.dtype)
        w = torch.softmax(eye + self.alpha * m / scale, dim=-1)
        self.last_weights = w.detach()
        return torch.bmm(w, v)


def info_nce(z: dict[str, torch.Tensor], present: dict[str, torch.Tensor], temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE between every pair of modality projections of the same samples (C6 #9): rows where both
    modalities are present, cosine similarities / τ, cross-entropy both ways; mean over pairs with ≥ 2 rows."""
    names = list(z)
    losses = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            both = present[a] & present[b]
            if int(both.sum()) < 2:
                continue
            za, zb = F.normalize(z[a][both], dim=-1), F.normalize(z[b][both], dim=-1)
            logits = za @ zb.T / temperature
            target = torch.arange(len(za), device=za.device)
            losses.append(0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)))
    if not losses:
        return next(iter(z.values())).sum() * 0.0
    return torch.stack(losses).mean()


class Autoencoder(nn.Module):
    """The clustering task (C3): encoder over the concatenated modality projections to a small latent, decoder back
    to the concatenated (standardised) modality inputs; reconstruction MSE is its loss, K-means runs on the latent."""

    def __init__(self, d_in: int, d_out: int, hidden: int, latent: int):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, latent))
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, d_out))

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        latent = self.encoder(z)
        return latent, self.decoder(latent)


class M3HNet(nn.Module):
    """One model over a task set. `tasks`: [(name, kind, n_outputs)]; `clustering`: add the autoencoder.
    forward(inputs, present) -> {"outputs": {task: logits [B] | log-probs [B, K] | values [B]},
    "z": projections, "latent", "recon"}."""

    def __init__(self, dims: dict[str, int], tasks: list[tuple[str, str, int]], settings: dict,
                 clustering: bool = False):
        super().__init__()
        s = settings
        self.modalities = [m for m, d in dims.items() if d > 0]
        self.tasks = list(tasks)
        self.modality_nets = nn.ModuleDict({m: mlp(dims[m], s["modality_hidden"], s["projection"], s["dropout"])
                                            for m in self.modalities})
        self.attention = self.shared = None
        if self.tasks:
            self.shared = nn.Sequential(nn.Linear(s["projection"], s["shared_hidden"]), nn.ReLU(),
                                        nn.Dropout(s["dropout"]), nn.Linear(s["shared_hidden"], s["shared_hidden"]),
                                        nn.ReLU())
            self.task_nets = nn.ModuleDict({name: nn.Sequential(nn.Linear(s["shared_hidden"], s["task_dim"]), nn.ReLU())
                                            for name, _, _ in self.tasks})
            self.attention = CrossTaskAttention(len(self.tasks), s["task_dim"], s["attention_alpha"])
            self.heads = nn.ModuleDict({name: nn.Linear(s["task_dim"], n_out) for name, _, n_out in self.tasks})
        self.autoencoder = Autoencoder(s["projection"] * len(self.modalities), sum(dims.values()), s["ae_hidden"],
                                       s["ae_latent"]) if clustering else None

    def init_binary_bias(self, name: str, prevalence: float) -> None:
        """Output bias log(pos/neg) for a rare binary task (< 10 % positives, C3)."""
        if 0.0 < prevalence < 0.1:
            with torch.no_grad():
                self.heads[name].bias.fill_(math.log(prevalence / (1.0 - prevalence)))

    def forward(self, inputs: dict[str, torch.Tensor], present: dict[str, torch.Tensor]) -> dict:
        z = {m: self.modality_nets[m](inputs[m]) for m in self.modalities}
        out: dict = {"z": z, "outputs": {}}
        if self.tasks:
            stacked = torch.stack([z[m] for m in self.modalities], dim=1)                 # [B, M, P]
            mask = torch.stack([present[m] for m in self.modalities], dim=1).float()     # [B, M]
            mask = torch.where(mask.sum(1, keepdim=True) > 0, mask, torch.ones_like(mask))
            fused = (stacked * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
            shared = self.shared(fused)
            x = torch.stack([self.task_nets[name](shared) for name, _, _ in self.tasks], dim=1)  # [B, T, F]
            attended = self.attention(x)
            for t, (name, kind, _) in enumerate(self.tasks):
                head = self.heads[name](attended[:, t])
                out["outputs"][name] = torch.log_softmax(head, dim=-1) if kind == "multiclass" else head[:, 0]
        if self.autoencoder is not None:
            out["latent"], out["recon"] = self.autoencoder(torch.cat([z[m] for m in self.modalities], dim=1))
        return out


def task_loss(kind: str, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None:
    """The loss of one task on the rows that have a label (NaN = none): BCE-with-logits, NLL or MAE; None when
    no row of the batch has a label."""
    labelled = ~torch.isnan(y)
    if not bool(labelled.any()):
        return None
    y, output = y[labelled], output[labelled]
    if kind == "binary":
        return F.binary_cross_entropy_with_logits(output, y)
    if kind == "multiclass":
        return F.nll_loss(output, y.long())
    return F.l1_loss(output, y)
