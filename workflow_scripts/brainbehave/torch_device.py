"""Where torch runs: the device from a setting, threads for independent work side by side, and
the optimizer every model here trains with."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
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


def adam(
    params: Iterable[torch.nn.Parameter],
    lr: float,
    weight_decay: float = 0.0,
    decoupled: bool = False,
) -> torch.optim.Optimizer:
    """torch's Adam (AdamW if ``decoupled``) with its fused kernel, on CPU and CUDA alike.

    The same update rule in one pass per weight tensor, instead of a dozen small operations per
    tensor in Python: the results equal the default implementation's up to float rounding. One
    step, one CPU thread (idle): the behaviour MAE (148 tensors, 0.45 M weights) 6.05 ms ->
    0.76 ms; the offset10 encoder 0.31 -> 0.08 ms.
    """
    optimizer = torch.optim.AdamW if decoupled else torch.optim.Adam
    return optimizer(params, lr=lr, weight_decay=weight_decay, fused=True)
