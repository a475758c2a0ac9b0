"""Zero-shot 2D pose with a DeepLabCut SuperAnimal model (no labelled frames needed).

The weights (pose model and detector) come from DeepLabCut's model zoo on the Hugging Face
hub. They are looked for on disk first; offline and without them, the run stops at once with
what to do (:class:`~brainbehave.pose2d.weights.MissingWeightsError`), rather than after the
hub client's retries.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from brainbehave.pose2d.dlc import resolve_device, set_threads
from brainbehave.pose2d.video import VideoInfo, check_video
from brainbehave.pose2d.weights import check_superanimal_weights

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SuperAnimalSettings:
    """The ``pose2d.superanimal`` block of the config."""

    name: str = "superanimal_topviewmouse"
    model_name: str = "hrnet_w32"
    detector_name: str = "fasterrcnn_resnet50_fpn_v2"


def analyze_superanimal(
    video: str | Path,
    out_h5: str | Path,
    settings: SuperAnimalSettings,
    *,
    batch_size: int = 8,
    device: str = "auto",
    threads: int = 1,
    where: str = "video",
) -> VideoInfo:
    """Predict pose on a video with a SuperAnimal model; DeepLabCut's ``.h5`` goes to `out_h5`.

    Raises
    ------
    MissingWeightsError
        The model's weights are not on disk and cannot be downloaded from here.
    InputDataError
        Unreadable, truncated or empty video.
    """
    info = check_video(video, where)
    check_superanimal_weights(settings.name, settings.model_name, settings.detector_name)
    import deeplabcut  # after the checks: a 5-9 s import

    set_threads(threads)
    out_h5 = Path(out_h5)
    out_h5.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out_h5.stem}.", dir=out_h5.parent) as tmp:
        deeplabcut.video_inference_superanimal(
            [str(info.path.absolute())],
            settings.name,
            model_name=settings.model_name,
            detector_name=settings.detector_name,
            dest_folder=str(Path(tmp).absolute()),
            batch_size=batch_size,
            device=resolve_device(device),
            create_labeled_video=False,
            plot_bboxes=False,
        )
        produced = sorted(Path(tmp).glob(f"{info.path.stem}*.h5"))
        if len(produced) != 1:
            raise RuntimeError(
                f"{where}: expected one SuperAnimal .h5 for {info.path.name}, found "
                f"{[p.name for p in produced]}."
            )
        shutil.move(produced[0], out_h5)
    logger.info("SuperAnimal %s/%s on %s -> %s", settings.name, settings.model_name, video, out_h5)
    return info
