"""A latent model's fit as one ``.tar`` file (model and every session's embeddings), and back.

``latents_fit`` declares one output per model so that planning stays linear in sessions (a
file per session, read by each session's ``neural_nwb``, made Snakemake's DAG build quadratic).
That output is this archive rather than a folder so that Snakemake's between-workflow cache
can hold it: Snakemake 9.15 restores a cached *directory* with the first run's
``.snakemake_timestamp`` (snakemake/snakemake#3097), so in a second cohort folder whose inputs
are newer the restored folder looks older than them and the job fails ("clock skew"). The
folder the other rules read is unpacked from the archive by ``latents_unpack``, as
``pose2d_unpack`` does for the DeepLabCut model. The archive is not compressed: embeddings and
binned counts are floats that compress poorly, and packing stays a matter of seconds.
"""

from __future__ import annotations

import logging
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from brainbehave.atomic import atomic_path
from brainbehave.errors import InputDataError

logger = logging.getLogger(__name__)


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
        with atomic_path(archive) as out, tarfile.open(out, "w") as tar:
            for entry in sorted(Path(tmp).iterdir()):
                tar.add(entry, arcname=entry.name)
    logger.info("packed the fit into %s (%.1f MB)", archive, archive.stat().st_size / 1e6)


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
    archive, folder = Path(archive), Path(folder)
    if not tarfile.is_tarfile(archive):
        raise InputDataError(
            f"{archive} is not a tar archive; delete it and run latents_fit again."
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{folder.name}.", dir=folder.parent) as tmp:
        unpacked = Path(tmp) / folder.name
        with tarfile.open(archive) as tar:
            if missing := sorted(set(required) - set(tar.getnames())):
                raise InputDataError(
                    f"{archive} lacks {len(missing)} of the fit's files ({missing[:3]}...): it "
                    "was written for other sessions; delete it and run latents_fit again."
                )
            tar.extractall(unpacked, filter="data")  # refuses absolute paths and links out
        if folder.exists():  # Snakemake clears its outputs before a job; a direct call may not
            shutil.rmtree(folder)
        os.replace(unpacked, folder)
    logger.info("unpacked %s to %s", archive, folder)
