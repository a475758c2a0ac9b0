"""Convolutional encoders with a temporal receptive field, and the registry that names them.

An encoder maps a window of ``receptive_field`` time bins (batch, units, window) to one
embedding per window (batch, output_dim). Run on a whole padded session (1, units, T + R - 1)
it gives all T embeddings in one pass. Multi-session encoders keep one input layer per
session (neuron counts may differ) in front of one shared trunk: one embedding space.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from brainbehave.errors import InputDataError

ModelFactory = Callable[..., "Encoder"]
MODELS: dict[str, ModelFactory] = {}
# How much faster per multiply-accumulate the input layer runs as matrix products over a whole
# session than as convolutions of gathered windows, forward and backward (Encoder.pass_costs).
# Measured, one thread, offset10 with 100 units, 1,536 windows: 16,009 bins 16.5-16.8 ->
# 14.1-15.2 ms a step by the matrix products; 40,009 bins 15.7-16.9 -> 18.8-20.4 ms (the
# crossover near 25,000 bins, where the estimate with 1.5 puts it at 21,000: the safe side).
INPUT_GEMM_SPEEDUP = 1.5


def register(name: str) -> Callable[[ModelFactory], ModelFactory]:
    """Add an encoder factory to :data:`MODELS` under ``name`` (the config string)."""

    def add(factory: ModelFactory) -> ModelFactory:
        if name in MODELS:
            raise ValueError(f"A model named {name!r} is already registered.")
        MODELS[name] = factory
        return factory

    return add


def get_model(name: str) -> ModelFactory:
    """The factory registered as ``name``; the error lists the known names."""
    if name not in MODELS:
        raise KeyError(f"Unknown latent model architecture {name!r}; known: {sorted(MODELS)}.")
    return MODELS[name]


class _Residual(nn.Module):
    """``x + f(x)`` with the input cropped to the output's (shorter) length."""

    def __init__(self, width: int, kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(width, width, kernel)
        self.crop = kernel - 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = nn.functional.gelu(self.conv(x))
        left = self.crop // 2
        return x[..., left : left + out.shape[-1]] + out


class Encoder(nn.Module):
    """Input layer(s) → residual conv trunk → conv head → optional L2 normalisation.

    Parameters
    ----------
    n_inputs
        Units per session (one entry per session; one input layer each).
    hidden
        Channels of the trunk.
    output_dim
        Embedding dimension.
    input_kernel, trunk_kernels, head_kernel
        Kernel sizes: the receptive field is
        ``input_kernel + sum(k - 1 for trunk) + head_kernel - 1``.
    normalize
        L2-normalise embeddings (cosine similarity); off for Euclidean / generative heads.
    """

    def __init__(
        self,
        n_inputs: Sequence[int],
        hidden: int,
        output_dim: int,
        input_kernel: int,
        trunk_kernels: Sequence[int],
        normalize: bool = True,
        head_kernel: int = 1,
    ) -> None:
        super().__init__()
        self.inputs = nn.ModuleList(nn.Conv1d(n, hidden, input_kernel) for n in n_inputs)
        self.trunk = nn.Sequential(*(_Residual(hidden, k) for k in trunk_kernels))
        self.head = nn.Conv1d(hidden, output_dim, head_kernel)
        self.normalize = normalize
        self.n_inputs = tuple(int(n) for n in n_inputs)
        self.output_dim = int(output_dim)
        self.receptive_field = int(
            input_kernel + sum(k - 1 for k in trunk_kernels) + head_kernel - 1
        )
        self._kernels = (int(input_kernel), *(int(k) for k in trunk_kernels))
        self._head_kernel = int(head_kernel)
        self._hidden = int(hidden)

    @property
    def left(self) -> int:
        """Bins of context before the embedded bin (the rest of the window lies after it)."""
        return (self.receptive_field - 1) // 2

    def macs(self, length: int, session: int = 0) -> int:
        """Multiply-accumulates of one forward pass over ``length`` bins (counting the weights).

        ``macs(receptive_field)`` is the cost of one window; ``macs(T + receptive_field - 1)``
        the cost of a whole padded session of T bins (each bin's embedding at once).
        """
        hidden = self._hidden
        out = length - self._kernels[0] + 1
        total = out * self.n_inputs[session] * hidden * self._kernels[0]
        for k in self._kernels[1:]:
            out -= k - 1
            total += out * hidden * hidden * k
        out -= self._head_kernel - 1
        return total + out * hidden * self.output_dim * self._head_kernel

    def forward(self, x: torch.Tensor, session: int = 0) -> torch.Tensor:
        """(batch, units, window) → (batch, output_dim, window - receptive_field + 1)."""
        return self._trunk_and_head(self.inputs[session](x))

    def _trunk_and_head(self, h: torch.Tensor) -> torch.Tensor:
        """The encoder after its input layer: (batch, hidden, L) before the GELU → embeddings."""
        z = self.head(self.trunk(nn.functional.gelu(h)))
        return nn.functional.normalize(z, dim=1) if self.normalize else z

    def pass_costs(self, length: int, n: int, session: int = 0) -> dict[str, float]:
        """Estimated cost (multiply-accumulates) of each way :meth:`embed_bins` can encode
        ``n`` windows of a padded session of ``length`` bins.

        ``whole``: every layer over the whole session. ``input``: the input layer over the
        whole session as matrix products, the rest over the windows. ``windows``: every layer
        over the windows. The input layer's matrix products over the session are counted at
        1/:data:`INPUT_GEMM_SPEEDUP` of their multiply-accumulates (they are that much faster
        per multiply-accumulate than the windows' gather and small convolutions).
        """
        rf, k = self.receptive_field, self._kernels[0]
        per_bin = self.n_inputs[session] * self._hidden * k  # the input layer, one output bin
        window = self.macs(rf, session)
        return {
            "whole": float(self.macs(length, session)),
            "input": (length - k + 1) * per_bin / INPUT_GEMM_SPEEDUP
            + n * (window - (rf - k + 1) * per_bin),
            "windows": float(n * window),
        }

    def choose_pass(self, length: int, n: int, session: int = 0) -> str:
        """The cheapest of :meth:`pass_costs` (ties: whole, then input, then windows)."""
        costs = self.pass_costs(length, n, session)
        return min(costs, key=costs.__getitem__)

    def whole_session(
        self, padded: torch.Tensor, n_max: int, session: int = 0
    ) -> torch.Tensor | None:
        """``padded`` as the contiguous (1, units, length) input of the whole-session pass, for
        callers that embed the session many times; None when batches of up to ``n_max`` windows
        never take that pass (fewer windows make it no cheaper), so no copy of the session is
        kept for nothing."""
        if self.choose_pass(len(padded), n_max, session) != "whole":
            return None
        return padded.T.contiguous()[None]

    def embed_bins(
        self,
        padded: torch.Tensor,
        index: torch.Tensor,
        session: int = 0,
        whole: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Embeddings (n, output_dim) of the windows centred on ``index`` of a padded session.

        ``padded`` is the session (T + receptive_field - 1, units), edge-padded; ``whole``
        optionally the same as a contiguous (1, units, T + receptive_field - 1) tensor, kept
        by callers that embed the session many times (else made here when needed). Three ways
        to the same numbers (equal up to float rounding; :meth:`choose_pass` picks one by
        sizes only, so a seed still fixes the fit):

        - ``whole``: a convolution over the whole session shares every intermediate bin between
          neighbouring windows, so it wins when the batch covers the session densely (short
          sessions, big batches);
        - ``input``: the input layer over the whole session as one matrix product per kernel
          tap, then the windows of its output through the rest. It reads the session where it
          lies (no gathered copy of the raw windows), and its weight gradient is a matrix
          product too; it wins when the batch's windows cover a fair part of the session;
        - ``windows``: the n windows gathered and encoded as a batch (long sessions).
        """
        rf = self.receptive_field
        way = self.choose_pass(len(padded), len(index), session)
        if way == "whole":
            whole = padded.T.contiguous()[None] if whole is None else whole
            return self(whole, session)[0][:, index].T
        if way == "input":
            conv, k = self.inputs[session], self._kernels[0]
            length = len(padded) - k + 1
            # (length, hidden), time-major: bias + sum over taps of the shifted session @ W_tap
            h = conv.bias
            for tap in range(k):
                h = torch.addmm(h, padded[tap : tap + length], conv.weight[:, :, tap].T)
            span = rf - k + 1  # the input layer's output bins of one window
            rows = (index[:, None] + torch.arange(span, device=index.device)).reshape(-1)
            h = h.index_select(0, rows).view(len(index), span, -1).transpose(1, 2)
            return self._trunk_and_head(h.contiguous())[..., 0]
        # (n, units, window): one gather from a strided view of the windows. The gather keeps
        # the view's time-major strides; made contiguous once here, the convolution neither
        # copies it in its forward nor again in its backward (1,536 windows of 100 units, one
        # thread: 20.1-20.5 -> 17.4-17.6 ms forward and backward).
        return self(padded.unfold(0, rf, 1)[index].contiguous(), session)[..., 0]


@register("offset10")
def offset10(
    n_inputs: Sequence[int], output_dim: int, hidden: int = 32, normalize: bool = True
) -> Encoder:
    """Receptive field of 10 bins: cebra's offset10-model layout (kernel 2, three residual
    kernel-3 blocks, kernel-3 head; GELU after the input layer and in each block).

    The same layout as cebra's, weight for weight (``test_cebra_parity.py``). Our earlier
    layout (four blocks, 1x1 head), with zero biases and weights drawn straight after seeding,
    decoded worse than cebra over 48 seeds (issue #7; README, *Parity with cebra*).
    """
    return Encoder(n_inputs, hidden, output_dim, 2, (3, 3, 3), normalize, head_kernel=3)


@register("offset20")
def offset20(
    n_inputs: Sequence[int], output_dim: int, hidden: int = 32, normalize: bool = True
) -> Encoder:
    """Receptive field of 20 bins (kernel 2, then nine residual kernel-3 blocks)."""
    return Encoder(n_inputs, hidden, output_dim, 2, (3,) * 9, normalize)


@register("offset5")
def offset5(
    n_inputs: Sequence[int], output_dim: int, hidden: int = 32, normalize: bool = True
) -> Encoder:
    """Receptive field of 5 bins (kernel 2, then kernel-3 and kernel-2 residual blocks)."""
    return Encoder(n_inputs, hidden, output_dim, 2, (3, 2), normalize)


@register("offset1")
def offset1(
    n_inputs: Sequence[int], output_dim: int, hidden: int = 32, normalize: bool = True
) -> Encoder:
    """One bin, no temporal context: a per-bin multilayer perceptron written as 1x1 convs."""
    return Encoder(n_inputs, hidden, output_dim, 1, (1, 1), normalize)


def init_generator(seed: int) -> torch.Generator:
    """The generator a fit draws its initial weights from, for an integer ``seed``.

    torch's generator is seeded through numpy's ``SeedSequence``, which spreads small
    consecutive seeds over the whole seed space. Weights drawn straight after
    ``manual_seed(0..47)`` gave more failed fits in behaviour mode: 12 of 48 seeds below kNN
    R² 0.15 with seed consistency 0.81, against 6 of 48 and 0.85 when mixed. cebra's offset10
    layout was used in both, 5k frames, 300 steps (issue #7; README, *Parity with cebra*).
    """
    mixed = np.random.SeedSequence(int(seed)).generate_state(1, np.uint64)[0]
    return torch.Generator().manual_seed(int(mixed >> np.uint64(1)))


def init_weights(model: nn.Module, generator: torch.Generator) -> None:
    """Redraw every conv/linear weight and bias from ``generator`` (global RNG untouched).

    PyTorch's default initialisation (as cebra's models keep it): weights Kaiming-uniform with
    ``a = sqrt(5)``, biases uniform in ±1/sqrt(fan_in).
    """
    for module in model.modules():
        if isinstance(module, (nn.Conv1d, nn.Linear)):
            nn.init.kaiming_uniform_(module.weight, a=5**0.5, generator=generator)
            if module.bias is not None:
                fan_in = module.weight[0].numel()
                bound = 1 / fan_in**0.5 if fan_in else 0.0
                nn.init.uniform_(module.bias, -bound, bound, generator=generator)


def load_weights(module: nn.Module, state_dict: dict, what: str) -> None:
    """``module.load_state_dict`` with an error that says what to do when the layout differs."""
    try:
        module.load_state_dict(state_dict)
    except RuntimeError as err:
        raise InputDataError(
            f"{what}: the saved weights do not fit this version's encoder (offset10 now has "
            "cebra's layout: models saved before that change must be refit; rerun latents_fit)."
            f" PyTorch said: {str(err).splitlines()[0]}"
        ) from err
