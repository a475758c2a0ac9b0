"""How DeepLabCut's network runs on this machine: memory layout and numeric precision.

DeepLabCut builds its models and runners inside ``train_network`` and ``analyze_videos`` and
has no setting for channels-last layout, nor for mixed precision in training. These context
managers wrap its runner factories for the duration of one call, so the settings apply to
the model DeepLabCut itself builds; nothing stays patched after the call.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def channels_last_inference(enabled: bool) -> Iterator[None]:
    """While open, DeepLabCut's pose inference runners hold their model channels-last."""
    if not enabled:
        yield
        return
    import torch
    from deeplabcut.pose_estimation_pytorch.apis import utils as dlc_utils

    original = dlc_utils.get_pose_inference_runner

    def channels_last_runner(*args, **kwargs):
        runner = original(*args, **kwargs)
        runner.model.to(memory_format=torch.channels_last)
        logger.info("inference model in channels-last memory layout")
        return runner

    dlc_utils.get_pose_inference_runner = channels_last_runner
    try:
        yield
    finally:
        dlc_utils.get_pose_inference_runner = original


@contextlib.contextmanager
def training_runtime(autocast: bool, channels_last: bool) -> Iterator[None]:
    """While open, the model DeepLabCut trains runs in mixed precision and/or channels-last.

    ``autocast``: the backbone (nearly all of the compute) runs under ``torch.autocast`` in
    bfloat16 and its features are cast back to float32; the heads that predict heatmaps and
    location offsets run in float32, and so do targets, losses, gradients, the optimizer and
    the saved weights (bfloat16 has float32's range: no loss scaling). Measured on the demo's
    cspnext_s (batch 8, 128x128 crops, two threads, channels-last): 118 ms per step in float32,
    88 ms with the backbone in bfloat16, 86 ms with the whole forward. The same forward serves
    DeepLabCut's validation during training. ``channels_last``: the weights are held in NHWC
    layout.
    """
    if not (autocast or channels_last):
        yield
        return
    import torch
    from deeplabcut.pose_estimation_pytorch.apis import training as dlc_training

    original = dlc_training.build_training_runner

    def runner_with_runtime(*args: Any, **kwargs: Any):
        model = kwargs["model"]
        if channels_last:
            model.to(memory_format=torch.channels_last)
        if autocast:
            backbone = model.backbone
            backbone.forward = _bfloat16_forward(backbone.forward, str(kwargs.get("device", "cpu")))
        logger.info(
            "training the network%s%s",
            " in mixed precision (bfloat16 backbone, float32 heads)" if autocast else "",
            " in channels-last memory layout" if channels_last else "",
        )
        return original(*args, **kwargs)

    dlc_training.build_training_runner = runner_with_runtime
    try:
        yield
    finally:
        dlc_training.build_training_runner = original


def _bfloat16_forward(forward: Any, device: str) -> Any:
    import torch

    device_type = "cuda" if device.startswith("cuda") else "cpu"

    def as_float32(value: Any) -> Any:
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            return value.float()
        if isinstance(value, dict):
            return {k: as_float32(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(as_float32(v) for v in value)
        return value

    def mixed_precision_forward(*args: Any, **kwargs: Any) -> Any:
        with torch.autocast(device_type, dtype=torch.bfloat16):
            out = forward(*args, **kwargs)
        return as_float32(out)

    return mixed_precision_forward
