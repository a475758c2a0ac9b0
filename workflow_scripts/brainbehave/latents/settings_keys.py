"""The settings each latent model kind accepts, known without importing torch.

The workflow checks ``latents.models.<name>`` keys when it is parsed; importing the estimators
for that (torch) cost ~2 s of every ``snakemake`` call, dry runs included. The table below is
what :func:`keys_from_signatures` finds in the estimators' ``__init__`` signatures; a unit test
(``tests/unit/latents/test_settings_keys.py``) keeps the two equal, so a new estimator argument
that is not added here fails the tests rather than being refused at parse time.
"""

from __future__ import annotations

import inspect

# Arguments the pipeline sets itself (per seed, per fit); never a config key.
PIPELINE_ARGS = frozenset({"seed", "device", "checkpoint", "checkpoint_every", "multi_session"})

_CONTRASTIVE = frozenset(
    {
        "batch_size",
        "conditional",
        "hidden",
        "learning_rate",
        "model",
        "negatives",
        "normalize",
        "output_dim",
        "similarity",
        "steps",
        "temperature",
        "time_offset",
    }
)

SETTINGS_KEYS: dict[str, frozenset[str]] = {
    "contrastive": _CONTRASTIVE,
    "hybrid": _CONTRASTIVE
    | {"behaviour_weight", "contrastive_weight", "likelihood", "reconstruction_weight"},
    "generative": frozenset(
        {
            "batch_size",
            "beta",
            "hidden",
            "latent_dim",
            "learning_rate",
            "likelihood",
            "model",
            "steps",
        }
    ),
}


def keys_from_signatures(cls: type) -> frozenset[str]:
    """Config keys an estimator class takes: its ``__init__`` arguments along its MRO.

    Parameters
    ----------
    cls
        An estimator class (importing it needs torch).

    Returns
    -------
    frozenset of str
        Positional-or-keyword argument names, less :data:`PIPELINE_ARGS`.
    """
    names: set[str] = set()
    for c in cls.__mro__:
        if c is object:
            continue
        names |= {
            n
            for n, p in inspect.signature(c.__init__).parameters.items()
            if n != "self" and p.kind is p.POSITIONAL_OR_KEYWORD
        }
    return frozenset(names - PIPELINE_ARGS)
