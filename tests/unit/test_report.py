"""The cohort report: rendered from stage outputs written by the package's own writers."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from brainbehave.paths import Paths
from brainbehave.pose import pose_dataset, save_pose
from brainbehave.report import (
    SECTIONS,
    ReportPlan,
    failed_sessions_message,
    render_report,
    report_notes,
    session_inputs,
    write_cohort_report,
)
from brainbehave.sync import SyncResult, write_sync
from brainbehave.synth.skeleton import EDGES, KEYPOINTS

# a 1x1 PNG: the report embeds image files as they are
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def _session(root: Path, name: str, seed: int) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    n, k = 30, len(KEYPOINTS)
    out: dict[str, object] = {"name": name}
    pose2d = []
    for camera, conf in (("camA", 0.9), ("camB", 0.6)):
        ds = pose_dataset(
            rng.uniform(0, 90, (n, k, 2)),
            np.full((n, k), conf),
            KEYPOINTS,
            30.0,
            source_software="test",
            units="px",
            camera=camera,
        )
        path = root / name / f"{camera}.nc"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_pose(ds, path)
        pose2d.append(str(path))
    out["pose2d"] = pose2d
    xyz = rng.normal(0, 50, (n, k, 3))
    xyz[:5] = np.nan  # frames without 3D: the snapshot picks others
    save_pose(
        pose_dataset(xyz, None, KEYPOINTS, 30.0, source_software="test", units="mm"),
        root / name / "pose3d.nc",
    )
    out["pose3d"] = str(root / name / "pose3d.nc")
    qc = {
        "points": n * k,
        "points_triangulated": (n - 5) * k,
        "reprojection_error_px": {"all": {"n": 10, "median": 1.234, "p95": 4.5}},
    }
    (root / name / "qc.json").write_text(json.dumps(qc))
    out["pose3d_qc"] = str(root / name / "qc.json")
    sync = SyncResult(
        method="ttl",
        offset_s=0.5,
        drift_ppm=12.5,
        fps=30.0,
        n_pulses=n + 1,
        n_frames=n,
        dropped_exposures=[7],
        frame_exposure=np.arange(n),
        frame_times_neural=np.arange(n) / 30.0,
        residual_max_ms=0.321,
        residual_median_ms=0.1,
    )
    write_sync(root / name / "sync.json", {"camA": sync, "camB": sync})
    out["sync"] = str(root / name / "sync.json")
    (root / name / "ethogram.png").write_bytes(PNG)
    out["ethogram"] = str(root / name / "ethogram.png")
    return out


@pytest.fixture
def outputs(tmp_path: Path) -> dict:
    sessions = [_session(tmp_path, "rat01/ses01", 0), _session(tmp_path, "rat01/ses02", 1)]
    card = {
        "model": "contrastive",
        "summary": {"knn_r2": 0.8123, "seed_consistency": 0.95, "level_skill": {"action": 0.4}},
    }
    (tmp_path / "scorecard.json").write_text(json.dumps(card))
    (tmp_path / "contrastive").mkdir()
    (tmp_path / "contrastive" / "embeddings.png").write_bytes(PNG)
    files = {
        "pose2d": [p for s in sessions for p in s["pose2d"]],
        "qc": [s["pose3d_qc"] for s in sessions],
        **{key: [s[key] for s in sessions] for key in ("pose3d", "sync", "ethogram")},
    }
    return {
        "sessions": session_inputs([s["name"] for s in sessions], [["camA", "camB"]] * 2, files),
        "scorecards": [str(tmp_path / "scorecard.json")],
        "embeddings": [str(tmp_path / "contrastive" / "embeddings.png")],
    }


def test_report_has_every_section_and_the_session_figures(outputs: dict) -> None:
    page = render_report(
        outputs["sessions"],
        scorecards=outputs["scorecards"],
        embeddings=outputs["embeddings"],
        notes=["Behaviour MAE disabled"],
        edges=EDGES,
    )
    for key in SECTIONS:
        assert f'<section id="{key}">' in page
    # QC numbers from the stage outputs: likelihood per camera, 3D, reprojection, sync
    assert "camA 0.90, camB 0.60" in page
    assert "1.23 / 4.50" in page and ">83<" in page  # 25 of 30 frames triangulated
    assert "camA 0.321, camB 0.321" in page and "camA 1, camB 1" in page
    # the scorecard table flattens nested summaries; images are inline, nothing external
    assert "level_skill.action" in page and "0.812" in page
    assert page.count("data:image/png;base64,") == 2 + 2 + 1  # ethograms, skeletons, embedding
    assert "http://" not in page and "https://" not in page
    assert "Behaviour MAE disabled" in page


def test_missing_pieces_are_said_not_crashed_on(outputs: dict, tmp_path: Path) -> None:
    first = outputs["sessions"][0]
    bare = type(first)(name="rat02/ses01", pose3d=str(tmp_path / "absent.nc"))
    out = tmp_path / "report" / "cohort.html"
    write_cohort_report(out, [first, bare])
    page = out.read_text()
    assert "rat02/ses01: no image." in page
    assert "rat02/ses01: no triangulated frame." in page
    assert "No latent model is enabled." in page and "No scorecard." in page
    assert "no truth" in page  # no accuracy table: said in the 2D error column


def test_plan_inputs_follow_the_configuration() -> None:
    plan = ReportPlan(
        sessions=[("rat01", "ses01", ["camA", "camB"]), ("rat02", "ses01", ["camA"])],
        paths=Paths(),
        latent_models=["m1"],
    )
    inputs = plan.inputs()
    assert len(inputs["pose2d"]) == 3 and inputs["accuracy"] == [] and inputs["evaluation"] == []
    assert inputs["scorecards"] == [Paths().latents_scorecard("m1")]
    assert plan.session_names() == ["rat01/ses01", "rat02/ses01"]
    with_truth = ReportPlan(plan.sessions, Paths(), with_truth=True, with_model=True)
    assert len(with_truth.inputs()["accuracy"]) == 2
    assert with_truth.inputs()["evaluation"] == [Paths().pose2d_evaluation()]


def test_failed_sessions_are_listed_with_what_to_do() -> None:
    # Snakemake 9 prints no wildcards here: the session is read from the job's paths
    log = (
        "[Mon Nov 24 11:00:00 2026]\nError in rule neural_sync:\n    message: None\n"
        "    jobid: 3\n    input: a.nwb\n    output: results/neural/rat01/ses02/sync.json\n"
        "    log: logs/neural_sync/rat01/ses02.log (check log file(s) for error details)\n"
        "Execute 1 jobs...\nlocalrule neural_sync:\n"
        "    output: results/neural/rat01/ses01/sync.json\n"
        "Error in rule pose2d_clean:\n    output: results/pose2d/rat01/ses02/camA.nc\n"
        "    log: logs/pose2d_clean/rat01/ses02_camA.log\n\n"
        "Error in rule latents_fit:\n    output: results/latents/m1/model.pt\n"
    )
    sessions = ["rat01/ses01", "rat01/ses02", "rat01/ses0"]
    message = failed_sessions_message(log, sessions)
    assert message is not None
    assert "1 session(s) failed" in message
    assert "rat01/ses02: failed in neural_sync, pose2d_clean" in message
    assert "exclude: [rat01/ses02]" in message
    assert "rat01/ses01" not in message and "rat01/ses0:" not in message
    assert failed_sessions_message("Nothing to be done.", sessions) is None


def test_notes_say_what_the_configuration_leaves_out() -> None:
    demo = report_notes(mae=False, latents=True, truth=True, model=True)
    assert len(demo) == 1 and "behaviour.mae.enabled: false" in demo[0]
    lab = report_notes(mae=True, latents=False, truth=False, model=False, excluded=["m1/d2"])
    assert any("latents.enabled: false" in n for n in lab)
    assert any("No ground truth" in n for n in lab) and any("imported" in n for n in lab)
    assert lab[-1] == "Left out by cohort.exclude: m1/d2."
