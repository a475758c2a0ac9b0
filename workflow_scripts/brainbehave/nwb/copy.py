"""Copying parts of a read-only source NWB file into a new (derived) NWB file.

:class:`SourceCopier` copies the Units table with the electrodes table it references (its
electrode groups and devices) and the ophys traces (``RoiResponseSeries`` inside
``Fluorescence`` / ``DfOverF``) with their ROI tables (``PlaneSegmentation`` with its masks,
``ImagingPlane``, ``OpticalChannel`` and ``Device``). Every dataset is read into memory, so
the new file holds no link to the source and the source can be closed before writing.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
from hdmf.common import DynamicTable, DynamicTableRegion, VectorData, VectorIndex
from hdmf.container import AbstractContainer
from pynwb import NWBFile, ProcessingModule
from pynwb.device import Device
from pynwb.ecephys import ElectrodeGroup, ElectrodesTable
from pynwb.file import Subject
from pynwb.misc import Units
from pynwb.ophys import (
    DfOverF,
    Fluorescence,
    ImageSegmentation,
    ImagingPlane,
    OpticalChannel,
    PlaneSegmentation,
    RoiResponseSeries,
)

from brainbehave.errors import InputDataError

OPHYS_MODULE = "ophys"
_OPHYS_INTERFACES = (Fluorescence, DfOverF)
_SERIES_FIELDS = ("description", "comments", "conversion", "offset", "resolution", "continuity")


def _plain(value: Any) -> Any:
    """A stored value in memory (datasets read whole), or ``None`` when it is an object."""
    if isinstance(value, AbstractContainer):
        return None
    if hasattr(value, "shape") and not isinstance(value, np.ndarray | np.generic):
        return value[()]
    return value


def _fields(
    obj: Any, cls: type, skip: tuple[str, ...] = (), keep_empty: bool = False
) -> dict[str, Any]:
    """The plain constructor arguments of ``cls`` that ``obj`` has set (not None, and not
    empty text unless ``keep_empty`` or it is the description)."""
    out = {}
    for arg in cls.__init__.__docval__["args"]:
        name = arg["name"]
        if name in ("name", *skip):
            continue
        value = _plain(getattr(obj, name, None))
        empty = isinstance(value, str) and value == "" and name != "description"
        if value is not None and (keep_empty or not empty):
            out[name] = value
    return out


def copy_subject(subject: Subject | None) -> Subject | None:
    """A copy of the source's subject with every field it sets (empty text kept as is)."""
    if subject is None:
        return None
    return Subject(**_fields(subject, Subject, keep_empty=True))


class SourceCopier:
    """Copies containers of an open source NWB file into ``target``, each once.

    Parameters
    ----------
    source
        The open source file (read-only).
    target
        The new file; copied devices, electrode groups, imaging planes and the electrodes
        table are added to it.
    source_path
        Path of the source, named in descriptions and errors.
    """

    def __init__(self, source: NWBFile, target: NWBFile, source_path: str) -> None:
        self.source, self.target, self.where = source, target, str(source_path)
        self._memo: dict[str, Any] = {}

    def copy(self, obj: Any) -> Any:
        """The copy of a device, electrode group, imaging plane, ROI or electrodes table."""
        key = obj.object_id
        if key not in self._memo:
            self._memo[key] = self._make(obj)
        return self._memo[key]

    def _make(self, obj: Any) -> Any:
        if isinstance(obj, Device):
            kwargs = _fields(obj, Device, skip=("model",))
            kwargs.setdefault("description", "")
            return self.target.create_device(name=obj.name, **kwargs)
        if isinstance(obj, ElectrodeGroup):
            kwargs = _fields(obj, ElectrodeGroup, skip=("device", "position"))
            if obj.position is not None:
                # a compound (x, y, z) when read, a plain triple when made in memory
                pos = np.asarray(_plain(obj.position)).reshape(-1)
                names = pos.dtype.names
                values = [pos[0][f] for f in names] if names else list(pos)
                kwargs["position"] = tuple(float(v) for v in values)
            kwargs.setdefault("description", "")
            kwargs.setdefault("location", "")
            return self.target.create_electrode_group(
                name=obj.name, device=self.copy(obj.device), **kwargs
            )
        if isinstance(obj, OpticalChannel):
            return OpticalChannel(name=obj.name, **_fields(obj, OpticalChannel))
        if isinstance(obj, ImagingPlane):
            kwargs = _fields(obj, ImagingPlane, skip=("optical_channel", "device"))
            channels = [self.copy(c) for c in obj.optical_channel]
            plane = ImagingPlane(
                name=obj.name, optical_channel=channels, device=self.copy(obj.device), **kwargs
            )
            self.target.add_imaging_plane(plane)
            return plane
        if isinstance(obj, PlaneSegmentation):
            return self._plane_segmentation(obj)
        if isinstance(obj, DynamicTable) and obj.name == "electrodes":
            table = ElectrodesTable(id=obj.id[:], columns=self._columns(obj))
            self.target.electrodes = table
            return table
        raise InputDataError(
            f"{self.where}: cannot copy {type(obj).__name__} {obj.name!r} into the derived NWB "
            "(only devices, electrode groups, the electrodes table and ophys ROI tables)."
        )

    def _columns(self, table: DynamicTable, skip: tuple[str, ...] = ()) -> list:
        """Copies of a table's columns (in memory; references mapped to their copies)."""
        done: dict[str, Any] = {}

        def one(col: Any) -> Any:
            if col.name in done:
                return done[col.name]
            if isinstance(col, VectorIndex):
                new = VectorIndex(
                    name=col.name, data=np.asarray(col.data[:]), target=one(col.target)
                )
            else:
                data = col.data[:]
                if isinstance(col, DynamicTableRegion):
                    new = DynamicTableRegion(
                        name=col.name,
                        data=np.asarray(data, dtype=np.int64),
                        description=col.description,
                        table=self.copy(col.table),
                    )
                else:
                    data = list(data) if not isinstance(data, np.ndarray) else data
                    if len(data) and isinstance(data[0], AbstractContainer):
                        data = [self.copy(v) for v in data]
                    new = VectorData(name=col.name, data=data, description=col.description)
            done[col.name] = new
            return new

        return [one(c) for c in table.columns if c.name not in skip]

    def _plane_segmentation(self, obj: PlaneSegmentation) -> PlaneSegmentation:
        plane = PlaneSegmentation(
            name=obj.name,
            description=obj.description or "",
            imaging_plane=self.copy(obj.imaging_plane),
            id=obj.id[:],
            columns=self._columns(obj),
        )
        parent = obj.parent
        name = parent.name if isinstance(parent, ImageSegmentation) else "ImageSegmentation"
        module = self.ophys_module()
        if name not in module.data_interfaces:
            module.add(ImageSegmentation(name=name))
        module[name].add_plane_segmentation(plane)
        return plane

    def ophys_module(self) -> ProcessingModule:
        """The target's ``ophys`` processing module (made on first use)."""
        if OPHYS_MODULE not in self.target.processing:
            self.target.create_processing_module(
                OPHYS_MODULE, f"Ophys traces and ROIs copied from {Path(self.where).name}."
            )
        return self.target.processing[OPHYS_MODULE]

    def units(self, units: Units) -> Units:
        """A copy of the Units table; its ``electrodes`` and ``electrode_group`` copied too."""
        if self.source.electrodes is not None and len(self.source.electrodes):
            self.copy(self.source.electrodes)  # kept whole, even when units point at no rows
        kwargs = {
            k: _plain(getattr(units, k))
            for k in ("resolution", "waveform_rate", "waveform_unit")
            if getattr(units, k, None) is not None
        }
        return Units(
            name="units",
            description=f"Units copied from {Path(self.where).name} (read-only source). "
            + (units.description or ""),
            id=units.id[:],
            columns=self._columns(units),
            electrode_table=self.target.electrodes,
            **kwargs,
        )

    def ophys(self) -> int:
        """Copy every ``Fluorescence`` / ``DfOverF`` of the source; the number of series."""
        n = 0
        for module_name, module in sorted(self.source.processing.items()):
            for iname, interface in sorted(module.data_interfaces.items()):
                if type(interface) not in _OPHYS_INTERFACES:
                    continue
                target = self.ophys_module()
                name = iname if iname not in target.data_interfaces else f"{module_name}_{iname}"
                new = type(interface)(name=name)
                for series in interface.roi_response_series.values():
                    new.add_roi_response_series(self._roi_series(series))
                    n += 1
                target.add(new)
        return n

    def _roi_series(self, s: RoiResponseSeries) -> RoiResponseSeries:
        rois = self.copy(s.rois.table).create_roi_table_region(
            region=[int(i) for i in s.rois.data[:]], description=s.rois.description
        )
        if s.timestamps is not None:
            timing = {"timestamps": np.asarray(s.timestamps[:], dtype=float)}
        else:
            timing = {"starting_time": float(s.starting_time or 0.0), "rate": float(s.rate)}
        kwargs = {
            k: _plain(getattr(s, k)) for k in _SERIES_FIELDS if getattr(s, k, None) is not None
        }
        with warnings.catch_warnings():
            # the series joins the file only after it is made; its ROI table already has
            warnings.filterwarnings("ignore", message=".*does not share an ancestor")
            return RoiResponseSeries(
                name=s.name, data=np.asarray(s.data[:]), unit=s.unit, rois=rois, **timing, **kwargs
            )
