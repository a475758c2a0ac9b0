"""A latent model's fit as one ``.tar`` file (model and every session's embeddings), and back.

``latents_fit`` declares one output per model so that planning stays linear in sessions (a
file per session, read by each session's ``neural_nwb``, made Snakemake's DAG build quadratic).
That output is this archive rather than a folder so that Snakemake's between-workflow cache
can hold it (:mod:`brainbehave.folder_archive` says why). The folder the other rules read is
unpacked from the archive by ``latents_unpack``, as ``pose2d_unpack`` does for the DeepLabCut
model.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from brainbehave.folder_archive import pack_folder, unpack_folder


def check_member(name: str) -> str:
    """``name`` if it is a relative path inside the fit folder.

    Raises
    ------
    ValueError
        For an absolute name or one with ``..`` (it would be written outside the folder).
    """
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ValueError(
            f"Fit file name {name!r} must be a relative path inside the fit folder "
            "(built from Paths.latents_fit_dir / latents_model / latents_embedding)."
        )
    return name


@contextmanager
def packed_to(archive: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder; packed to ``archive`` if the block succeeds.

    The archive appears whole or not at all (a failed or killed fit leaves none); the folder
    lies beside the archive (same disk) and is removed in any case.
    """
    archive = Path(archive)
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{archive.stem}.", dir=archive.parent) as tmp:
        yield Path(tmp)
        pack_folder(tmp, archive)


def unpack_fit(
    archive: str | os.PathLike, folder: str | os.PathLike, required: Sequence[str] = ()
) -> None:
    """Unpack a fit archive to ``folder`` (whole or not at all; replaced if it exists).

    Parameters
    ----------
    archive
        The ``.tar`` written by ``latents_fit`` (:func:`packed_to`).
    folder
        The folder to create (``Paths.latents_fit_dir``).
    required
        Names the archive must hold (the model and every session's embeddings).

    Raises
    ------
    InputDataError
        The archive is not a tar file, or lacks a required file.
    """
    unpack_folder(archive, folder, "latents_fit", required)
