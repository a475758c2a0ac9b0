"""Joint latent models of neural activity and behaviour (Stage 5).

Parts kept apart, as in CEBRA:

``data``        input checks, datasets and index sampling (time, behaviour, discrete, hybrid)
``models``      convolutional encoders with a temporal receptive field, a registry by name
``losses``      InfoNCE (cosine / Euclidean, temperature), Poisson and Gaussian NLL
``solver``      ``Solver.step()`` / ``fit()`` and resumable checkpoints
``estimator``   sklearn-style front end: ``ContrastiveEmbedding().fit(X, y).transform(X)``
``generative``  a label-conditioned identifiable Poisson VAE (pi-VAE-like)
``hybrid``      one latent trained on InfoNCE + Poisson reconstruction (+ behaviour)
``metrics``     the trust scorecard (decoding, consistency, identifiability, similarity, nulls)
``groundtruth`` behaviour labels of the aligned data; the virtual lab's truth on its bins
``plan``        model specs from the config and the rules' targets (light: no torch)
``pipeline``    what the Snakemake rules call (fit a cohort with resumable checkpoints)
``scorecard``   the trust scorecard, timescale mapping across label levels, plots
"""

from importlib import import_module

__all__ = ["ContrastiveEmbedding", "HybridEmbedding", "PoissonVAE"]
_WHERE = {
    "ContrastiveEmbedding": "estimator",
    "HybridEmbedding": "hybrid",
    "PoissonVAE": "generative",
}


def __getattr__(name: str):
    # lazy: the workflow imports the package's light modules when it is parsed, without torch
    if name in _WHERE:
        return getattr(import_module(f"brainbehave.latents.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'brainbehave.latents' has no attribute {name!r}")
