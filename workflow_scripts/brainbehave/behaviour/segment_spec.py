"""How each behaviour level is segmented (:class:`LevelSpec`) and the config that sets it.

No scikit-learn here, so the behaviour settings load fast; the segmenter itself is
:mod:`brainbehave.behaviour.segment`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from brainbehave.errors import ConfigError


@dataclass(frozen=True)
class LevelSpec:
    """How one level is segmented.

    Attributes
    ----------
    embedding
        The MAE level (``level1`` fine ... ``level3`` coarse) whose embedding describes the
        frames (unused with ``usage_of``).
    name
        The hierarchy level its segments stand for (``primitive``, ``action``, ``activity``).
    n_clusters
        Number of clusters, or None to select it by silhouette over ``k_range``.
    smooth_s
        Gaussian sigma (s) of the temporal smoothing of the embedding before clustering.
    min_duration_s
        Shorter bouts are merged into their neighbours.
    usage_k, usage_window_s
        When ``usage_k`` is set, the level is first cut into ``usage_k`` motifs, and each
        frame is described by how often each motif occurs in a centred window of
        ``usage_window_s`` before the final clustering: slow states (activities) are mixtures
        of faster motifs.
    mirror_invariant
        Average the embedding with the one of the mirrored pose (``<embedding>_mirrored``).
    usage_of
        Name of a finer level: frames are described by the usage of its segments in a window
        of ``usage_window_s`` instead of by an embedding.
    n_init
        k-means starts; the one the others agree with most is kept.
    within
        Name of a coarser level: each of its clusters is split into ``n_clusters`` clusters
        of its own (codes ``parent * n_clusters + sub``; ``auto`` splits in 2), so this level
        refines that one.
    motion
        Describe frames by the embedding's rate of change (its time derivative after the
        smoothing) instead of its value: the two half-cycles of a movement pass through the
        same poses in opposite directions, so only the direction tells them apart.
    mirror_pairs
        With ``within``: a parent cluster whose left-right antisymmetric part alternates
        more than its symmetric part (:mod:`.oscillation`, lags within ``half_cycle_s``)
        holds mirror-image half-cycles (left and right strides, head sweeps) and is split in
        two by the sign of its most alternating antisymmetric direction; the others are
        split by k-means as without it (needs ``<embedding>_mirrored``).
    half_cycle_s
        Range of half-cycle durations (s) searched for the alternation.
    """

    embedding: str
    name: str
    n_clusters: int | None
    smooth_s: float
    min_duration_s: float
    k_range: tuple[int, int] = (2, 16)
    usage_k: int | None = None
    usage_window_s: float = 4.0
    mirror_invariant: bool = False
    usage_of: str | None = None
    n_init: int = 16
    within: str | None = None
    motion: bool = False
    mirror_pairs: bool = False
    half_cycle_s: tuple[float, float] = (0.067, 0.4)


# Measured on the virtual lab with the MAE's embeddings (benchmarks/behaviour_mae.py; see the
# module docstring for why actions come from level 1 and activities from the actions).
DEFAULT_LEVELS: tuple[LevelSpec, ...] = (
    LevelSpec("level3", "activity", 3, 0.0, 3.0, usage_window_s=4.0, usage_of="action"),
    LevelSpec("level1", "action", 8, 0.15, 0.3, mirror_invariant=True),
    LevelSpec(
        "level1", "primitive", 2, 0.067, 0.07, within="action", motion=True, mirror_pairs=True
    ),
)
_KEYS = {
    "embedding": str,
    "n_clusters": lambda k: None if k == "auto" else int(k),
    "smooth_s": float,
    "min_duration_s": float,
    "k_range": tuple,
    "usage_k": lambda k: None if k is None else int(k),
    "usage_window_s": float,
    "mirror_invariant": bool,
    "usage_of": lambda v: None if v is None else str(v),
    "n_init": int,
    "within": lambda v: None if v is None else str(v),
    "motion": bool,
    "mirror_pairs": bool,
    "half_cycle_s": tuple,
}


def level_specs(settings: Mapping[str, Mapping]) -> tuple[LevelSpec, ...]:
    """LevelSpecs from the config's ``behaviour.segment`` mapping (``n_clusters: auto``)."""
    out = []
    for default in DEFAULT_LEVELS:
        given = dict(settings.get(default.name, {}))
        changes = {k: _KEYS[k](v) for k, v in given.items() if k in _KEYS}
        out.append(replace(default, **changes))
    return check_specs(tuple(out))


def depends_on(spec: LevelSpec) -> tuple[str, ...]:
    """The levels that must be segmented before this one (``usage_of``, ``within``)."""
    return tuple(n for n in (spec.usage_of, spec.within) if n is not None)


def check_specs(specs: Sequence[LevelSpec]) -> tuple[LevelSpec, ...]:
    """Refuse a ``usage_of``/``within`` that names no other level, or a dependency cycle."""
    names = [s.name for s in specs]
    by_name = {s.name: s for s in specs}
    for spec in specs:
        for key in ("usage_of", "within"):
            start = getattr(spec, key)
            if start is None:
                continue
            seen, todo = {spec.name}, [start]
            while todo:
                cur = todo.pop()
                if cur not in by_name or cur in seen:
                    raise ConfigError(
                        f"behaviour.segment.{spec.name}.{key} is {start!r}: it must name "
                        f"another level ({names}) and not lead back to {spec.name!r} through "
                        "the levels' own usage_of / within. Set it to another level, or "
                        "remove it."
                    )
                seen.add(cur)
                todo.extend(depends_on(by_name[cur]))
    return tuple(specs)
