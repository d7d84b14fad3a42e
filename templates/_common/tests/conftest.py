"""Puts the plugin folder on sys.path, so tests import plugin modules by their top-level names."""

import json
import sys
from pathlib import Path

import pytest

PLUGIN_ROOT = Path(__file__).resolve().parent.parent

if sys.path[:1] != [str(PLUGIN_ROOT)]:
    sys.path.insert(0, str(PLUGIN_ROOT))


@pytest.fixture(scope="session")
def plugin_root() -> Path:
    """The plugin folder (the one holding manifest.py)."""
    return PLUGIN_ROOT


@pytest.fixture(scope="session")
def sample_records() -> list:
    """The records of sample_data.json, as `mixpeek plugin test --sample-data sample_data.json` reads them."""
    return json.loads((PLUGIN_ROOT / "sample_data.json").read_text(encoding="utf-8"))
