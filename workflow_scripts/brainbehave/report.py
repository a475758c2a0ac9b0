"""The cohort report: one self-contained HTML page (inline CSS, images as data URIs).

Sections: per-session QC (2D pose likelihood and, with ground truth, error in px; 3D
reprojection error; clock-sync residuals), ethograms, 3D skeleton snapshots, latent embeddings
coloured by behaviour and the scorecard table. What the configuration left out (e.g. the
behaviour MAE in the demo) or what a session lacks is said in the page, not crashed on.

:class:`ReportPlan` gives ``rules/report.smk`` its inputs; :func:`write_cohort_report` writes
the page. The report opens in any browser without a network connection.
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainbehave import __version__
from brainbehave.atomic import write_text
from brainbehave.paths import Paths

logger = logging.getLogger(__name__)

SECTIONS = {
    "session-qc": "Per-session QC",
    "ethograms": "Ethograms",
    "skeletons": "3D skeleton snapshots",
    "embeddings": "Latent embeddings coloured by behaviour",
    "scorecard": "Latent-model scorecards",
    "notes": "Not in this report",
}

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:.5em 0;font-size:.85em}
th,td{border:1px solid #bbb;padding:.25em .5em;text-align:right}
th{background:#eee} td:first-child,th:first-child{text-align:left}
img{max-width:100%;border:1px solid #ddd;margin:.3em 0}
figure{display:inline-block;margin:.5em;vertical-align:top} .missing{color:#a40}
"""


@dataclass(frozen=True)
class SessionInputs:
    """The files of one session that the report reads (None: not produced by this workflow)."""

    name: str
    pose2d: Sequence[str] = ()
    accuracy: str | None = None
    pose3d: str | None = None
    pose3d_qc: str | None = None
    sync: str | None = None
    ethogram: str | None = None


@dataclass(frozen=True)
class ReportPlan:
    """Inputs of the report rule, from the cohort and what the configuration enables.

    Parameters
    ----------
    sessions
        (subject, session, cameras) of every session the report covers (excluded ones left out).
    paths
        The output layout.
    with_truth
        The cohort has ground truth (virtual lab): 2D pose error in px is reported.
    with_model
        A DeepLabCut model is trained here: its evaluation is reported.
    latent_models
        Names of the enabled latent models.
    notes
        Sentences on what the configuration leaves out, shown in the report.
    """

    sessions: Sequence[tuple[str, str, Sequence[str]]]
    paths: Paths
    with_truth: bool = False
    with_model: bool = False
    latent_models: Sequence[str] = ()
    notes: Sequence[str] = field(default_factory=tuple)

    def session_names(self) -> list[str]:
        """``subject/session`` of every reported session, in input order."""
        return [f"{s}/{j}" for s, j, _ in self.sessions]

    def cameras(self) -> list[list[str]]:
        """Cameras of every reported session (the split of the ``pose2d`` input list)."""
        return [list(c) for _, _, c in self.sessions]

    def inputs(self, wildcards: Any = None) -> dict[str, list[str]]:
        """Named input lists (each in :meth:`session_names` order) for ``unpack()``."""
        p = self.paths
        keys = [(s, j) for s, j, _ in self.sessions]
        out = {
            "pose2d": [p.pose2d(s, j, c) for s, j, cams in self.sessions for c in cams],
            "pose3d": [p.pose3d(s, j) for s, j in keys],
            "qc": [p.pose3d_qc(s, j) for s, j in keys],
            "sync": [p.neural_sync(s, j) for s, j in keys],
            "ethogram": [p.behaviour_ethogram(s, j) for s, j in keys],
            "accuracy": [p.pose2d_accuracy(s, j) for s, j in keys] if self.with_truth else [],
            "evaluation": [p.pose2d_evaluation()] if self.with_model else [],
            "scorecards": [p.latents_scorecard(m) for m in self.latent_models],
            "embeddings": [p.latents_plot(m) for m in self.latent_models],
        }
        return out


def report_notes(
    mae: bool, latents: bool, truth: bool, model: bool, excluded: Sequence[str] = ()
) -> list[str]:
    """What the configuration leaves out of the report, said in it.

    Parameters
    ----------
    mae, latents
        Whether the behaviour MAE and the latent models are enabled.
    truth
        Whether the cohort has ground truth (the virtual lab).
    model
        Whether a DeepLabCut model is trained here (else every 2D pose was imported).
    excluded
        ``subject/session`` names left out by ``cohort.exclude``.
    """
    notes = []
    if not mae:
        notes.append(
            "Behaviour MAE disabled (behaviour.mae.enabled: false): the ethograms show the "
            "rule-based labels (and the virtual lab's truth) only."
        )
    if not latents:
        notes.append(
            "Latent models disabled (latents.enabled: false): no embeddings, no scorecard."
        )
    if not truth:
        notes.append("No ground truth (cohort from sheets): 2D pose error in px is not reported.")
    if not model:
        notes.append("No DeepLabCut model trained here: every video's 2D pose was imported.")
    if excluded:
        notes.append(f"Left out by cohort.exclude: {', '.join(excluded)}.")
    return notes


def session_inputs(
    names: Sequence[str], cameras: Sequence[Sequence[str]], files: Mapping[str, Sequence[str]]
) -> list[SessionInputs]:
    """Regroup the rule's flat input lists (see :meth:`ReportPlan.inputs`) per session."""
    out, start = [], 0
    for i, (name, cams) in enumerate(zip(names, cameras, strict=True)):
        pose2d = list(files.get("pose2d", []))[start : start + len(cams)]
        start += len(cams)

        def one(key: str, i: int = i) -> str | None:
            values = list(files.get(key, []))
            return values[i] if i < len(values) else None

        out.append(
            SessionInputs(
                name=name,
                pose2d=pose2d,
                accuracy=one("accuracy"),
                pose3d=one("pose3d"),
                pose3d_qc=one("qc"),
                sync=one("sync"),
                ethogram=one("ethogram"),
            )
        )
    return out


# -- reading the stage outputs ---------------------------------------------------------------
def _exists(path: str | None) -> bool:
    return path is not None and Path(path).exists()


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if isinstance(value, (float, np.floating)):
        return f"{value:.{digits}f}"
    return str(value)


def likelihood_summary(pose_files: Sequence[str]) -> dict[str, float | None]:
    """Median 2D-pose confidence per camera (the ``camera`` attr, else the file name)."""
    import xarray as xr

    out: dict[str, float | None] = {}
    for path in pose_files:
        if not _exists(path):
            continue
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            camera = str(ds.attrs.get("camera", Path(path).stem))
            conf = ds["confidence"].values if "confidence" in ds else np.array([np.nan])
        finite = conf[np.isfinite(conf)]
        out[camera] = float(np.median(finite)) if finite.size else None
    return out


def accuracy_summary(path: str | None) -> dict[str, float | None]:
    """Median 2D error (px) per camera over all keypoints, from the accuracy TSV."""
    if not _exists(path):
        return {}
    table = pd.read_csv(path, sep="\t")
    rows = table[table["keypoint"] == "all"]
    return {str(r.camera): float(r.median_px) for r in rows.itertuples(index=False)}


def qc_summary(path: str | None) -> dict[str, Any]:
    """Triangulated share and reprojection-error median / p95 (px) from the 3D QC JSON."""
    if not _exists(path):
        return {}
    qc = json.loads(Path(path).read_text(encoding="utf-8"))
    err = qc.get("reprojection_error_px", {}).get("all", {})
    points = qc.get("points") or 0
    return {
        "triangulated": qc.get("points_triangulated", 0) / points if points else None,
        "reproj_median": err.get("median"),
        "reproj_p95": err.get("p95"),
    }


def sync_summary(path: str | None) -> dict[str, dict[str, Any]]:
    """Per camera: method, offset (s), drift (ppm), dropped frames, residual max (ms)."""
    if not _exists(path):
        return {}
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    return {
        camera: {
            "method": entry.get("method"),
            "offset_s": entry.get("offset_s"),
            "drift_ppm": entry.get("drift_ppm"),
            "dropped": len(entry.get("dropped_exposures", [])),
            "residual_max_ms": entry.get("residual_max_ms"),
        }
        for camera, entry in doc.get("cameras", {}).items()
    }


# -- figures ----------------------------------------------------------------------------------
def _data_uri_png(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def skeleton_snapshot(path: str, edges: Sequence[Sequence[str]], title: str) -> bytes | None:
    """PNG of the 3D pose at three frames (those with the most keypoints), or None if empty."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from brainbehave.pose import load_pose

    ds = load_pose(path)
    xyz = ds["position"].transpose("time", "keypoints", "space", "individuals").values[..., 0]
    names = [str(k) for k in ds["keypoints"].values]
    finite = np.isfinite(xyz).all(axis=-1)
    counts = finite.sum(axis=1)
    if counts.max(initial=0) < 2:
        return None
    best = np.flatnonzero(counts == counts.max())
    frames = best[np.linspace(0, len(best) - 1, 3).astype(int)]
    index = {n: k for k, n in enumerate(names)}
    fig = plt.figure(figsize=(9, 3.2))
    for i, t in enumerate(frames):
        ax = fig.add_subplot(1, 3, i + 1, projection="3d")
        pts = xyz[t]
        ax.scatter(*pts[finite[t]].T, s=12, c="tab:red")
        for a, b in edges:
            if a in index and b in index and finite[t, index[a]] and finite[t, index[b]]:
                ax.plot(*np.stack([pts[index[a]], pts[index[b]]]).T, c="k", lw=1)
        # the body's true proportions, but no axis squeezed below a quarter of the longest
        span = np.ptp(pts[finite[t]], axis=0) + 1e-6
        ax.set_box_aspect(np.maximum(span, span.max() / 4))
        ax.set_title(f"{title} frame {int(t)}", fontsize=8)
        ax.tick_params(labelsize=6)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return buffer.getvalue()


# -- HTML ---------------------------------------------------------------------------------------
def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _per_camera(values: Mapping[str, Any], digits: int = 2) -> str:
    return ", ".join(f"{c} {_fmt(v, digits)}" for c, v in values.items()) or "–"


def session_qc_rows(sessions: Sequence[SessionInputs]) -> list[list[str]]:
    """One row of the QC table per session."""
    rows = []
    for s in sessions:
        qc, sync = qc_summary(s.pose3d_qc), sync_summary(s.sync)
        rows.append(
            [
                s.name,
                _per_camera(likelihood_summary(s.pose2d)),
                _per_camera(accuracy_summary(s.accuracy), 1) if s.accuracy else "no truth",
                _fmt(None if qc.get("triangulated") is None else 100 * qc["triangulated"], 0),
                f"{_fmt(qc.get('reproj_median'))} / {_fmt(qc.get('reproj_p95'))}",
                _per_camera({c: v["residual_max_ms"] for c, v in sync.items()}, 3),
                _per_camera({c: v["drift_ppm"] for c, v in sync.items()}, 1),
                _per_camera({c: v["dropped"] for c, v in sync.items()}),
            ]
        )
    return rows


def _flatten(summary: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in summary.items():
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{prefix}{key}."))
        elif not isinstance(value, (list, tuple)):
            out[f"{prefix}{key}"] = value
    return out


def scorecard_table(scorecards: Sequence[str]) -> str:
    """Rows: models; columns: the scalar entries of each scorecard's ``summary``."""
    cards = {}
    for path in scorecards:
        card = json.loads(Path(path).read_text(encoding="utf-8"))
        cards[str(card.get("model", Path(path).parent.name))] = _flatten(card.get("summary", {}))
    columns = list(dict.fromkeys(k for c in cards.values() for k in c))
    rows = [[m, *(_fmt(c.get(k), 3) for k in columns)] for m, c in cards.items()]
    return _table(["model", *columns], rows)


def _img(path: str | None, alt: str) -> str:
    if not _exists(path):
        return f'<p class="missing">{html.escape(alt)}: no image.</p>'
    uri = _data_uri_png(Path(path).read_bytes())
    name = html.escape(alt)
    return f'<figure><img src="{uri}" alt="{name}"><figcaption>{name}</figcaption></figure>'


def _section(key: str, body: str) -> str:
    return f'<section id="{key}"><h2>{SECTIONS[key]}</h2>\n{body}\n</section>'


def render_report(
    sessions: Sequence[SessionInputs],
    scorecards: Sequence[str] = (),
    embeddings: Sequence[str] = (),
    evaluation: str | None = None,
    notes: Sequence[str] = (),
    edges: Sequence[Sequence[str]] = (),
    title: str = "brainbehave cohort report",
) -> str:
    """The report as one HTML string (no external resources)."""
    qc_header = [
        "session",
        "2D likelihood (median)",
        "2D error px (median)",
        "3D triangulated %",
        "reprojection px median / p95",
        "sync residual max ms",
        "clock drift ppm",
        "dropped frames",
    ]
    parts = [_table(qc_header, session_qc_rows(sessions))]
    if _exists(evaluation):
        ev = json.loads(Path(evaluation).read_text(encoding="utf-8"))
        # the numbers (errors in px, mAP, frame counts), not the settings and versions
        ev = {k: v for k, v in ev.items() if isinstance(v, (int, float)) or v is None}
        parts.append("<h3>DeepLabCut evaluation (px)</h3>")
        parts.append(_table(list(ev), [[_fmt(v) for v in ev.values()]]))
    body = [_section("session-qc", "\n".join(parts))]
    body.append(_section("ethograms", "".join(_img(s.ethogram, s.name) for s in sessions)))
    snaps = []
    for s in sessions:
        png = skeleton_snapshot(s.pose3d, edges, s.name) if _exists(s.pose3d) else None
        snaps.append(
            f'<figure><img src="{_data_uri_png(png)}" alt="{html.escape(s.name)}"></figure>'
            if png
            else f'<p class="missing">{html.escape(s.name)}: no triangulated frame.</p>'
        )
    body.append(_section("skeletons", "".join(snaps)))
    body.append(
        _section(
            "embeddings",
            "".join(_img(p, Path(p).parent.name) for p in embeddings)
            or '<p class="missing">No latent model is enabled.</p>',
        )
    )
    body.append(
        _section(
            "scorecard",
            scorecard_table(scorecards) if scorecards else '<p class="missing">No scorecard.</p>',
        )
    )
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes) or "<li>Nothing left out.</li>"
    body.append(_section("notes", f"<ul>{items}</ul>"))
    toc = "".join(f'<li><a href="#{k}">{v}</a></li>' for k, v in SECTIONS.items())
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title><style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{len(sessions)} sessions; brainbehave {__version__}.</p><ul>{toc}</ul>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def write_cohort_report(out_html: str | Path, sessions: Sequence[SessionInputs], **kwargs) -> None:
    """Render the report (see :func:`render_report` for the keyword arguments) and write it."""
    text = render_report(sessions, **kwargs)
    write_text(out_html, text)
    logger.info("report: %d sessions, %.1f kB -> %s", len(sessions), len(text) / 1e3, out_html)


def failed_jobs(log_text: str, sessions: Sequence[str]) -> list[tuple[str, str]]:
    """(rule, ``subject/session``) of every failed per-session job in a Snakemake log.

    A job's session is read from its ``wildcards:`` line when Snakemake prints one, else from
    the paths of its ``output:`` / ``log:`` lines (``…/<subject>/<session>/…`` or
    ``…/<subject>/<session>.log``, ``…_<camera>.log``), matched against the cohort's sessions.
    """
    import re

    out: list[tuple[str, str]] = []
    for block in log_text.split("Error in rule ")[1:]:
        rule, _, rest = block.partition(":")
        lines = []
        for line in rest.splitlines()[1:]:
            if not line.startswith((" ", "\t")):
                break
            lines.append(line)
        body = "\n".join(lines)
        found = re.search(r"\bsubject=([\w-]+), session=([\w-]+)", body)
        names = [f"{found.group(1)}/{found.group(2)}"] if found else []
        if not names:
            paths = " ".join(re.findall(r"^\s+(?:output|log): (.*)$", body, re.M))
            names = [
                name
                for name in sessions
                if re.search(rf"(?:^|[/ ]){re.escape(name)}(?:[/._]|$)", paths)
            ]
        for name in names:
            if (rule.strip(), name) not in out:
                out.append((rule.strip(), name))
    return out


def failed_sessions_message(log_text: str, sessions: Sequence[str]) -> str | None:
    """What a user reads after a run with failed sessions: which, in which rule, what to do.

    ``sessions`` are the cohort's ``subject/session`` names (see :func:`failed_jobs`).
    """
    jobs = failed_jobs(log_text, sessions)
    if not jobs:
        return None
    sessions = sorted({s for _, s in jobs})
    lines = [f"  {s}: failed in {', '.join(r for r, x in jobs if x == s)}" for s in sessions]
    return (
        f"{len(sessions)} session(s) failed (their logs are named above):\n"
        + "\n".join(lines)
        + "\nCohort-level rules (MAE training, latent models, report) need every session, so "
        "they did not run. Fix those sessions and rerun, or leave them out by adding to the "
        f"config\n  cohort:\n    exclude: [{', '.join(sessions)}]\n"
        "(README, 'Cohort operations')."
    )
