"""The trained DeepLabCut model folder as one ``.tar`` file, and back.

``pose2d_train`` declares the archive (a file) rather than the folder, so that Snakemake's
between-workflow cache can hold it: Snakemake 9.15 restores a cached *directory* with the
first run's ``.snakemake_timestamp`` (snakemake/snakemake#3097), which makes the folder look
older than its inputs (a "clock skew" error, then a retraining on every run). The folder
DeepLabCut reads is unpacked from the archive by ``pose2d_unpack`` in every cohort folder
(:mod:`brainbehave.folder_archive`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from brainbehave.errors import InputDataError
from brainbehave.folder_archive import pack_folder, unpack_folder
from brainbehave.pose2d.dlc import TrainSettings, train_model
from brainbehave.pose2d.project import set_project_path


def train_model_archive(
    project_dir: str | Path,
    archive: str | Path,
    settings: TrainSettings,
    evaluation_json: str | Path,
    **kwargs: Any,
) -> dict[str, Any]:
    """:func:`~brainbehave.pose2d.dlc.train_model` into a temporary folder, packed to ``archive``.

    Parameters
    ----------
    project_dir, settings, evaluation_json, kwargs
        As for :func:`~brainbehave.pose2d.dlc.train_model` (``work_dir`` included: a killed
        job's next run resumes there).
    archive
        The ``.tar`` to write (:func:`pack_model`).

    Returns
    -------
    dict
        What was written to ``evaluation_json``.
    """
    archive = Path(archive)
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{archive.stem}.", dir=archive.parent) as tmp:
        model_dir = Path(tmp) / archive.stem
        info = train_model(project_dir, model_dir, settings, evaluation_json, **kwargs)
        pack_model(model_dir, archive)
    return info


def pack_model(model_dir: str | Path, archive: str | Path) -> None:
    """Write the model folder's contents to an uncompressed ``.tar`` (whole or not at all).

    Parameters
    ----------
    model_dir
        A folder written by :func:`~brainbehave.pose2d.dlc.train_model`.
    archive
        The ``.tar`` to write.
    """
    pack_folder(model_dir, archive)


def unpack_model(archive: str | Path, model_dir: str | Path) -> None:
    """Unpack a :func:`pack_model` archive to ``model_dir``, pointing its project there.

    The folder is unpacked beside ``model_dir`` and renamed onto it, and ``project_path`` in its
    ``config.yaml`` becomes ``model_dir`` (DeepLabCut finds the model through it).

    Parameters
    ----------
    archive
        The ``.tar`` written by :func:`pack_model`.
    model_dir
        The folder to create (replaced if it exists).

    Raises
    ------
    InputDataError
        The archive is not a tar file or holds no DeepLabCut ``config.yaml``.
    """
    model_dir = Path(model_dir).absolute()

    def point_project_here(folder: Path) -> None:
        config = folder / "config.yaml"
        if not config.is_file():
            raise InputDataError(
                f"{archive} holds no DeepLabCut config.yaml; delete it and run pose2d_train again."
            )
        set_project_path(config, model_dir)

    unpack_folder(archive, model_dir, "pose2d_train", finish=point_project_here)
