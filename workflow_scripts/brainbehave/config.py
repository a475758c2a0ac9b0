"""Configuration and cohort sheets: validated against JSON schemas, with errors that name the key.

The workflow calls :func:`validate_config` and :func:`load_cohort` when it is parsed, so a
misspelt key, a duplicate session or a missing file stops the run before any job starts.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import yaml

from brainbehave.atomic import atomic_path
from brainbehave.errors import ConfigError

logger = logging.getLogger(__name__)

SESSION_KEY = ("subject", "session")
VIDEO_KEY = ("subject", "session", "camera")


def load_schema(path: str | Path) -> dict[str, Any]:
    """Read a JSON schema written as YAML or JSON."""
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _fill_defaults(instance: Any, schema: Mapping[str, Any]) -> None:
    """Insert schema defaults for missing keys, recursively (in place)."""
    if not isinstance(instance, dict):
        return
    for key, sub in schema.get("properties", {}).items():
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            _fill_defaults(instance[key], sub)


def _describe(error: jsonschema.ValidationError, where: str) -> str:
    """One sentence per schema violation: which key, what was expected, what was found."""
    location = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return (
            f"{where}: unknown key(s) {extra} at '{location}' (misspelt?). "
            f"Allowed keys there: {allowed}."
        )
    if error.validator == "required":
        return f"{where}: {error.message} at '{location}'."
    return f"{where}: '{location}' = {error.instance!r} is invalid: {error.message}."


def validate_against(instance: dict, schema: Mapping[str, Any], where: str) -> dict:
    """Validate `instance` against `schema` after filling defaults; return the filled copy.

    Raises
    ------
    ConfigError
        Listing every violation, each naming the key and `where` (a file or sheet row).
    """
    filled = copy.deepcopy(instance) if instance is not None else {}
    _fill_defaults(filled, schema)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(filled), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigError("\n".join(_describe(e, where) for e in errors))
    return filled


def validate_config(config: dict, schema_path: str | Path, where: str = "config") -> dict:
    """Validate the workflow configuration; return it with defaults filled in.

    Also checks what a schema cannot: that ``cohort.source: sheets`` names both sheets.
    """
    filled = validate_against(config, load_schema(schema_path), where)
    cohort = filled["cohort"]
    if cohort["source"] == "sheets":
        missing = [k for k in ("sessions", "videos") if not cohort.get(k)]
        if missing:
            raise ConfigError(
                f"{where}: cohort.source is 'sheets' but cohort.{' and cohort.'.join(missing)} "
                "is not set. Give the path of each sheet (TSV), or set cohort.source: synth "
                "to run the virtual-lab demo."
            )
    return filled


@dataclass(frozen=True)
class Cohort:
    """The sessions and videos of a cohort, validated, with absolute paths.

    Attributes
    ----------
    sessions
        One row per (subject, session): nwb, calibration and optional columns.
    videos
        One row per (subject, session, camera): video and optional pose columns.
    """

    sessions: pd.DataFrame
    videos: pd.DataFrame

    def __post_init__(self) -> None:
        # Index the rows once: input functions look sessions up for every job, and filtering
        # the tables on each call dominated planning time for large cohorts.
        sessions = {
            (r.subject, r.session): i for i, r in enumerate(self.sessions.itertuples(index=False))
        }
        cameras: dict[tuple[str, str], list[str]] = {}
        videos: dict[tuple[str, str, str], str] = {}
        for r in self.videos.itertuples(index=False):
            cameras.setdefault((r.subject, r.session), []).append(r.camera)
            videos[(r.subject, r.session, r.camera)] = str(r.video)
        object.__setattr__(self, "_session_rows", sessions)
        object.__setattr__(self, "_records", self.sessions.to_dict("records"))
        object.__setattr__(self, "_cameras", cameras)
        object.__setattr__(self, "_videos", videos)

    def without(self, excluded: Sequence[str], where: str = "cohort.exclude") -> Cohort:
        """The cohort without the ``subject/session`` names in ``excluded``.

        Raises
        ------
        ConfigError
            A name that is not a session of the cohort (a typo would otherwise silently
            exclude nothing).
        """
        if not excluded:
            return self
        wanted = {tuple(name.split("/", 1)) for name in excluded}
        if unknown := sorted("/".join(k) for k in wanted - set(self._session_rows)):
            known = ", ".join("/".join(k) for k in list(self._session_rows)[:5])
            raise ConfigError(
                f"{where}: {unknown} are not sessions of the cohort (it has e.g. {known}). "
                "Write each as subject/session, as in the sessions sheet."
            )
        keep_s = [
            k not in wanted
            for k in zip(self.sessions["subject"], self.sessions["session"], strict=True)
        ]
        keep_v = [
            k not in wanted
            for k in zip(self.videos["subject"], self.videos["session"], strict=True)
        ]
        logger.warning(
            "%s: %d session(s) left out of this run: %s",
            where,
            len(wanted),
            ", ".join(sorted(excluded)),
        )
        return Cohort(
            sessions=self.sessions[keep_s].reset_index(drop=True),
            videos=self.videos[keep_v].reset_index(drop=True),
        )

    def session_keys(self) -> list[tuple[str, str]]:
        """(subject, session) pairs in sheet order."""
        return list(self._session_rows)

    def session(self, subject: str, session: str) -> dict[str, Any]:
        """The sessions-sheet row of one session (column -> value; a copy)."""
        try:
            return dict(self._records[self._session_rows[(subject, session)]])
        except KeyError:
            raise KeyError(f"No session {subject}/{session} in the cohort.") from None

    def cameras(self, subject: str, session: str) -> list[str]:
        """Camera names of one session, in sheet order."""
        return list(self._cameras.get((subject, session), []))

    def video(self, subject: str, session: str, camera: str) -> str:
        """Path of the video of one camera of one session."""
        try:
            return self._videos[(subject, session, camera)]
        except KeyError:
            raise KeyError(
                f"No video for {subject}/{session} camera {camera!r} in the cohort."
            ) from None


def _read_sheet(path: Path, kind: str) -> pd.DataFrame:
    if not path.is_file():
        raise ConfigError(
            f"The {kind} sheet {str(path)!r} does not exist. Set cohort.{kind} in the config "
            "to a TSV file (see config/README or the README's 'Your own cohort')."
        )
    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, comment=None)
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ConfigError(f"The {kind} sheet {str(path)!r} is not a readable TSV: {err}") from err
    if table.empty:
        raise ConfigError(f"The {kind} sheet {str(path)!r} has no rows.")
    table.columns = [c.strip() for c in table.columns]
    return table.apply(lambda col: col.str.strip())


def _validate_rows(table: pd.DataFrame, schema: Mapping[str, Any], sheet: Path) -> pd.DataFrame:
    numeric = {k for k, v in schema.get("properties", {}).items() if v.get("type") == "number"}
    # One validator for every row: building it per row was most of the time for large sheets.
    validator = jsonschema.Draft202012Validator(schema)
    problems: list[str] = []
    rows = []
    for i, record in enumerate(table.to_dict(orient="records")):
        row = {k: v for k, v in record.items() if v != ""}
        for key in numeric & set(row):
            try:
                row[key] = float(row[key])
            except ValueError:
                pass  # left as a string: the schema reports it with the row
        _fill_defaults(row, schema)
        if validator.is_valid(row):
            rows.append(row)
            continue
        errors = sorted(validator.iter_errors(row), key=lambda e: list(e.absolute_path))
        problems.append("\n".join(_describe(e, f"{sheet} row {i + 2}") for e in errors))
    if problems:
        raise ConfigError("\n".join(problems))
    return pd.DataFrame(rows)


def _check_unique(table: pd.DataFrame, key: tuple[str, ...], sheet: Path) -> None:
    dup = table[table.duplicated(list(key), keep=False)]
    if not dup.empty:
        names = sorted({"/".join(r) for r in dup[list(key)].itertuples(index=False)})
        raise ConfigError(
            f"{sheet}: duplicate {'/'.join(key)} {names}. Each must appear once: remove or "
            "rename the repeated rows."
        )


def _absolute_files(table: pd.DataFrame, columns: list[str], sheet: Path) -> pd.DataFrame:
    table = table.copy()
    base = sheet.parent
    problems = []
    for col in columns:
        if col not in table:
            continue
        absolute = []
        for i, value in table[col].items():
            if not isinstance(value, str) or not value:
                absolute.append(value)
                continue
            path = (base / value).resolve()
            if not path.exists():
                who = f"{table.at[i, 'subject']}/{table.at[i, 'session']}"
                if "camera" in table:
                    who += f" camera {table.at[i, 'camera']}"
                problems.append(
                    f"{sheet} ({who}): {col} file {value!r} does not exist (looked at {path}). "
                    "Fix the path (relative paths are relative to the sheet's folder) or "
                    "remove the row."
                )
            absolute.append(str(path))
        table[col] = absolute  # one assignment per column, not one per cell
    if problems:
        raise ConfigError("\n".join(problems))
    return table


def load_cohort(
    sessions_sheet: str | Path, videos_sheet: str | Path, schema_dir: str | Path
) -> Cohort:
    """Read, validate and cross-check the sessions and videos sheets.

    Parameters
    ----------
    sessions_sheet, videos_sheet
        TSV files; relative paths inside them are relative to the sheet's folder.
    schema_dir
        Folder with ``sessions.schema.yaml`` and ``videos.schema.yaml``.

    Raises
    ------
    ConfigError
        For unknown or missing columns, bad IDs, duplicates, missing files, videos of unknown
        sessions and sessions without videos; every message names the sheet and the row.
    """
    schema_dir = Path(schema_dir)
    s_path, v_path = Path(sessions_sheet).resolve(), Path(videos_sheet).resolve()
    sessions = _validate_rows(
        _read_sheet(s_path, "sessions"), load_schema(schema_dir / "sessions.schema.yaml"), s_path
    )
    videos = _validate_rows(
        _read_sheet(v_path, "videos"), load_schema(schema_dir / "videos.schema.yaml"), v_path
    )
    _check_unique(sessions, SESSION_KEY, s_path)
    _check_unique(videos, VIDEO_KEY, v_path)
    known = set(zip(sessions["subject"], sessions["session"], strict=True))
    listed = set(zip(videos["subject"], videos["session"], strict=True))
    if unknown := sorted("/".join(k) for k in listed - known):
        raise ConfigError(
            f"{v_path}: videos of sessions {unknown} that are not in the sessions sheet "
            f"{s_path}. Add those sessions there or remove their videos."
        )
    if bare := sorted("/".join(k) for k in known - listed):
        raise ConfigError(
            f"{s_path}: sessions {bare} have no video in the videos sheet {v_path}. "
            "Add at least one camera's video per session."
        )
    sessions = _absolute_files(sessions, ["nwb", "calibration", "truth"], s_path)
    videos = _absolute_files(videos, ["video", "frame_times", "pose"], v_path)
    logger.info("cohort: %d sessions, %d videos", len(sessions), len(videos))
    return Cohort(sessions=sessions.reset_index(drop=True), videos=videos.reset_index(drop=True))


def write_cohort_sheets(
    sessions: pd.DataFrame, videos: pd.DataFrame, sessions_tsv: str | Path, videos_tsv: str | Path
) -> None:
    """Write cohort sheets that :func:`load_cohort` reads back.

    File paths are written relative to each sheet's folder, so a cohort folder can be moved
    or shared whole. Each sheet is written to a temp file and renamed (whole or not at all).
    """
    for table, target in ((sessions, Path(sessions_tsv)), (videos, Path(videos_tsv))):
        base = target.parent.resolve()
        table = table.copy()
        for col in ("nwb", "calibration", "truth", "video", "frame_times", "pose"):
            if col in table:
                table[col] = [
                    os.path.relpath(Path(p).resolve(), base) if isinstance(p, str) and p else p
                    for p in table[col]
                ]
        with atomic_path(target) as tmp:
            table.to_csv(tmp, sep="\t", index=False)
