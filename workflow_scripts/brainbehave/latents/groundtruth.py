"""Behaviour and latents for the latent models: the virtual lab's truth on the aligned bins.

Until the behaviour stage's labels and pose are binned into the aligned dataset, the virtual
lab's ground truth (body, labels per level, true latents) is brought onto the aligned time
base here — through the TRUE video→neural clock map, so evaluation is not blurred by the sync
step's own error. For a real cohort the behaviour comes from the aligned dataset itself.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from brainbehave.align import assign_labels, resample
from brainbehave.errors import InputDataError
from brainbehave.truth import SessionTruth


def truth_on_bins(truth: SessionTruth, centres: np.ndarray) -> dict[str, np.ndarray]:
    """The truth's behaviour variables, labels and latents at the bin centres (neural clock).

    Returns
    -------
    dict
        ``position`` (B, 2) mm, ``speed`` (B, 1) mm/s, ``head_direction`` (B, 2) as cos/sin,
        ``latents`` (B, D) linearly interpolated (NaN outside the recording), and
        ``label_<level>`` (B,) int from the nearest exposure (-1 where none).
    """
    t = truth.video_to_neural(truth.exposure_times_video)
    gap = 2.5 / truth.fps
    hd = np.asarray(truth.body["head_direction"], dtype=float)
    out = {
        "position": resample(t, truth.body["position"], centres, gap),
        "speed": resample(t, truth.body["speed"], centres, gap),
        "head_direction": resample(t, np.c_[np.cos(hd), np.sin(hd)], centres, gap),
        "latents": resample(t, truth.latents, centres, gap),
    }
    for level, labels in truth.labels.items():
        out[f"label_{level}"] = assign_labels(t, labels, centres, 1.0 / truth.fps)
    return out


def aligned_behaviour(ds: xr.Dataset) -> dict[str, np.ndarray]:
    """Behaviour variables of an aligned dataset: ``behaviour_*``, ``feature_*``, ``label_*``.

    Multi-dimensional variables are flattened to (time, columns); names lose their prefix
    except labels, which keep ``label_``.
    """
    out: dict[str, np.ndarray] = {}
    for name, var in ds.data_vars.items():
        for prefix in ("behaviour_", "feature_"):
            if name.startswith(prefix):
                out[name[len(prefix) :]] = var.values.reshape(ds.sizes["time"], -1)
        if name.startswith("label_"):
            out[name] = var.values
    return out


def session_arrays(
    ds: xr.Dataset, behaviour: dict[str, np.ndarray], where: str
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Neural matrix, behaviour, split and the kept-bin mask, at bins usable for fitting.

    A bin is kept where the aligned dataset marks it valid, every behaviour value is finite
    and every label is assigned (>= 0).

    Raises
    ------
    InputDataError
        If fewer than 2 bins remain.
    """
    keep = ds["valid"].values.astype(bool).copy()
    for name, values in behaviour.items():
        v = np.asarray(values)
        if name.startswith("label_"):
            keep &= v >= 0
        else:
            keep &= np.all(np.isfinite(v.reshape(len(v), -1)), axis=1)
    if keep.sum() < 2:
        raise InputDataError(
            f"{where}: only {int(keep.sum())} bins have valid neural data and behaviour. Check "
            "the session's sync and behaviour coverage."
        )
    x = ds["neural"].values[keep].astype(np.float32)
    kept = {k: np.asarray(v)[keep] for k, v in behaviour.items()}
    return x, kept, ds["split"].values[keep], keep
