"""The workflow steps end to end on files (what each rule wrapper calls)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import xarray as xr
from behaviour_lab import lab_session

from brainbehave.behaviour import session as steps
from brainbehave.behaviour.ethogram import write_ethogram
from brainbehave.behaviour.labels import load_labels
from brainbehave.errors import ConfigError
from brainbehave.pose import save_pose

REPO = Path(__file__).resolve().parents[3]
SETTINGS = steps.BehaviourSettings.from_mapping(
    {"mae": {"steps": 3, "batch_size": 4, "window_frames": 48}}
)


def test_every_step_writes_what_the_next_reads(tmp_path: Path) -> None:
    poses = []
    for k in range(2):
        save_pose(lab_session(10.0, key=k)[0], tmp_path / f"p{k}.nc")
        poses.append(str(tmp_path / f"p{k}.nc"))
    rules = REPO / "config" / "behaviour_rules.yaml"
    steps.features_and_rule_labels(
        poses[0], rules, tmp_path / "f.nc", tmp_path / "r.nc", tmp_path / "r.tsv", SETTINGS
    )
    with xr.open_dataset(tmp_path / "f.nc", engine="h5netcdf") as feats:
        assert "body_pitch" in feats["feature"].values and feats.sizes["time"] == 300
    assert set(pd.read_csv(tmp_path / "r.tsv", sep="\t")["source"]) == {"rules"}
    steps.train_mae(poses, tmp_path / "m.pt", tmp_path / "ckpt.pt", SETTINGS)
    steps.embed_session(poses[0], tmp_path / "m.pt", tmp_path / "e0.nc", SETTINGS)
    steps.embed_session(poses[1], tmp_path / "m.pt", tmp_path / "e1.nc", SETTINGS)
    with xr.open_dataset(tmp_path / "e0.nc", engine="h5netcdf") as emb:
        # the mirror image's embeddings, for the mirror-invariant action level
        assert emb["level1_mirrored"].shape == emb["level1"].shape
        assert not (emb["level1_mirrored"] == emb["level1"]).all()
    steps.fit_segmenter([tmp_path / "e0.nc", tmp_path / "e1.nc"], tmp_path / "s.pkl", SETTINGS)
    steps.segment_session(
        tmp_path / "e0.nc", tmp_path / "s.pkl", tmp_path / "m.nc", tmp_path / "m.tsv"
    )
    mae = load_labels(tmp_path / "m.nc")
    assert mae.attrs["source"] == "mae" and mae.sizes["time"] == 300
    write_ethogram(tmp_path / "r.nc", tmp_path / "m.nc", None, tmp_path / "e.png", "rat01/ses01")
    assert (tmp_path / "e.png").stat().st_size > 1000


def test_body_parts_not_in_the_pose_are_named(tmp_path: Path) -> None:
    save_pose(lab_session(2.0)[0], tmp_path / "p.nc")
    settings = steps.BehaviourSettings.from_mapping({"body": {"centre": "spine2"}})
    with pytest.raises(ConfigError, match=r"behaviour.body names keypoint\(s\) \['spine2'\]"):
        steps.features_and_rule_labels(
            tmp_path / "p.nc",
            REPO / "config" / "behaviour_rules.yaml",
            tmp_path / "f.nc",
            tmp_path / "r.nc",
            tmp_path / "r.tsv",
            settings,
        )
