"""Shared processor fixtures: the spaCy pipeline and the classifier are built once per session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the eval/ harness is a top-level folder of the checkout, not installed
    sys.path.append(str(ROOT))

from processors import Classifier, EntityExtractor, load_classifier

SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "000_a64fb68b309276e4.txt"


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return load_classifier()


@pytest.fixture(scope="session")
def extractor() -> EntityExtractor:
    return EntityExtractor.load()


@pytest.fixture(scope="session")
def seed() -> tuple[str, str]:
    """(title, body) of the article the project started from."""
    if not SEED.exists():
        pytest.skip(f"seed article not found at {SEED} (../shared is absent)")
    title, _, body = SEED.read_text(encoding="utf-8").partition("\n")
    return title.strip(), body.strip()
