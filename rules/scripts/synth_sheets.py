"""Rule wrapper: the virtual-lab cohort's sessions and videos sheets."""

import pandas as pd

from brainbehave.config import write_cohort_sheets
from brainbehave.logs import rule_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_logging(snakemake.log[0]):
    write_cohort_sheets(
        pd.DataFrame(snakemake.params.sessions),
        pd.DataFrame(snakemake.params.videos),
        snakemake.output.sessions,
        snakemake.output.videos,
    )
