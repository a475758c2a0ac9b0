"""A folder as one uncompressed ``.tar`` file, and back: how a rule caches a folder output.

Snakemake's between-workflow cache holds files: Snakemake 9.15 restores a cached *directory*
with the first run's ``.snakemake_timestamp`` (snakemake/snakemake#3097), so in a second cohort
folder whose inputs are newer the restored folder looks older than them ("clock skew", then a
rerun every time). So the cached rules (``pose2d_train``, ``latents_fit``) write an archive and
an unpack rule (``pose2d_unpack``, ``latents_unpack``) makes the folder the other rules read.
``latents_fit``'s archive is also what keeps planning linear in sessions: one output per model,
where a file per session, read by each session's ``neural_nwb``, made the DAG build quadratic.
Packing and unpacking are whole or not at all; archives are not compressed (float weights and
arrays barely compress, and packing stays a matter of seconds).
"""

from __future__ import annotations

import logging
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from brainbehave.atomic import atomic_path
from brainbehave.errors import InputDataError

logger = logging.getLogger(__name__)


def check_member(name: str) -> str:
    """``name`` if it is a relative path inside the archived folder.

    Raises
    ------
    ValueError
        For an absolute name or one with ``..`` (it would be written outside the folder).
    """
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ValueError(
            f"File name {name!r} must be a relative path inside the archived folder "
            "(built from Paths, e.g. Paths.latents_fit_dir / latents_model / latents_embedding)."
        )
    return name


@contextmanager
def packed_to(archive: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder; packed to ``archive`` if the block succeeds.

    The archive appears whole or not at all (a failed or killed job leaves none); the folder
    lies beside the archive (same disk) and is removed in any case.
    """
    archive = Path(archive)
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{archive.stem}.", dir=archive.parent) as tmp:
        yield Path(tmp)
        pack_folder(tmp, archive)


def pack_folder(folder: str | os.PathLike, archive: str | os.PathLike) -> None:
    """Write the folder's entries (sorted, names relative to it) to ``archive`` atomically."""
    folder = Path(folder)
    with atomic_path(archive) as tmp, tarfile.open(tmp, "w") as tar:
        for entry in sorted(folder.iterdir()):
            tar.add(entry, arcname=entry.name)
    logger.info("packed %s into %s (%.1f MB)", folder, archive, Path(archive).stat().st_size / 1e6)


def unpack_folder(
    archive: str | os.PathLike,
    folder: str | os.PathLike,
    rerun: str,
    required: Sequence[str] = (),
    finish: Callable[[Path], None] | None = None,
) -> None:
    """Unpack ``archive`` to ``folder`` (replaced if it exists), whole or not at all.

    The archive is unpacked beside ``folder`` and renamed onto it once complete.

    Parameters
    ----------
    rerun
        The rule that writes the archive, named in the errors (delete it and run that rule).
    required
        Names the archive must hold.
    finish
        Called on the unpacked folder before it is renamed into place (checks, fixes).

    Raises
    ------
    InputDataError
        The archive is not a tar file or lacks a required name.
    """
    archive, folder = Path(archive), Path(folder).absolute()
    if not tarfile.is_tarfile(archive):
        raise InputDataError(f"{archive} is not a tar archive; delete it and run {rerun} again.")
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{folder.name}.", dir=folder.parent) as tmp:
        unpacked = Path(tmp) / folder.name
        with tarfile.open(archive) as tar:
            if missing := sorted(set(required) - set(tar.getnames())):
                raise InputDataError(
                    f"{archive} lacks {len(missing)} of the files it should hold ({missing[:3]}"
                    f"...); delete it and run {rerun} again."
                )
            tar.extractall(unpacked, filter="data")  # refuses absolute paths and links out
        if finish is not None:
            finish(unpacked)
        if folder.exists():  # Snakemake clears its outputs before a job; a direct call may not
            shutil.rmtree(folder)
        os.replace(unpacked, folder)
    logger.info("unpacked %s to %s", archive, folder)
