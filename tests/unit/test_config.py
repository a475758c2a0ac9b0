"""Config and cohort-sheet validation: errors name the key, the row and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from brainbehave.config import load_cohort, validate_config
from brainbehave.errors import ConfigError


@pytest.fixture
def schemas(repo: Path) -> Path:
    return repo / "config" / "schemas"


def test_demo_config_is_valid_and_defaults_fill(repo: Path, schemas: Path) -> None:
    config = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    filled = validate_config(config, schemas / "config.schema.yaml")
    assert filled["cohort"]["source"] == "synth"
    assert filled["synth"]["cameras"] == 3
    assert validate_config({}, schemas / "config.schema.yaml")["synth"]["duration_s"] == 60


def test_misspelt_key_is_named_with_the_allowed_keys(schemas: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"unknown key\(s\) \['duraton_s'\] at 'synth'.*duration_s"
    ):
        validate_config({"synth": {"duraton_s": 10}}, schemas / "config.schema.yaml")


def test_bad_value_names_the_key(schemas: Path) -> None:
    with pytest.raises(ConfigError, match=r"'synth.cameras' = 0 is invalid"):
        validate_config({"synth": {"cameras": 0}}, schemas / "config.schema.yaml")


def test_sheets_source_needs_both_sheets(schemas: Path) -> None:
    with pytest.raises(ConfigError, match="cohort.videos is not set"):
        validate_config(
            {"cohort": {"source": "sheets", "sessions": "s.tsv"}}, schemas / "config.schema.yaml"
        )


def _write_cohort(tmp_path: Path, sessions: str, videos: str) -> tuple[Path, Path]:
    for name in ("a.nwb", "b.nwb", "cal.toml", "v1.mp4", "v2.mp4"):
        (tmp_path / name).write_bytes(b"x")
    s, v = tmp_path / "sessions.tsv", tmp_path / "videos.tsv"
    s.write_text(sessions)
    v.write_text(videos)
    return s, v


GOOD_SESSIONS = (
    "subject\tsession\tnwb\tcalibration\nm1\td1\ta.nwb\tcal.toml\nm1\td2\tb.nwb\tcal.toml\n"
)
GOOD_VIDEOS = "subject\tsession\tcamera\tvideo\nm1\td1\tcamA\tv1.mp4\nm1\td2\tcamA\tv2.mp4\n"


def test_good_sheets_load_with_absolute_paths(tmp_path: Path, schemas: Path) -> None:
    cohort = load_cohort(*_write_cohort(tmp_path, GOOD_SESSIONS, GOOD_VIDEOS), schemas)
    assert cohort.session_keys() == [("m1", "d1"), ("m1", "d2")]
    assert cohort.cameras("m1", "d1") == ["camA"]
    assert cohort.video("m1", "d2", "camA") == str((tmp_path / "v2.mp4").resolve())


def test_duplicate_session_is_named(tmp_path: Path, schemas: Path) -> None:
    sessions = GOOD_SESSIONS + "m1\td1\tb.nwb\tcal.toml\n"
    with pytest.raises(ConfigError, match=r"duplicate subject/session \['m1/d1'\]"):
        load_cohort(*_write_cohort(tmp_path, sessions, GOOD_VIDEOS), schemas)


def test_missing_file_names_session_and_path(tmp_path: Path, schemas: Path) -> None:
    sessions = GOOD_SESSIONS.replace("b.nwb", "missing.nwb")
    with pytest.raises(ConfigError, match=r"\(m1/d2\): nwb file 'missing.nwb' does not exist"):
        load_cohort(*_write_cohort(tmp_path, sessions, GOOD_VIDEOS), schemas)


def test_unknown_column_is_refused(tmp_path: Path, schemas: Path) -> None:
    videos = GOOD_VIDEOS.replace("video\n", "video\tcamra\n").replace(".mp4\n", ".mp4\tx\n")
    with pytest.raises(ConfigError, match=r"videos.tsv row 2: unknown key\(s\) \['camra'\]"):
        load_cohort(*_write_cohort(tmp_path, GOOD_SESSIONS, videos), schemas)


def test_bad_id_is_refused(tmp_path: Path, schemas: Path) -> None:
    sessions = GOOD_SESSIONS.replace("m1\td2", "m1\td 2")
    with pytest.raises(ConfigError, match=r"row 3: 'session' = 'd 2' is invalid"):
        load_cohort(*_write_cohort(tmp_path, sessions, GOOD_VIDEOS), schemas)


def test_video_of_unknown_session_and_session_without_video(tmp_path: Path, schemas: Path) -> None:
    videos = GOOD_VIDEOS + "m2\td1\tcamA\tv1.mp4\n"
    with pytest.raises(ConfigError, match=r"videos of sessions \['m2/d1'\]"):
        load_cohort(*_write_cohort(tmp_path, GOOD_SESSIONS, videos), schemas)
    videos = "subject\tsession\tcamera\tvideo\nm1\td1\tcamA\tv1.mp4\n"
    with pytest.raises(ConfigError, match=r"sessions \['m1/d2'\] have no video"):
        load_cohort(*_write_cohort(tmp_path, GOOD_SESSIONS, videos), schemas)


def test_missing_sheet_says_what_to_do(tmp_path: Path, schemas: Path) -> None:
    with pytest.raises(ConfigError, match="sessions sheet .* does not exist. Set cohort.sessions"):
        load_cohort(tmp_path / "nope.tsv", tmp_path / "v.tsv", schemas)


def test_excluded_sessions_leave_the_cohort_and_typos_are_named(
    tmp_path: Path, schemas: Path
) -> None:
    cohort = load_cohort(*_write_cohort(tmp_path, GOOD_SESSIONS, GOOD_VIDEOS), schemas)
    kept = cohort.without(["m1/d1"])
    assert kept.session_keys() == [("m1", "d2")]
    assert kept.cameras("m1", "d1") == [] and list(kept.videos["session"]) == ["d2"]
    assert kept.session("m1", "d2")["nwb"] == str((tmp_path / "b.nwb").resolve())
    assert cohort.without([]) is cohort
    with pytest.raises(ConfigError, match=r"cohort.exclude: \['m1/d9'\] are not sessions"):
        cohort.without(["m1/d9"])
    config = {"cohort": {"exclude": ["m1-d1"]}}  # not subject/session
    with pytest.raises(ConfigError, match=r"'cohort.exclude.0' = 'm1-d1' is invalid"):
        validate_config(config, schemas / "config.schema.yaml")
