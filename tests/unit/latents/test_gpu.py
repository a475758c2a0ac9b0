"""The latent models on a CUDA GPU follow the same fits on the CPU (skipped without a GPU).

The batches are drawn on the CPU (numpy) and the initial weights from a CPU generator, so a
fit on the GPU sees the same numbers as one on the CPU; only float rounding differs (TF32 is
switched off here so that it stays at rounding). ``device_follows_cpu`` holds the checks;
the ``gpu`` test runs them on "cuda", the CPU test on "cpu" (which checks the checks).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from brainbehave.latents import ContrastiveEmbedding, PoissonVAE


def device_follows_cpu(device: str, data, force_pass, tmp_path: Path) -> None:
    x, pos = data
    for path in ("whole", "input", "windows"):  # every way `Encoder.embed_bins` encodes
        force_pass(path)
        for conditional in ("time", "behaviour", "hybrid"):
            kw = {"conditional": conditional, "steps": 15, "batch_size": 64, "seed": 5}
            y = None if conditional == "time" else pos
            cpu = ContrastiveEmbedding(device="cpu", **kw, learning_rate=1e-2).fit(x, y)
            dev = ContrastiveEmbedding(device=device, **kw, learning_rate=1e-2).fit(x, y)
            assert dev.device_.type == device
            np.testing.assert_allclose(dev.loss_history_, cpu.loss_history_, rtol=1e-3)
            np.testing.assert_allclose(dev.transform(x), cpu.transform(x), atol=1e-3)
    dev.save(tmp_path / "model.pt")  # a model fitted on the device embeds on the CPU
    loaded = ContrastiveEmbedding.load(tmp_path / "model.pt", device="cpu")
    np.testing.assert_allclose(loaded.transform(x), dev.transform(x), atol=1e-4)
    kw = {"steps": 15, "batch_size": 64, "learning_rate": 1e-2, "seed": 1}
    cpu_vae = PoissonVAE(device="cpu", **kw).fit(x, pos)
    dev_vae = PoissonVAE(device=device, **kw).fit(x, pos)
    np.testing.assert_allclose(dev_vae.loss_history_, cpu_vae.loss_history_, rtol=1e-3)
    np.testing.assert_allclose(dev_vae.transform(x), cpu_vae.transform(x), atol=1e-3)


@pytest.fixture
def no_tf32(monkeypatch):
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)


@pytest.mark.gpu
def test_fits_on_the_gpu_follow_the_cpu(data, force_pass, tmp_path, no_tf32):
    device_follows_cpu("cuda", data, force_pass, tmp_path)


def test_the_device_checks_hold_on_the_cpu(data, force_pass, tmp_path):
    device_follows_cpu("cpu", data, force_pass, tmp_path)
