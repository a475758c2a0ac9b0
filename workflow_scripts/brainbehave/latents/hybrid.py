"""The hybrid model: one latent trained on InfoNCE + Poisson reconstruction (+ behaviour).

``loss = contrastive_weight * InfoNCE + reconstruction_weight * PoissonNLL(counts | z)
+ behaviour_weight * MSE(behaviour | z)``: the contrastive term organises the latent, the
reconstruction term keeps it faithful to every unit (a generative check on what the latent
leaves out), the behaviour term (optional, weight 0 to switch off) ties it to behaviour.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from brainbehave.latents import losses
from brainbehave.latents.data import Batch
from brainbehave.latents.estimator import ContrastiveEmbedding
from brainbehave.latents.models import Encoder, init_weights


class HybridModule(nn.Module):
    """An encoder plus a rate decoder per session and an optional behaviour decoder."""

    def __init__(
        self, encoder: Encoder, n_inputs: list[int], behaviour_dim: int, hidden: int
    ) -> None:
        super().__init__()
        self.encoder = encoder
        d = encoder.output_dim
        self.rates = nn.ModuleList(
            nn.Sequential(nn.Linear(d, hidden), nn.GELU(), nn.Linear(hidden, n)) for n in n_inputs
        )
        self.behaviour = nn.Linear(d, behaviour_dim) if behaviour_dim else None


class HybridEmbedding(ContrastiveEmbedding):
    """Contrastive embedding whose latent also reconstructs the spikes (and behaviour).

    Parameters
    ----------
    contrastive_weight, reconstruction_weight, behaviour_weight
        Weights of the three terms; a weight of 0 drops the term.
    likelihood
        ``poisson`` for spike counts, ``gaussian`` (unit variance) for ΔF/F traces.
    **kwargs
        As :class:`ContrastiveEmbedding` (``conditional`` defaults to ``time``).
    """

    def __init__(
        self,
        contrastive_weight: float = 1.0,
        reconstruction_weight: float = 1.0,
        behaviour_weight: float = 0.0,
        likelihood: str = "poisson",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.contrastive_weight = contrastive_weight
        self.reconstruction_weight = reconstruction_weight
        self.behaviour_weight = behaviour_weight
        self.likelihood = likelihood

    def _build(self, encoder: Encoder, sessions: list, generator: torch.Generator) -> nn.Module:
        if self.likelihood not in ("poisson", "gaussian"):
            raise ValueError(f"likelihood must be poisson or gaussian, got {self.likelihood!r}.")
        if sessions:
            self.behaviour_dim_ = (
                sessions[0].y.shape[1] if self.behaviour_weight and sessions[0].y is not None else 0
            )
        module = HybridModule(encoder, list(encoder.n_inputs), self.behaviour_dim_, self.hidden)
        init_weights(module, generator)
        return module

    @property
    def encoder_(self) -> Encoder:
        return self.model_.encoder

    def _contrastive_weight(self) -> float:
        return float(self.contrastive_weight)

    def _extra_loss(self, batch: Batch, ref: torch.Tensor, metrics: dict) -> torch.Tensor:
        idx = torch.from_numpy(batch.ref).to(self.device_)
        counts = self._counts[batch.session][idx]
        out = self.model_.rates[batch.session](ref)
        if self.likelihood == "poisson":
            recon = losses.poisson_nll(out, counts)
        else:
            recon = losses.gaussian_nll(out, counts, torch.zeros_like(out))
        metrics["reconstruction"] = metrics.get("reconstruction", 0.0) + float(recon.detach())
        extra = self.reconstruction_weight * recon
        if self.model_.behaviour is not None:
            target = self._labels[batch.session][idx]
            mse = (self.model_.behaviour(ref) - target).pow(2).mean()
            metrics["behaviour"] = metrics.get("behaviour", 0.0) + float(mse.detach())
            extra = extra + self.behaviour_weight * mse
        return extra

    def predict_rates(self, X, session: int = 0):
        """(time, units) firing rates (counts per bin) the latent predicts for ``X``."""
        z = torch.from_numpy(self.transform(X, session)).to(self.device_)
        self.model_.eval()
        try:
            with torch.no_grad():
                out = self.model_.rates[session](z)
        finally:
            self.model_.train()
        return (out.exp() if self.likelihood == "poisson" else out).cpu().numpy()

    def _save_extra(self) -> dict[str, Any]:
        return {"behaviour_dim": self.behaviour_dim_}

    def _load_extra(self, extra: dict[str, Any]) -> None:
        self.behaviour_dim_ = int(extra["behaviour_dim"])
