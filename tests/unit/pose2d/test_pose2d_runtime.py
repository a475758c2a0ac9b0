"""Mixed-precision training forward: bfloat16 inside the network, float32 out of it."""

from __future__ import annotations

import torch

from brainbehave.pose2d.runtime import _bfloat16_forward, training_runtime


def test_the_forward_runs_in_bfloat16_and_returns_float32() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
    inner: list[torch.dtype] = []
    net[0].register_forward_hook(lambda module, args, out: inner.append(out.dtype))

    def forward(x: torch.Tensor) -> dict:
        y = net(x)
        return {"bodypart": {"heatmap": y, "count": 3}, "list": [y, y.sum()]}

    x = torch.rand(2, 3, 16, 16)
    out = _bfloat16_forward(forward, "cpu")(x)
    assert inner == [torch.bfloat16]
    assert out["bodypart"]["heatmap"].dtype == torch.float32 and out["bodypart"]["count"] == 3
    assert [v.dtype for v in out["list"]] == [torch.float32, torch.float32]
    # close to the float32 forward (bfloat16 keeps ~3 significant digits)
    full = net(x)
    assert torch.allclose(out["bodypart"]["heatmap"], full, atol=0.05, rtol=0.02)
    # gradients reach the float32 weights in float32
    out["bodypart"]["heatmap"].sum().backward()
    assert net[0].weight.grad is not None and net[0].weight.grad.dtype == torch.float32


def test_nothing_is_patched_when_both_are_off() -> None:
    with training_runtime(autocast=False, channels_last=False):
        import deeplabcut.pose_estimation_pytorch.apis.training as dlc_training

        assert dlc_training.build_training_runner.__name__ == "build_training_runner"
