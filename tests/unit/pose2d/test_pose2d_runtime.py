"""Mixed-precision training forward (bfloat16 inside, float32 out); batch norms folded."""

from __future__ import annotations

import pytest
import torch

from brainbehave.pose2d.runtime import _bfloat16_forward, fold_batch_norms, training_runtime


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


def _conv_blocks(norm: str) -> torch.nn.Module:
    """DeepLabCut's CSPNeXt conv-norm-activation blocks, with trained-looking norm statistics."""
    from deeplabcut.pose_estimation_pytorch.models.modules.csp import CSPConvModule

    torch.manual_seed(1)
    net = torch.nn.Sequential(
        CSPConvModule(3, 8, 3, padding=1, norm_layer=norm, activation_fn="SiLU"),
        CSPConvModule(8, 8, 3, stride=2, groups=8, norm_layer=norm, activation_fn="SiLU"),
        CSPConvModule(8, 4, 1, norm_layer=None, activation_fn=None),  # no norm: left alone
    )
    for module in net.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)
    return net


@pytest.mark.parametrize("norm", ["SyncBN", "BN"])
def test_folded_batch_norms_give_the_same_outputs(norm: str) -> None:
    net = _conv_blocks(norm).eval()
    x = torch.rand(2, 3, 20, 16)
    with torch.no_grad():
        before = net(x)
        assert fold_batch_norms(net) == 2
        after = net(x)
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in net.modules())
    torch.testing.assert_close(after, before, rtol=1e-5, atol=1e-5)


def test_a_model_in_training_mode_is_not_folded() -> None:
    net = _conv_blocks("BN").train()
    assert fold_batch_norms(net) == 0
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules()) == 2
