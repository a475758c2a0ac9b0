"""Rule wrapper: simulate one virtual-lab session (logic in brainbehave.synth.cohort)."""

from brainbehave.logs import rule_logging
from brainbehave.paths import Paths
from brainbehave.synth.cohort import SynthSettings, generate_session

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    generate_session(
        SynthSettings.from_mapping(snakemake.params.settings),
        snakemake.wildcards.subject,
        snakemake.wildcards.session,
        Paths(results=snakemake.params.results),
    )
