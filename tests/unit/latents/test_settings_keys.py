"""The parse-time table of latent-model settings matches the estimators, and needs no torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from brainbehave.errors import ConfigError
from brainbehave.latents.plan import KINDS, ModelSpec, estimator_class
from brainbehave.latents.settings_keys import SETTINGS_KEYS, keys_from_signatures


@pytest.mark.parametrize("kind", KINDS)
def test_table_equals_the_estimator_signature(kind: str):
    # an argument added to an estimator must be added to the table (or the config refuses it)
    assert SETTINGS_KEYS[kind] == keys_from_signatures(estimator_class(kind))


def test_every_kind_has_a_table_entry():
    assert set(SETTINGS_KEYS) == set(KINDS)


def test_checking_model_settings_does_not_import_torch():
    code = (
        "import sys\n"
        "from brainbehave.latents.plan import ModelSpec\n"
        "ModelSpec.from_config('h', {'kind': 'hybrid', 'behaviour_weight': 1.0}, {})\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_key_of_another_kind_is_still_refused():
    with pytest.raises(ConfigError, match=r"\['latent_dim'\] do not apply to a hybrid model"):
        ModelSpec.from_config("h", {"kind": "hybrid", "latent_dim": 4}, {})
