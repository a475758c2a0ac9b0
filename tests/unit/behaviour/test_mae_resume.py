"""A training job killed after a checkpoint resumes and ends where an uninterrupted one does."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from behaviour_lab import lab_session

from brainbehave.behaviour.features import pose_view
from brainbehave.behaviour.mae import BehaviourMAE, mae_inputs
from brainbehave.behaviour.mae_config import MAEConfig

CFG = MAEConfig(
    window=96,
    dims=(8, 16, 16),
    depths=(1, 1, 1),
    heads=(2, 2, 2),
    decoder_dim=8,
    batch_size=4,
    steps=150,
)

# The job that gets killed: the same training, in its own process, checkpointing often.
JOB = textwrap.dedent(
    """
    import sys, torch
    sys.path.insert(0, {tests!r})
    from behaviour_lab import lab_session
    from brainbehave.behaviour.features import pose_view
    from brainbehave.behaviour.mae import BehaviourMAE, mae_inputs
    from brainbehave.behaviour.mae_config import MAEConfig
    torch.set_num_threads(1)
    inputs = [mae_inputs(pose_view(lab_session(8.0, key=k)[0])) for k in range(2)]
    BehaviourMAE(MAEConfig(**{cfg!r})).fit(inputs, 30.0, checkpoint={ckpt!r}, checkpoint_every=5)
    """
)


def _cfg_kwargs() -> dict:
    return {k: v for k, v in CFG.__dict__.items()}


def _kill_after_first_checkpoint(ckpt: Path) -> int:
    """Start the job, SIGKILL it once a checkpoint exists; the checkpoint's step."""
    code = JOB.format(tests=str(Path(__file__).parent), cfg=_cfg_kwargs(), ckpt=str(ckpt))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not ckpt.is_file():
        if proc.poll() is not None:
            pytest.fail(f"training job ended before a checkpoint: {proc.stderr.read().decode()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("no checkpoint within 120 s")
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    return int(torch.load(ckpt, weights_only=False)["step"])


@pytest.mark.slow  # starts a second Python process (imports torch)
def test_killed_training_resumes_from_its_checkpoint_to_the_same_model(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    torch.set_num_threads(1)
    ckpt = tmp_path / "checkpoint.pt"
    killed_at = _kill_after_first_checkpoint(ckpt)
    assert 0 < killed_at < CFG.steps, "the job must die part-way through training"

    inputs = [mae_inputs(pose_view(lab_session(8.0, key=k)[0])) for k in range(2)]
    with caplog.at_level(logging.INFO, logger="brainbehave.behaviour.mae"):
        resumed = BehaviourMAE(CFG).fit(inputs, 30.0, checkpoint=ckpt, checkpoint_every=5)
    assert f"at step {killed_at}" in caplog.text
    full = BehaviourMAE(CFG).fit(inputs, 30.0)

    assert resumed.n_steps_ == full.n_steps_ == CFG.steps
    assert np.allclose(resumed.history_, full.history_, rtol=1e-5, atol=1e-6)
    a, b = resumed.model_.state_dict(), full.model_.state_dict()
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)
    assert int(torch.load(ckpt, weights_only=False)["step"]) == CFG.steps
