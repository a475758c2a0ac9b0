"""Where torch runs: the device from a setting, and threads for independent work side by side."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import torch

from brainbehave.errors import InputDataError


def resolve_device(device: str) -> torch.device:
    """``auto`` → CUDA when present, else CPU; ``cuda`` without a GPU is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputDataError("device='cuda' was asked for, but no CUDA GPU is available.")
    return torch.device(device)


@contextlib.contextmanager
def side_by_side(threads: int, name: str) -> Iterator[ThreadPoolExecutor | None]:
    """A pool of ``threads`` threads for independent torch work, each on one intra-op thread.

    Small models gain nothing from PyTorch's intra-op threads; separate pieces of work (the
    MAE's batch slices, a model's latent fits) do, run side by side. For ``threads`` <= 1 this
    yields None and leaves torch's threads alone. While the pool is open PyTorch's intra-op
    threads are one (restored after). On exit it waits for the running work and cancels what
    has not started, so an error is not held back until every queued piece has run.
    """
    if threads <= 1:
        yield None
        return
    intra = torch.get_num_threads()
    torch.set_num_threads(1)
    pool = ThreadPoolExecutor(threads, thread_name_prefix=name)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        torch.set_num_threads(intra)
