"""Fixtures of the behaviour tests; one torch thread (two cores shared on CI)."""

from __future__ import annotations

import pytest
import torch
from behaviour_lab import lab_session

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def minute_session():
    """60 s of virtual-lab pose with its true labels."""
    return lab_session(60.0)
