"""Outputs appear whole or not at all: write to a temp file beside the target, then rename.

Every writer in the package goes through :func:`atomic_path`, so a crash or a killed job
never leaves a half-written file under an output's name (which Snakemake would trust).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import xarray as xr


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temp path in the target's folder; rename it onto ``path`` if the block succeeds.

    The folder is created if needed; on an exception the temp file is removed and the target
    is left as it was. ``suffix`` lets writers that look at the extension (e.g. ``.nwb``) see it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_netcdf(ds: xr.Dataset, path: str | os.PathLike, **kwargs: Any) -> None:
    """Write a dataset as netCDF (h5netcdf engine), whole or not at all."""
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf", **kwargs)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write a text file (UTF-8), whole or not at all."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
