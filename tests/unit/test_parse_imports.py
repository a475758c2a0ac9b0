"""What the workflow imports when it is parsed stays light: every `snakemake` call pays for it.

torch (~2 s) and movement.kinematics (scipy.spatial, ~0.5 s) were imported at parse time
before; a dry run of a large cohort is the command users repeat most.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "movement.kinematics", "pynwb", "cv2", "deeplabcut", "matplotlib")


def parse_time_modules() -> list[str]:
    """The package modules that the Snakefile's rule files import."""
    text = "".join(p.read_text() for p in (REPO / "rules").glob("*.smk"))
    return sorted(set(re.findall(r"^from (brainbehave[\w.]*) import", text, re.M)))


def test_rule_files_import_no_heavy_package():
    modules = parse_time_modules()
    assert "brainbehave.latents.plan" in modules and "brainbehave.behaviour.plan" in modules
    code = "\n".join(
        [
            "import sys",
            *(f"import {m}" for m in modules),
            f"print([m for m in {HEAVY!r} if m in sys.modules])",
        ]
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"imported when the workflow is parsed: {out.stdout}"
