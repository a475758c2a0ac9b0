"""Provenance: versions and a hash of the code a rule runs.

Snakemake reruns a rule when its params change but does not look at modules a script
imports. Rules pass :func:`code_hash` of the package modules they use as a param, so an
edit to those modules reruns exactly the rules that depend on them.
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

import brainbehave

PACKAGE_ROOT = Path(brainbehave.__file__).parent


def code_hash(modules: Iterable[str]) -> str:
    """SHA-256 (first 16 hex digits) of the source of package modules or subpackages.

    Parameters
    ----------
    modules
        Paths relative to the package root without ``.py`` (``"synth"``, ``"nwb"``);
        a subpackage counts all its ``.py`` files.
    """
    digest = hashlib.sha256()
    for name in sorted(set(modules)):
        target = PACKAGE_ROOT / name
        files = sorted(target.rglob("*.py")) if target.is_dir() else [target.with_suffix(".py")]
        if not files or not files[0].exists():
            raise FileNotFoundError(f"code_hash: no module {name!r} under {PACKAGE_ROOT}.")
        for path in files:
            digest.update(str(path.relative_to(PACKAGE_ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def versions(
    packages: Iterable[str] = ("numpy", "pynwb", "opencv-python-headless"),
) -> dict[str, str]:
    """Installed versions of brainbehave, Python and the named packages."""
    out = {"brainbehave": brainbehave.__version__, "python": platform.python_version()}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
