"""Ethogram of one session: one row per (source, level), coloured bouts over time."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from brainbehave.behaviour.labels import bouts, level_names, levels_of, load_labels

logger = logging.getLogger(__name__)


def ethogram_rows(
    rules_path: str | Path, mae_path: str | Path | None, truth: Mapping[str, np.ndarray] | None
) -> list[tuple[str, list[str], np.ndarray]]:
    """(row title, label names, per-frame codes) for truth, rules and MAE, coarse to fine."""
    rows = []
    if truth:
        for level, names_per_frame in truth.items():
            names = sorted(set(names_per_frame.tolist()))
            codes = np.searchsorted(names, names_per_frame)
            rows.append((f"truth {level}", names, codes))
    for source, path in (("rules", rules_path), ("mae", mae_path)):
        if path is None:
            continue
        ds = load_labels(path)
        rows += [(f"{source} {lvl}", level_names(ds, lvl), ds[lvl].values) for lvl in levels_of(ds)]
    return rows


def plot_ethogram(
    rows: Sequence[tuple[str, list[str], np.ndarray]], fps: float, out: str | Path, title: str
) -> None:
    """Draw the rows as broken bars (seconds on x) and save a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 0.45 * len(rows) + 1.2))
    cmap = plt.get_cmap("tab20")
    # One colour per label name across rows, so 'walk' is the same colour in truth and rules.
    colour = {
        n: cmap(i % 20) for i, n in enumerate(dict.fromkeys(n for _, ns, _ in rows for n in ns))
    }
    for r, (_, names, codes) in enumerate(rows):
        for start, stop in zip(*bouts(codes), strict=True):
            code = int(codes[start])
            if code < 0:
                continue
            ax.broken_barh(
                [(start / fps, (stop - start) / fps)], (r - 0.4, 0.8), color=colour[names[code]]
            )
            if (stop - start) / fps > 2.0 and len(names) <= 20:
                ax.text(
                    (start + stop) / 2 / fps, r, names[code], ha="center", va="center", fontsize=6
                )
    ax.set_yticks(range(len(rows)), [title for title, _, _ in rows])
    ax.invert_yaxis()
    ax.set_xlabel("time (s)")
    ax.set_title(title)
    fig.tight_layout()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)


def write_ethogram(
    rules_path: str,
    mae_path: str | None,
    truth_path: str | None,
    out: str,
    title: str,
) -> None:
    """Ethogram PNG of a session from its label files (and truth.h5 when known)."""
    truth = None
    if truth_path:
        from brainbehave.behaviour.evaluation import truth_labels
        from brainbehave.truth import read_truth

        truth = truth_labels(read_truth(truth_path))
    fps = float(load_labels(rules_path).attrs["fps"])
    plot_ethogram(ethogram_rows(rules_path, mae_path, truth), fps, out, title)
