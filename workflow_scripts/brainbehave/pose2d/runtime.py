"""How DeepLabCut's network runs on this machine: memory layout, numeric precision, batches.

DeepLabCut builds its models and runners inside ``train_network``, ``analyze_videos`` and
``evaluate_network`` and has no setting for channels-last layout, for mixed precision in
training, for folding batch norms at inference or for the evaluation's batch size. These
context managers wrap its runner factories for the duration of one call, so the settings apply
to the model DeepLabCut itself builds; nothing stays patched after the call.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

logger = logging.getLogger(__name__)


def inference_runtime(channels_last: bool) -> contextlib.AbstractContextManager[None]:
    """While open, DeepLabCut's pose inference runners (``analyze_videos``) hold an inference
    model: batch norms folded into their convolutions and, if asked, channels-last layout."""
    from deeplabcut.pose_estimation_pytorch.apis import utils as dlc_utils

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def prepared_runner(*args: Any, **kwargs: Any) -> Any:
            runner = original(*args, **kwargs)
            prepare_inference_model(runner.model, channels_last)
            return runner

        return prepared_runner

    return _wrapping(dlc_utils, "get_pose_inference_runner", wrap)


def evaluation_runtime(
    batch_size: int, autocast: bool, channels_last: bool
) -> contextlib.AbstractContextManager[None]:
    """While open, ``deeplabcut.evaluate_network`` runs the network as the analysis does.

    DeepLabCut evaluates one image at a time in float32 whatever the model's training: here the
    runner takes `batch_size` images at once (only for frames of one size: a batch is one
    stacked tensor), in mixed precision if `autocast`, with folded batch norms and, if asked,
    channels-last. Measured on the demo's model (cspnext_s, 360 frames 256x192, two threads):
    11-12 s -> 3.1-3.6 s, the same train/test RMSE to 0.01 px.
    """
    from deeplabcut.pose_estimation_pytorch.apis import evaluation as dlc_evaluation

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def prepared_runners(*args: Any, **kwargs: Any) -> Any:
            kwargs["batch_size"] = batch_size
            if kwargs.get("inference_cfg") is None:
                model_config = kwargs.get("model_config", args[0] if args else {})
                inference = dict(model_config.get("inference") or {})
                inference["autocast"] = {"enabled": autocast}
                kwargs["inference_cfg"] = inference
            pose_runner, detector_runner = original(*args, **kwargs)
            prepare_inference_model(pose_runner.model, channels_last)
            logger.info(
                "evaluating %d images at a time%s",
                batch_size,
                " in mixed precision" if autocast else " in float32",
            )
            return pose_runner, detector_runner

        return prepared_runners

    return _wrapping(dlc_evaluation, "get_inference_runners", wrap)


def prepare_inference_model(model: Any, channels_last: bool) -> None:
    """Fold batch norms into convolutions; hold the weights channels-last if asked."""
    import torch

    folded = fold_batch_norms(model)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    logger.info(
        "inference model: %d batch norms folded into their convolutions%s",
        folded,
        ", channels-last memory layout" if channels_last else "",
    )


def fold_batch_norms(model: Any) -> int:
    """Fold each batch norm of DeepLabCut's conv-norm-activation blocks into its convolution.

    In evaluation mode a batch norm is a fixed per-channel scale and shift, which the preceding
    convolution's weights and bias can carry: the same function with one pass over the features
    fewer (the demo's cspnext_s: 39 folds, ~7 % of a bfloat16 forward on one CPU thread;
    outputs equal to ~1e-6 in float32). Only ``CSPConvModule`` (the CSPNeXt backbones), whose
    forward is conv -> norm -> activation, is folded; other networks run as they are, and so
    does a model in training mode. Returns the number of batch norms folded.
    """
    import torch
    from deeplabcut.pose_estimation_pytorch.models.modules.csp import CSPConvModule
    from torch.nn.modules.batchnorm import _BatchNorm
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    if model.training:
        return 0
    folded = 0
    for module in model.modules():
        norm = getattr(module, "norm", None)
        if not (
            isinstance(module, CSPConvModule)
            and isinstance(norm, _BatchNorm)
            and isinstance(module.conv, torch.nn.Conv2d)
            and norm.track_running_stats
            and norm.running_mean is not None
        ):
            continue
        module.conv = fuse_conv_bn_eval(module.conv, norm)
        module.norm = torch.nn.Identity()
        folded += 1
    return folded


def training_runtime(
    autocast: bool, channels_last: bool
) -> contextlib.AbstractContextManager[None]:
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
        return contextlib.nullcontext()
    import torch
    from deeplabcut.pose_estimation_pytorch.apis import training as dlc_training

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def runner_with_runtime(*args: Any, **kwargs: Any) -> Any:
            model = kwargs["model"]
            if channels_last:
                model.to(memory_format=torch.channels_last)
            if autocast:
                backbone = model.backbone
                device = str(kwargs.get("device", "cpu"))
                backbone.forward = _bfloat16_forward(backbone.forward, device)
            logger.info(
                "training the network%s%s",
                " in mixed precision (bfloat16 backbone, float32 heads)" if autocast else "",
                " in channels-last memory layout" if channels_last else "",
            )
            return original(*args, **kwargs)

        return runner_with_runtime

    return _wrapping(dlc_training, "build_training_runner", wrap)


@contextlib.contextmanager
def _wrapping(
    module: Any, name: str, wrap: Callable[[Callable[..., Any]], Callable[..., Any]]
) -> Iterator[None]:
    """While open, ``module.name`` is ``wrap(original)``; the original is put back after."""
    original = getattr(module, name)
    setattr(module, name, wrap(original))
    try:
        yield
    finally:
        setattr(module, name, original)


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
