"""A virtual-lab session with every file the neural stage reads, made by the real code.

Shared by the tests of this folder (package scope: generated once): the NWB file and frame
times (virtual lab), the sync result (brainbehave.sync), 2D pose per camera and 3D pose from
the truth, features and rule-based labels (brainbehave.behaviour), a truth-labels file in the
labels contract, and one latent model's embedding file (brainbehave.latents.pipeline).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from brainbehave.behaviour.evaluation import truth_pose
from brainbehave.behaviour.labels import labels_dataset, save_labels
from brainbehave.behaviour.session import BehaviourSettings, features_and_rule_labels
from brainbehave.nwb import TTL_SERIES
from brainbehave.paths import Paths
from brainbehave.pose import pose_dataset, save_pose
from brainbehave.sync import SyncTolerance, sync_nwb_session
from brainbehave.synth.cohort import SessionFiles, generate_session
from brainbehave.synth.settings import SynthSettings

REPO = Path(__file__).resolve().parents[3]
LAB = SynthSettings(
    seed=4,
    subjects=1,
    sessions_per_subject=1,
    duration_s=6.0,
    cameras=2,
    image_size=(64, 48),
    n_units=6,
    dropped_frames=2,
)


def _embedding(aligned_time: np.ndarray, out: Path) -> None:
    from brainbehave.atomic import write_netcdf
    from brainbehave.latents.pipeline import ModelSpec, SessionData, embedding_dataset

    n = len(aligned_time)
    rng = np.random.default_rng(0)
    session = SessionData(
        "rat01/ses01",
        x=rng.poisson(1.0, (n, 6)).astype(np.float32),
        behaviour={"position": rng.normal(size=(n, 2))},
        split=np.zeros(n, dtype=np.int8),
        time=aligned_time,
    )
    spec = ModelSpec(name="tiny", kind="contrastive", seeds=(0, 1))
    emb = rng.normal(size=(2, n, 3))
    ds = embedding_dataset(session, emb, {}, spec, {"tool": "test"})
    write_netcdf(ds, out)


@pytest.fixture(scope="package")
def lab_session(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Paths of every input of neural_align / neural_nwb for rat01/ses01, and the truth."""
    root = tmp_path_factory.mktemp("lab")
    paths = Paths(results=str(root / "results"))
    subject, session = "rat01", "ses01"
    truth = generate_session(
        LAB, subject, session, SessionFiles.from_paths(paths, LAB, subject, session)
    )
    nwb, sync = paths.synth_nwb(subject, session), paths.neural_sync(subject, session)
    cameras = {
        cam: {"frame_times": paths.synth_frame_times(subject, session, cam), "video": None}
        for cam in truth.cameras
    }
    sync_nwb_session(
        nwb, sync, cameras=cameras, fps=LAB.fps, sync_series=TTL_SERIES, tolerance=SyncTolerance()
    )
    saved = truth.video_exposure_index
    pose2d = {}
    for cam in truth.cameras:
        pose2d[cam] = paths.pose2d(subject, session, cam)
        ds = pose_dataset(
            truth.pose2d[cam][saved],
            None,
            truth.keypoints,
            LAB.fps,
            source_software="truth",
            units="px",
            camera=cam,
        )
        save_pose(ds, pose2d[cam])
    pose3d = paths.pose3d(subject, session)
    save_pose(truth_pose(truth), pose3d)
    settings = BehaviourSettings()
    features = paths.behaviour_features(subject, session)
    labels = {s: paths.behaviour_labels(subject, session, s) for s in ("rules", "truth")}
    features_and_rule_labels(
        pose3d,
        str(REPO / "config" / "behaviour_rules.yaml"),
        features,
        labels["rules"],
        paths.behaviour_intervals(subject, session, "rules"),
        settings,
    )
    true_labels = labels_dataset(
        {lvl: (truth.level_names[lvl], codes[saved]) for lvl, codes in truth.labels.items()},
        LAB.fps,
        "truth",
    )
    save_labels(true_labels, labels["truth"], paths.behaviour_intervals(subject, session, "truth"))
    return {
        "root": root,
        "paths": paths,
        "truth": truth,
        "nwb": nwb,
        "sync": sync,
        "pose2d": pose2d,
        "pose3d": pose3d,
        "features": features,
        "labels": labels,
        "make_embedding": _embedding,
    }
