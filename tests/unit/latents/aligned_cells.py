"""An aligned session file for the latent-model tests (imported by name, not a fixture)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from brainbehave.align import CONTRACT_VERSION, contiguous_split, save_aligned


def save_aligned_cells(path, x, pos, **variables):
    """An aligned dataset (contract of :mod:`brainbehave.align`) of counts ``x`` with the
    position as an NWB behaviour series, every bin valid, 20 % test in 10 blocks; extra
    variables (e.g. ``label_<source>_<level>``) as given. Returns ``path``."""
    n = len(x)
    t = np.arange(n) * 0.05
    ds = xr.Dataset(
        {
            "neural": (("time", "channel"), x),
            "bin_start": ("time", t - 0.025),
            "bin_stop": ("time", t + 0.025),
            "valid": ("time", np.ones(n, bool)),
            "split": ("time", contiguous_split(n, 0.2, 10)),
            "behaviour_position": (("time", "behaviour_position_dim"), pos),
            **variables,
        },
        coords={"time": t, "channel": np.arange(x.shape[1])},
        attrs={"contract_version": CONTRACT_VERSION},
    )
    save_aligned(ds, path)
    return path
