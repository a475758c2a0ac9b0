"""2D pose error in pixels against the virtual lab's ground truth."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from brainbehave.errors import InputDataError
from brainbehave.pose import load_pose
from brainbehave.truth import SessionTruth, read_truth

logger = logging.getLogger(__name__)


def pixel_errors(pose: xr.Dataset, truth: SessionTruth, camera: str) -> pd.DataFrame:
    """Per-frame, per-keypoint error in px of one camera's pose against the ground truth.

    Frame ``i`` of the video is exposure ``truth.video_exposure_index[i]``; only keypoints the
    ground truth marks visible in that frame count.

    Returns
    -------
    pandas.DataFrame
        Columns ``frame, keypoint, error_px`` (NaN where the pose has no point).
    """
    if camera not in truth.pose2d:
        raise InputDataError(f"camera {camera!r} not in the ground truth ({truth.cameras}).")
    index = truth.video_exposure_index
    if pose.sizes["time"] != len(index):
        raise InputDataError(
            f"{truth.subject}/{truth.session} {camera}: pose has {pose.sizes['time']} frames, "
            f"the video {len(index)}."
        )
    names = [str(k) for k in pose["keypoints"].values]
    missing = [k for k in names if k not in truth.keypoints]
    if missing:
        raise InputDataError(f"keypoints {missing} are not in the ground truth.")
    cols = [truth.keypoints.index(k) for k in names]
    true_xy = truth.pose2d[camera][index][:, cols]  # (T, K, 2)
    visible = truth.visible[camera][index][:, cols]
    pred = pose["position"].isel(individuals=0).transpose("time", "keypoints", "space").values
    error = np.linalg.norm(pred - true_xy, axis=-1)
    frames, kps = np.nonzero(visible)
    return pd.DataFrame(
        {
            "frame": frames,
            "keypoint": np.asarray(names)[kps],
            "error_px": error[frames, kps],
        }
    )


def summarise_errors(errors: pd.DataFrame) -> pd.DataFrame:
    """Median, mean, 90th percentile error and detection rate per keypoint (and overall).

    ``detected`` is the fraction of visible points that have a position (not NaN).
    """

    def stats(e: pd.Series) -> pd.Series:
        found = e.dropna()
        return pd.Series(
            {
                "median_px": found.median() if len(found) else np.nan,
                "mean_px": found.mean() if len(found) else np.nan,
                "p90_px": found.quantile(0.9) if len(found) else np.nan,
                "detected": len(found) / max(len(e), 1),
                "n_visible": len(e),
            }
        )

    per_kp = errors.groupby("keypoint", sort=False)["error_px"].apply(stats).unstack()
    per_kp.loc["all"] = stats(errors["error_px"])
    return per_kp


def session_accuracy(
    pose_files: Sequence[str | Path], truth_file: str | Path, out_tsv: str | Path
) -> pd.DataFrame:
    """Error summary of every camera of a session against its ground truth, written as TSV.

    Returns
    -------
    pandas.DataFrame
        One row per camera and keypoint (``all``: every keypoint), as :func:`summarise_errors`.
    """
    truth = read_truth(truth_file)
    tables = []
    for path in pose_files:
        pose = load_pose(path)
        camera = str(pose.attrs.get("camera", Path(path).stem))
        table = summarise_errors(pixel_errors(pose, truth, camera))
        tables.append(
            table.reset_index().rename(columns={"index": "keypoint"}).assign(camera=camera)
        )
    out = pd.concat(tables, ignore_index=True)[
        ["camera", "keypoint", "median_px", "mean_px", "p90_px", "detected", "n_visible"]
    ]
    Path(out_tsv).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(out_tsv, sep="\t", index=False, float_format="%.3f")
    overall = out[out["keypoint"] == "all"]
    logger.info(
        "%s/%s: median error per camera %s px",
        truth.subject,
        truth.session,
        dict(zip(overall["camera"], overall["median_px"].round(2), strict=True)),
    )
    return out
