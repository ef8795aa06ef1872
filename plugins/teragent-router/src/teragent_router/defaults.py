"""Loads ``defaults.toml``, the routing data shipped with the package."""

from __future__ import annotations

import copy
import functools
import sys
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["load_defaults"]


@functools.lru_cache(maxsize=1)
def _parsed() -> dict[str, Any]:
    text = resources.files("teragent_router").joinpath("defaults.toml").read_text("utf-8")
    return tomllib.loads(text)


def load_defaults() -> dict[str, Any]:
    """A fresh copy of the shipped defaults (``routing``, ``profiles``)."""
    return copy.deepcopy(_parsed())
