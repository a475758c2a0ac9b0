"""Pretrained weights: find them on disk, or fail at once with what to do (no retry loop).

DeepLabCut downloads backbone weights from the Hugging Face hub when a model is built with
a pretrained backbone, and SuperAnimal weights when a zoo model is used. Without internet the
hub client retries for ~40 s before failing with a message about network errors. These
checks run first: weights already on disk are used; otherwise, when ``HF_HUB_OFFLINE`` is set
or the hub cannot be reached within a few seconds, :class:`MissingWeightsError` says which
file is missing and how to get it.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from brainbehave.errors import BrainbehaveError

logger = logging.getLogger(__name__)

HUB_HOST = "huggingface.co"


class MissingWeightsError(BrainbehaveError, RuntimeError):
    """Pretrained weights are neither on disk nor downloadable from here."""


def hub_offline() -> bool:
    """True when the user asked the Hugging Face client to stay offline."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether the hub answers a TCP connection within `timeout_s` (no retries)."""
    if hub_offline():
        return False
    try:
        with socket.create_connection((HUB_HOST, 443), timeout=timeout_s):
            return True
    except OSError:
        return False


def _dlc_root() -> Path:
    """DeepLabCut's package folder, found without importing DeepLabCut (a 5-9 s import)."""
    spec = importlib.util.find_spec("deeplabcut")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("deeplabcut is not installed; install the pose2d environment.")
    return Path(next(iter(spec.submodule_search_locations)))


def _dlc_backbone_folder() -> Path:
    """Where DeepLabCut keeps downloaded backbone weights."""
    return _dlc_root() / "pose_estimation_pytorch" / "models" / "backbones" / "pretrained_weights"


def superanimal_folder() -> Path:
    """Where DeepLabCut keeps SuperAnimal weights (``modelzoo/checkpoints``)."""
    return _dlc_root() / "modelzoo" / "checkpoints"


def _backbone_weight_file(backbone: Mapping[str, Any]) -> tuple[Path | None, str]:
    """Where DeepLabCut keeps the backbone's pretrained weights, and a name for messages."""
    kind = str(backbone.get("type", ""))
    name = str(backbone.get("model_name", kind))
    if kind == "CSPNeXt":
        folder = backbone.get("backbone_weight_folder") or _dlc_backbone_folder()
        return Path(folder) / f"{name}.pt", f"DeepLabCut/DeepLabCut-Backbones/{name}.pt"
    try:  # timm backbones (ResNet, HRNet, ...): timm's Hugging Face cache
        import huggingface_hub
        import timm

        hub_id = timm.models.get_pretrained_cfg(name).hf_hub_id
    except (ImportError, AttributeError, RuntimeError):
        return None, name
    if not hub_id:
        return None, name
    for filename in ("model.safetensors", "pytorch_model.bin"):
        cached = huggingface_hub.try_to_load_from_cache(hub_id, filename)
        if isinstance(cached, str):
            return Path(cached), f"{hub_id}/{filename}"
    return None, f"{hub_id} (timm)"


def check_backbone_weights(backbone: Mapping[str, Any], net_type: str) -> None:
    """Refuse, at once, a pretrained backbone whose weights cannot be had.

    Raises
    ------
    MissingWeightsError
        Weights not on disk and the hub unreachable (or ``HF_HUB_OFFLINE`` set).
    """
    path, what = _backbone_weight_file(backbone)
    if path is not None and path.is_file():
        logger.info("pretrained backbone weights for %s found at %s", net_type, path)
        return
    if hub_reachable():
        logger.info("pretrained weights %s not on disk; DeepLabCut will download them", what)
        return
    where = f" to {path}" if path is not None else ""
    raise MissingWeightsError(
        f"pose2d.train.init is 'pretrained' but the ImageNet weights of {net_type!r} ({what}) "
        f"are not on this machine and {HUB_HOST} cannot be reached"
        f"{' (HF_HUB_OFFLINE is set)' if hub_offline() else ''}. Either download them once on "
        f"a machine with internet{where} (e.g. run the same training there, or "
        "`huggingface-cli download`), or set pose2d.train.init: scratch, which trains from "
        "random weights offline (needs more epochs)."
    )


def check_superanimal_weights(superanimal: str, model_name: str, detector: str | None) -> None:
    """Refuse, at once, a SuperAnimal model whose weights are not on disk and not downloadable."""
    folder = superanimal_folder()
    wanted = [f"{superanimal}_{model_name}.pt"]
    if detector:
        wanted.append(f"{superanimal}_{detector}.pt")
    missing = [w for w in wanted if not (folder / w).is_file()]
    if not missing or hub_reachable():
        return
    raise MissingWeightsError(
        f"SuperAnimal weights {missing} are not in {folder} and {HUB_HOST} cannot be reached"
        f"{' (HF_HUB_OFFLINE is set)' if hub_offline() else ''}. Run the pipeline once with "
        "internet (DeepLabCut downloads them there), or copy those files into that folder, or "
        "use pose2d.method: train with your own labelled frames."
    )
