"""The one place that builds output paths.

Rules and package code both call these methods, so a file is named in exactly one place.
Every method formats plain strings: called with ``"{subject}"``-style arguments it returns the
Snakemake pattern, called with real IDs it returns the concrete path.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Paths:
    """Output layout: ``<results>/<stage>/<subject>/<session>/…`` and ``<logs>/<rule>/…``.

    Parameters
    ----------
    results
        Root of all outputs.
    logs
        Root of all rule logs.
    """

    results: str = "results"
    logs: str = "logs"

    def _session(self, stage: str, subject: str, session: str) -> str:
        return f"{self.results}/{stage}/{subject}/{session}"

    # -- virtual lab ---------------------------------------------------------------------
    def synth_session_dir(self, subject: str, session: str) -> str:
        """Folder holding one virtual-lab session."""
        return self._session("synth", subject, session)

    def synth_video(self, subject: str, session: str, camera: str) -> str:
        """Rendered video of one camera."""
        return f"{self.synth_session_dir(subject, session)}/videos/{camera}.mp4"

    def synth_frame_times(self, subject: str, session: str, camera: str) -> str:
        """The camera's frame timestamps (video clock) of the saved frames."""
        return f"{self.synth_session_dir(subject, session)}/videos/{camera}_frame_times.csv"

    def synth_calibration(self, subject: str, session: str) -> str:
        """Anipose-style calibration of the session's cameras."""
        return f"{self.synth_session_dir(subject, session)}/calibration.toml"

    def synth_nwb(self, subject: str, session: str) -> str:
        """The session's neural recording (units, frame-sync TTL) as NWB."""
        return f"{self.synth_session_dir(subject, session)}/{subject}_{session}.nwb"

    def synth_truth(self, subject: str, session: str) -> str:
        """Ground truth of the session (labels, 3D, 2D, latents, clocks)."""
        return f"{self.synth_session_dir(subject, session)}/truth.h5"

    def synth_dlc_project(self) -> str:
        """DeepLabCut project of labelled frames rendered from the ground truth."""
        return f"{self.results}/synth/dlc_project"

    def synth_sheet(self, kind: str) -> str:
        """Cohort sheet (``sessions`` or ``videos``) describing the virtual-lab cohort."""
        return f"{self.results}/synth/{kind}.tsv"

    # -- stages: each stage adds its own section below, above the logs ------------------

    # -- pose2d --
    def pose2d(self, subject: str, session: str, camera: str) -> str:
        """Cleaned 2D pose of one camera (the pose data model, netCDF): the stage's output."""
        return f"{self._session('pose2d', subject, session)}/{camera}.nc"

    def pose2d_video_prefix(self, subject: str, session: str, camera: str) -> str:
        """What every ``pose2d_analyze`` output of one video starts with (its ``multiext``)."""
        return f"{self._session('pose2d', subject, session)}/{camera}"

    def pose2d_analyze_suffixes(self, labeled_video: bool) -> dict[str, str]:
        """``pose2d_analyze``'s outputs as suffixes of `pose2d_video_prefix`, by output name.

        Declared as one ``multiext`` so that Snakemake's between-workflow cache accepts the rule.
        """
        out = {"h5": "_dlc.h5", "pose": "_raw.nc"}
        return {**out, "labeled": "_labeled.mp4"} if labeled_video else out

    def pose2d_raw(self, subject: str, session: str, camera: str) -> str:
        """2D pose inferred from the video, before cleaning, netCDF (an imported pose file is
        read by the cleaning step itself)."""
        return self.pose2d_video_prefix(subject, session, camera) + "_raw.nc"

    def pose2d_dlc(self, subject: str, session: str, camera: str) -> str:
        """DeepLabCut's own ``.h5`` of one video (renamed from its dated name)."""
        return self.pose2d_video_prefix(subject, session, camera) + "_dlc.h5"

    def pose2d_labeled_video(self, subject: str, session: str, camera: str) -> str:
        """Optional QC video with the predictions drawn on the frames."""
        return self.pose2d_video_prefix(subject, session, camera) + "_labeled.mp4"

    def pose2d_accuracy(self, subject: str, session: str) -> str:
        """Virtual lab only: error in px against the ground truth, per camera and keypoint."""
        return f"{self._session('pose2d', subject, session)}/accuracy.tsv"

    def pose2d_model(self) -> str:
        """The trained DeepLabCut model (a self-contained copy of the project), unpacked from
        `pose2d_model_archive` by ``pose2d_unpack``."""
        return f"{self.results}/pose2d/model"

    def pose2d_model_archive(self) -> str:
        """The model folder as one ``.tar``: what ``pose2d_train`` declares (cacheable)."""
        return self.pose2d_model() + self.pose2d_train_suffixes()["archive"]

    def pose2d_evaluation(self) -> str:
        """DeepLabCut's evaluation of the trained model (train/test error in px), JSON."""
        return self.pose2d_model() + self.pose2d_train_suffixes()["evaluation"]

    def pose2d_train_suffixes(self) -> dict[str, str]:
        """``pose2d_train``'s outputs as suffixes of `pose2d_model`, by output name (one
        cacheable ``multiext``: the model's archive and its evaluation)."""
        return {"archive": ".tar", "evaluation": "_evaluation.json"}

    def pose2d_model_training(self) -> str:
        """Where pose2d_train trains before moving the result onto `pose2d_model` (not an
        output: it outlives a killed job, whose next run resumes from its latest snapshot)."""
        return f"{self.results}/pose2d/.model_training"

    # -- neural ----------------------------------------------------------------------------
    def neural_session_dir(self, subject: str, session: str) -> str:
        """Folder of one session's neural-stage outputs."""
        return self._session("neural", subject, session)

    def neural_sync(self, subject: str, session: str) -> str:
        """Per-camera clock synchronisation (JSON: offset, drift, dropped frames, frame times)."""
        return f"{self.neural_session_dir(subject, session)}/sync.json"

    def neural_aligned(self, subject: str, session: str) -> str:
        """The aligned session dataset (netCDF; contract in brainbehave.align)."""
        return f"{self.neural_session_dir(subject, session)}/aligned.nc"

    def neural_derived_nwb(self, subject: str, session: str) -> str:
        """The session's derived NWB (units, pose, behaviour intervals, latents module)."""
        return f"{self.neural_session_dir(subject, session)}/{subject}_{session}_derived.nwb"

    # -- pose3d --
    def pose3d(self, subject: str, session: str) -> str:
        """Triangulated 3D pose of a session (pose data model, netCDF, mm)."""
        return f"{self._session('pose3d', subject, session)}/pose3d.nc"

    def pose3d_qc(self, subject: str, session: str) -> str:
        """Triangulation QC of a session (JSON: reprojection errors, NaN counts, cameras)."""
        return f"{self._session('pose3d', subject, session)}/qc.json"

    def pose3d_lift_model(self) -> str:
        """The cohort's single-camera lifting network (torch checkpoint)."""
        return f"{self.results}/pose3d/lift/model.pt"

    def pose3d_lift_evaluation(self) -> str:
        """Held-out error of the lifting network, per camera (JSON)."""
        return f"{self.results}/pose3d/lift/evaluation.json"

    def pose3d_calibration(self, subject: str, session: str) -> str:
        """Calibration computed from the session's ChArUco board videos (anipose TOML)."""
        return f"{self._session('pose3d', subject, session)}/calibration.toml"

    def pose3d_calibration_qc(self, subject: str, session: str) -> str:
        """Board detections and reprojection errors of that calibration (JSON)."""
        return f"{self._session('pose3d', subject, session)}/calibration_qc.json"

    # -- behaviour --
    def behaviour_features(self, subject: str, session: str) -> str:
        """Per-frame pose features + egocentric pose of a session (netCDF)."""
        return f"{self._session('behaviour', subject, session)}/features.nc"

    def behaviour_labels(self, subject: str, session: str, source: str) -> str:
        """Per-frame labels per level from ``rules`` or ``mae`` (netCDF)."""
        return f"{self._session('behaviour', subject, session)}/{source}_labels.nc"

    def behaviour_intervals(self, subject: str, session: str, source: str) -> str:
        """Bouts (level, label, start, stop, source) from ``rules`` or ``mae`` (TSV)."""
        return f"{self._session('behaviour', subject, session)}/{source}_intervals.tsv"

    def behaviour_embeddings(self, subject: str, session: str) -> str:
        """MAE embeddings per level of a session (netCDF)."""
        return f"{self._session('behaviour', subject, session)}/mae_embeddings.nc"

    def behaviour_ethogram(self, subject: str, session: str) -> str:
        """Ethogram plot: rules, MAE and (virtual lab) ground truth."""
        return f"{self._session('behaviour', subject, session)}/ethogram.png"

    def behaviour_mae_model(self) -> str:
        """The trained hierarchical MAE of the cohort."""
        return f"{self.results}/behaviour/mae/model.pt"

    def behaviour_mae_checkpoint(self) -> str:
        """Resumable training checkpoint (not a rule output, so a rerun finds it)."""
        return f"{self.results}/behaviour/mae/checkpoint.pt"

    def behaviour_segmenter(self) -> str:
        """Cohort-level clustering of the MAE levels."""
        return f"{self.results}/behaviour/mae/segmenter.pkl"

    # -- latents --
    def latents_fit_archive(self, model: str) -> str:
        """``latents_fit``'s one output (cacheable): a ``.tar`` of :meth:`latents_fit_dir`."""
        return f"{self.results}/latents/{model}/fit.tar"

    def latents_fit_dir(self, model: str) -> str:
        """The fit unpacked (``latents_unpack``): the model and every session's embeddings, one
        folder per model, which the rules that read them take as input (one input per model
        keeps planning linear in sessions)."""
        return f"{self.results}/latents/{model}/fit"

    def latents_model(self, model: str) -> str:
        """Fitted latent model(s) of the cohort (first seed; weights, spec, version), torch.

        Inside :meth:`latents_fit_dir`: rules take that folder as input, not this file.
        """
        return f"{self.latents_fit_dir(model)}/model.pt"

    def latents_embedding(self, model: str, subject: str, session: str) -> str:
        """A session's embeddings (seed, time, dim), null controls and behaviour (netCDF).

        Inside :meth:`latents_fit_dir` (rules take that folder as input); IDs hold no ``.``,
        so ``<subject>.<session>`` names one session unambiguously.
        """
        return f"{self.latents_fit_dir(model)}/{subject}.{session}.embedding.nc"

    def latents_scorecard(self, model: str) -> str:
        """The model's trust scorecard (JSON)."""
        return f"{self.results}/latents/{model}/scorecard.json"

    def latents_checkpoints(self, model: str) -> str:
        """Folder of the model's resumable fit checkpoints (not a rule output, and outside
        :meth:`latents_fit_dir`, which Snakemake clears before a rerun: a rerun finds them;
        removed once the fit's outputs are written)."""
        return f"{self.results}/latents/{model}/checkpoints"

    def latents_plot(self, model: str) -> str:
        """Embeddings of every session coloured by behaviour (PNG)."""
        return f"{self.results}/latents/{model}/embeddings.png"

    def model_log(self, rule: str, model: str) -> str:
        """Log of a cohort-level rule run once per model."""
        return f"{self.logs}/{rule}/{model}.log"

    # -- report --
    def report_html(self) -> str:
        """The cohort report: one self-contained HTML page (brainbehave.report)."""
        return f"{self.results}/report/cohort.html"

    # -- logs ----------------------------------------------------------------------------
    def session_log(self, rule: str, subject: str, session: str) -> str:
        """Log of a per-session rule."""
        return f"{self.logs}/{rule}/{subject}/{session}.log"

    def cohort_log(self, rule: str) -> str:
        """Log of a cohort-level rule."""
        return f"{self.logs}/{rule}/cohort.log"
