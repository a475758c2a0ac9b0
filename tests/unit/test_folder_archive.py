"""A folder as one archive (the latent fit's, the DeepLabCut model's): written whole or not at
all, unpacked whole to the folder the rules read."""

from __future__ import annotations

import tarfile

import pytest

from brainbehave.errors import InputDataError
from brainbehave.folder_archive import check_member, packed_to, unpack_folder


def test_archive_unpacks_to_the_same_files_and_replaces_an_old_folder(tmp_path):
    archive = tmp_path / "m" / "fit.tar"
    with packed_to(archive) as folder:
        (folder / "model.pt").write_bytes(b"weights")
        (folder / "rat01.ses01.embedding.nc").write_bytes(b"embedding")
    assert sorted(p.name for p in archive.parent.iterdir()) == ["fit.tar"]  # no temp folder
    out = tmp_path / "m" / "fit"
    out.mkdir()
    (out / "stale.nc").write_bytes(b"old")  # e.g. from a fit over other sessions
    unpack_folder(archive, out, "latents_fit", ["model.pt", "rat01.ses01.embedding.nc"])
    assert sorted(p.name for p in out.iterdir()) == ["model.pt", "rat01.ses01.embedding.nc"]
    assert (out / "model.pt").read_bytes() == b"weights"
    assert sorted(p.name for p in out.parent.iterdir()) == ["fit", "fit.tar"]


def test_a_failed_block_leaves_no_archive_and_keeps_the_old_one(tmp_path):
    archive = tmp_path / "fit.tar"
    with packed_to(archive) as folder:
        (folder / "model.pt").write_bytes(b"first")
    with pytest.raises(RuntimeError, match="killed"), packed_to(archive) as folder:
        (folder / "model.pt").write_bytes(b"second")
        raise RuntimeError("killed mid-write")
    with tarfile.open(archive) as tar:
        assert tar.extractfile("model.pt").read() == b"first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.tar"]


def test_unpack_names_the_archive_when_it_is_not_a_fit_of_these_sessions(tmp_path):
    archive = tmp_path / "fit.tar"
    with packed_to(archive) as folder:
        (folder / "model.pt").write_bytes(b"weights")
    with pytest.raises(
        InputDataError, match=r"fit.tar lacks 1 of the files it should hold.*run latents_fit"
    ):
        required = ["model.pt", "rat02.ses01.embedding.nc"]
        unpack_folder(archive, tmp_path / "fit", "latents_fit", required)
    assert not (tmp_path / "fit").exists()
    (tmp_path / "broken.tar").write_bytes(b"not a tar")
    with pytest.raises(InputDataError, match="broken.tar is not a tar archive"):
        unpack_folder(tmp_path / "broken.tar", tmp_path / "fit", "latents_fit")


def test_member_names_stay_inside_the_archived_folder():
    assert check_member("rat01.ses01.embedding.nc") == "rat01.ses01.embedding.nc"
    for bad in ("/abs/model.pt", "../model.pt", ""):
        with pytest.raises(ValueError, match="relative path inside the archived folder"):
            check_member(bad)
