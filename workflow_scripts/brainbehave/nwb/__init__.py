"""NWB reading and writing: the one package of brainbehave where NWB code lives.

Synthetic sessions (:func:`write_synth_nwb`) hold a Units table (spike times on the neural
clock, plus a ground-truth ``kind`` column) and the camera sync TTL as an acquisition
TimeSeries. Readers open files read-only and name the file and what it holds when something
is missing.

Neural recordings are read with :func:`read_neural` (local) or :func:`read_neural_dandi`
(streamed): units with their columns, ophys traces (Fluorescence/DfOverF) and behaviour
series (Position, CompassDirection, BehavioralTimeSeries), as plain arrays. A session's
derived file (:func:`write_derived_nwb`) copies the units and adds ndx-pose pose estimation,
behaviour intervals per source and level, and the latent embeddings (``latents`` processing
module); :func:`write_session_derived_nwb` builds it from a session's pipeline files.

Determinism: the *content* of a file written from the same inputs is the same every time
(the identifier is derived from subject, session and provenance, not drawn at random), but
its *bytes* are not: NWB records ``file_create_date`` and HDF5 stores object timestamps.
Compare files by content (e.g. read back and compare arrays), not by checksum.
"""

from brainbehave.nwb.derived import LATENTS_MODULE, write_derived_nwb, write_session_derived_nwb
from brainbehave.nwb.read import (
    NeuralRecording,
    SeriesData,
    UnitsData,
    dandi_asset_url,
    open_read,
    read_neural,
    read_neural_dandi,
    recording_from_nwbfile,
)
from brainbehave.nwb.synth import (
    SYNTH_LAB,
    TTL_SERIES,
    build_synth_nwbfile,
    read_ttl_times,
    read_units_spike_times,
    write_synth_nwb,
)

__all__ = [
    "LATENTS_MODULE",
    "SYNTH_LAB",
    "TTL_SERIES",
    "NeuralRecording",
    "SeriesData",
    "UnitsData",
    "build_synth_nwbfile",
    "dandi_asset_url",
    "open_read",
    "read_neural",
    "read_neural_dandi",
    "read_ttl_times",
    "read_units_spike_times",
    "recording_from_nwbfile",
    "write_derived_nwb",
    "write_session_derived_nwb",
    "write_synth_nwb",
]
