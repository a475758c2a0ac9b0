"""Rule wrapper: the virtual-lab cohort's sessions and videos sheets."""

from brainbehave.logs import rule_logging
from brainbehave.paths import Paths
from brainbehave.synth.cohort import SynthSettings, write_sheets

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    write_sheets(
        SynthSettings.from_mapping(snakemake.params.settings),
        Paths(results=snakemake.params.results),
        snakemake.output.sessions,
        snakemake.output.videos,
    )
