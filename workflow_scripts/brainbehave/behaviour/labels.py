"""Behaviour labels: per-frame labels per hierarchy level, and intervals.

The contract shared by the rule-based and the MAE-based sources:

- **labels** (netCDF): one int16 variable per level over ``time`` (``-1`` = no label, e.g.
  missing pose), the label names of each level in ``attrs["names_<level>"]`` (JSON list),
  ``attrs["levels"]`` (JSON list, coarse to fine), ``attrs["source"]`` (``rules`` | ``mae``),
  ``attrs["fps"]``;
- **intervals** (TSV): one row per bout: ``level, label, start, stop, start_frame,
  stop_frame, source`` (seconds on the video clock; stop exclusive). Frames without a label
  make no interval.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from brainbehave.atomic import atomic_path, write_netcdf

INTERVAL_COLUMNS = ("level", "label", "start", "stop", "start_frame", "stop_frame", "source")


def bouts(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop (exclusive) frames of the runs of equal values in ``codes``."""
    codes = np.asarray(codes)
    if codes.size == 0:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    new = np.ones(codes.shape[0], dtype=bool)
    new[1:] = codes[1:] != codes[:-1]
    starts = np.flatnonzero(new)
    return starts, np.append(starts[1:], codes.shape[0])


def labels_dataset(
    levels: Mapping[str, tuple[Sequence[str], np.ndarray]],
    fps: float,
    source: str,
    attrs: Mapping[str, str] | None = None,
) -> xr.Dataset:
    """Per-frame labels of several levels as one dataset.

    Parameters
    ----------
    levels
        ``{level: (names, codes)}``, coarse to fine; codes index ``names`` (-1 = none).
    fps
        Frame rate (frame i is at i / fps).
    source
        ``"rules"`` or ``"mae"``.
    """
    n = {np.shape(codes)[0] for _, codes in levels.values()}
    if len(n) != 1:
        raise ValueError(f"Every level needs one label per frame; got lengths {sorted(n)}.")
    n_t = n.pop()
    ds = xr.Dataset(
        {lvl: ("time", np.asarray(codes, dtype=np.int16)) for lvl, (_, codes) in levels.items()},
        coords={"time": np.arange(n_t) / float(fps)},
    )
    ds.attrs.update(
        {f"names_{lvl}": json.dumps(list(names)) for lvl, (names, _) in levels.items()},
        levels=json.dumps(list(levels)),
        source=source,
        fps=float(fps),
        **dict(attrs or {}),
    )
    return ds


def level_names(ds: xr.Dataset, level: str) -> list[str]:
    """Label names of one level of a labels dataset."""
    return json.loads(ds.attrs[f"names_{level}"])


def levels_of(ds: xr.Dataset) -> list[str]:
    """Levels of a labels dataset, coarse to fine."""
    return json.loads(ds.attrs["levels"])


def intervals(ds: xr.Dataset) -> pd.DataFrame:
    """Bouts of every level as a table (columns :data:`INTERVAL_COLUMNS`)."""
    fps, source = float(ds.attrs["fps"]), str(ds.attrs["source"])
    rows = []
    for level in levels_of(ds):
        names, codes = level_names(ds, level), ds[level].values
        for start, stop in zip(*bouts(codes), strict=True):
            if codes[start] < 0:
                continue
            rows.append((level, names[codes[start]], start / fps, stop / fps, start, stop, source))
    return pd.DataFrame(rows, columns=list(INTERVAL_COLUMNS))


def save_labels(ds: xr.Dataset, labels_path: str | Path, intervals_path: str | Path) -> None:
    """Write labels (netCDF) and their intervals (TSV), each whole or not at all."""
    write_netcdf(ds, labels_path)
    with atomic_path(intervals_path) as tmp:
        intervals(ds).to_csv(tmp, sep="\t", index=False, float_format="%.4f")


def load_labels(path: str | Path) -> xr.Dataset:
    """Read a labels dataset written by :func:`save_labels`."""
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return ds.load()
