"""Rule wrapper: clean one camera's 2D pose (threshold, gap interpolation, smoothing)."""

from brainbehave.logs import rule_logging
from brainbehave.pose import load_pose, save_pose
from brainbehave.pose2d.clean import CleanSettings, clean_pose

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    cleaned = clean_pose(
        load_pose(snakemake.input[0]), CleanSettings.from_mapping(snakemake.params.clean)
    )
    save_pose(cleaned, snakemake.output[0])
