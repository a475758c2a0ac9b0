"""Paths come from one place; code hashes change when (and only when) the code does."""

from __future__ import annotations

from brainbehave.paths import Paths
from brainbehave.provenance import code_hash, versions


def test_paths_give_patterns_and_concrete_paths() -> None:
    p = Paths(results="res", logs="lg")
    assert p.synth_video("{subject}", "{session}", "{camera}") == (
        "res/synth/{subject}/{session}/videos/{camera}.mp4"
    )
    assert p.synth_nwb("rat01", "ses01") == "res/synth/rat01/ses01/rat01_ses01.nwb"
    assert p.session_log("synth_session", "rat01", "ses01") == "lg/synth_session/rat01/ses01.log"


def test_code_hash_is_stable_and_module_specific() -> None:
    assert code_hash(["synth"]) == code_hash(["synth"])
    assert code_hash(["synth"]) != code_hash(["config"])
    assert len(code_hash(["paths", "config"])) == 16


def test_versions_name_the_package() -> None:
    v = versions(["numpy"])
    assert v["brainbehave"] and v["numpy"][0].isdigit()
