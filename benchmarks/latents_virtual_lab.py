"""Virtual lab: identifiability to the true latents, seed consistency, null controls.

The virtual lab's generative model (brainbehave.synth: behaviour, body, neuron population,
latent dynamics, firing rates) without rendering videos: Poisson counts per camera exposure,
so sessions can be long enough for a meaningful held-out test on 2 CPU cores.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/latents_virtual_lab.py --ceiling
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/latents_virtual_lab.py --models generative

``--models generative`` scores the pi-VAE-like model (``PoissonVAE``) on the same session,
split and seeds: on the latent cells without labels (a plain Poisson VAE: identifiability,
seed consistency) and on all cells with position as the label prior, fitted on the training
blocks; the embedding is ``transform(X)``, the label-free posterior q(z|x), so held-out
decoding never sees the held-out labels. ``--demo-like`` fits it per session on four
sessions shaped as the demo's (60 s, 120 units, one bin per 30-Hz frame):

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/latents_virtual_lab.py --demo-like --steps 300

Identifiability needs enough data: on 3 minutes (1,440 training bins) even a supervised linear
read-out of a 10-bin window reaches only R² 0.94 held-out, and longer training overfits (the
embedding's R² falls as its loss keeps falling); on 10 minutes the ceiling is 0.96.
"""

from __future__ import annotations

import argparse
import json
import logging
import time

import numpy as np
import torch

from brainbehave.align import contiguous_split
from brainbehave.latents import ContrastiveEmbedding, PoissonVAE, metrics
from brainbehave.synth import neurons as nrn
from brainbehave.synth.behaviour import ACTIONS
from brainbehave.synth.cohort import _rng, simulate_motion
from brainbehave.synth.settings import SynthSettings


def virtual_session(settings: SynthSettings, subject: int = 1, session: int = 1):
    """Counts (N, U), unit kinds, position (N, 2), true latents (N, D) of one session."""
    n = settings.n_frames
    motion = simulate_motion(settings, n, subject, session)
    pop = nrn.make_population(
        settings.n_units,
        len(ACTIONS),
        settings.n_latents,
        settings.arena(),
        _rng(settings, subject, 2),
    )
    z = nrn.simulate_latents(
        n, settings.fps, settings.n_latents, _rng(settings, subject, session, 13)
    )
    body = motion.body
    rates = nrn.firing_rates(
        pop, body.position, body.speed, body.head_direction, motion.behaviour.action, z
    )
    counts = _rng(settings, subject, session, 14).poisson(rates / settings.fps)
    return counts.astype(np.float32), pop.kind, body.position, z


def supervised_ceiling(x: np.ndarray, z: np.ndarray, split: np.ndarray) -> dict:
    """Held-out R² of ridge regressions from windows of log(1 + counts) to the true latents.

    Fitted with the true latents of the training blocks (which the self-supervised model
    never sees): how much of the latents a linear read-out of a window of that many bins
    can recover from these spikes, a yardstick for the embedding's identifiability.
    """
    from sklearn.linear_model import RidgeCV

    out = {"test": "supervised linear ceiling (window of bins -> true latents, held-out)"}
    train, test = split == 0, split == 1
    for window in (1, 5, 10, 20):
        left = window // 2
        padded = np.pad(np.log1p(x), ((left, window - 1 - left), (0, 0)), mode="edge")
        w = np.stack([padded[i : i + len(x)] for i in range(window)], 1).reshape(len(x), -1)
        ridge = RidgeCV(alphas=np.logspace(-2, 4, 13)).fit(w[train], z[train])
        out[f"window_{window}"] = ridge.score(w[test], z[test])
    return out


def contrastive(args, fit, latent_units, counts, pos, z, split) -> None:
    """Time-contrastive on the latent cells; position-contrastive on all cells vs nulls."""
    # 1) identifiability: the latent-driven cells, self-supervised (time), 2 seeds + null
    e0, rate = fit(latent_units, 0)
    e1, _ = fit(latent_units, 1)
    null, _ = fit(metrics.time_shift(latent_units), 0)
    print(
        json.dumps(
            {
                "test": "latent cells, time-contrastive",
                "it_s": rate,
                "identifiability_r2_heldout": [
                    metrics.identifiability(e, z, split) for e in (e0, e1)
                ],
                "identifiability_r2_all": [metrics.linear_r2(e, z) for e in (e0, e1)],
                "seed_consistency": metrics.consistency(e0, e1),
                "null_time_shifted_identifiability_r2": metrics.identifiability(null, z, split),
            }
        )
    )
    # 2) whole population, behaviour-contrastive on position: decoding vs the null controls
    x = counts[:, counts.any(0)]
    settings = dict(
        conditional="behaviour",
        output_dim=8,
        steps=args.steps,
        batch_size=args.batch,
        learning_rate=3e-3,
        device="cpu",
    )
    shuffled_pos = metrics.block_shuffle(pos, np.random.default_rng(0))
    shifted_x = metrics.time_shift(x)
    fits = {
        "real": (x, pos),
        "null_shuffled_labels": (x, shuffled_pos),
        "null_time_shifted": (shifted_x, pos),
    }
    row = {"test": "all cells, position-contrastive; kNN decoding of position (held-out)"}
    for name, (xx, yy) in fits.items():
        train = split == 0  # fit on the training blocks only: no test labels seen
        emb = ContrastiveEmbedding(**settings).fit(xx[train], yy[train]).transform(xx)
        row[name] = metrics.decode(emb, pos, split)
    print(json.dumps(row))


def _vae(args, x, y, seed: int, **kw) -> tuple[PoissonVAE, float]:
    """A PoissonVAE fitted on (x, y) (the training blocks), and its iterations per second."""
    m = PoissonVAE(
        steps=args.steps,
        batch_size=args.batch,
        learning_rate=args.vae_lr,
        seed=seed,
        device="cpu",
        **kw,
    )
    t = time.perf_counter()
    m.fit(x, y)
    return m, args.steps / (time.perf_counter() - t)


def generative(args, latent_units, counts, pos, z, split) -> None:
    """The pi-VAE-like model, scored as the contrastive one (same split, seeds, nulls)."""
    train = split == 0
    chance = metrics.chance_r2(z, split)
    # 1) latent cells, no labels: a plain Poisson VAE (prior N(0, I))
    fits = [_vae(args, latent_units[train], None, seed, latent_dim=3) for seed in (0, 1)]
    embs = [m.transform(latent_units) for m, _ in fits]
    print(
        json.dumps(
            {
                "test": "latent cells, Poisson VAE without labels",
                "it_s": fits[0][1],
                "identifiability_r2_heldout": [metrics.identifiability(e, z, split) for e in embs],
                "identifiability_chance_r2": chance,
                "seed_consistency": metrics.consistency(*embs),
            }
        )
    )
    # 2) all cells, position as the label prior: label-free embedding vs the null controls
    x = counts[:, counts.any(0)]
    shuffled_pos = metrics.block_shuffle(pos, np.random.default_rng(0))
    inputs = {
        "real": (x, pos),
        "null_shuffled_labels": (x, shuffled_pos),
        "null_time_shifted": (metrics.time_shift(x), pos),
    }
    row: dict = {"test": "all cells, pi-VAE with a position prior; kNN decoding (held-out)"}
    real = []
    for name, (xx, yy) in inputs.items():
        for seed in (0, 1) if name == "real" else (0,):
            m, rate = _vae(args, xx[train], yy[train], seed, latent_dim=args.vae_dim)
            emb = m.transform(xx)  # q(z|x): no labels, so held-out labels are never seen
            if name == "real":
                real.append(emb)
                row.setdefault("it_s", rate)
            if seed == 0:
                row[name] = metrics.decode(emb, pos, split)
    row["linear"] = metrics.decode(real[0], pos, split, "linear")
    row["seed_consistency"] = metrics.consistency(*real)
    row["identifiability_r2_heldout"] = [metrics.identifiability(e, z, split) for e in real]
    row["identifiability_chance_r2"] = chance
    print(json.dumps(row))


def demo_like(args) -> None:
    """The generative model per session on four demo-shaped sessions (as the demo's pivae)."""
    settings = SynthSettings(duration_s=60, n_units=120, n_latents=3)
    for subject, session in ((1, 1), (1, 2), (2, 1), (2, 2)):
        counts, _, pos, z = virtual_session(settings, subject, session)
        x = counts[:, counts.any(0)]
        split = contiguous_split(len(x), 0.2, 10)
        train = split == 0
        row: dict = {"test": "demo-like session, pi-VAE (position prior), label-free"}
        row["session"] = f"{subject}/{session}"
        for seed in (0, 1):
            args.batch = 256  # the demo's batch size
            m, _ = _vae(args, x[train], pos[train], seed, latent_dim=args.vae_dim)
            emb = m.transform(x)
            row[f"seed{seed}"] = {
                "knn": metrics.decode(emb, pos, split),
                "identifiability_r2": metrics.identifiability(emb, z, split),
            }
        row["identifiability_chance_r2"] = metrics.chance_r2(z, split)
        print(json.dumps(row))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--units", type=int, default=200)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--dim", type=int, default=3)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--offset", type=int, default=3, help="time offset of positives (bins)")
    p.add_argument("--rebin", type=int, default=3, help="frames summed per bin (30 fps / 3)")
    p.add_argument("--model", default="offset10", help="encoder (receptive field)")
    p.add_argument(
        "--models",
        default="contrastive,generative",
        help="comma-separated: contrastive and/or generative (pi-VAE-like PoissonVAE)",
    )
    p.add_argument("--vae-dim", type=int, default=8, help="latent dim of the VAE (position)")
    p.add_argument("--vae-lr", type=float, default=3e-3, help="learning rate of the VAE")
    p.add_argument(
        "--ceiling",
        action="store_true",
        help="also a supervised ceiling: ridge from a window of log counts to the true latents",
    )
    p.add_argument("--demo-like", action="store_true", help="only the per-session VAE fits")
    args = p.parse_args()
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)
    if args.demo_like:
        demo_like(args)
        return
    settings = SynthSettings(duration_s=60 * args.minutes, n_units=args.units, n_latents=3)
    counts, kind, pos, z = virtual_session(settings)
    n = len(counts) // args.rebin * args.rebin
    counts = counts[:n].reshape(-1, args.rebin, counts.shape[1]).sum(1)
    pos = pos[:n].reshape(-1, args.rebin, 2).mean(1)
    z = z[:n].reshape(-1, args.rebin, z.shape[1]).mean(1)
    split = contiguous_split(len(counts), 0.2, 10)
    latent_units = counts[:, kind == "latent"]
    latent_units = latent_units[:, latent_units.any(0)]
    print(
        json.dumps(
            {"frames": len(counts), "units": counts.shape[1], "latent_units": latent_units.shape[1]}
        )
    )

    def fit(x, seed, **kw):
        m = ContrastiveEmbedding(
            conditional="time",
            model=args.model,
            time_offset=args.offset,
            output_dim=args.dim,
            similarity="euclidean",
            steps=args.steps,
            batch_size=args.batch,
            learning_rate=args.lr,
            seed=seed,
            device="cpu",
            **kw,
        )
        t = time.perf_counter()
        emb = m.fit(x).transform(x)
        return emb, args.steps / (time.perf_counter() - t)

    if args.ceiling:
        print(json.dumps(supervised_ceiling(latent_units, z, split)))
    models = args.models.split(",")
    if "contrastive" in models:
        contrastive(args, fit, latent_units, counts, pos, z, split)
    if "generative" in models:
        generative(args, latent_units, counts, pos, z, split)


if __name__ == "__main__":
    main()
