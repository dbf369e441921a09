"""Shared test set-up: one thread (a 2-core box stalls small ops otherwise) and float64 oracles."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))


@pytest.fixture(scope="session")
def built_site() -> Path:
    """The website, built once per test run with every notebook executed (warnings are errors).

    OPTBOOK_TEST_SITE=path/to/html reuses an existing build (for iterating on the site tests only).
    """
    import build_book

    if os.environ.get("OPTBOOK_TEST_SITE"):
        return Path(os.environ["OPTBOOK_TEST_SITE"]).resolve()
    return build_book.build()


# The quick tier (`make test-quick`, `pytest -m "not slow"`) leaves out what needs minutes: the
# claims modules (each runs the page's experiments on several seeds), the book build and the
# browser checks (the built site, the live toys in Chromium), and the benchmark smoke tests.
_SLOW_MODULES = ("test_claims_", "test_site_browser", "test_benchmarks", "test_live_toys")


def pytest_collection_modifyitems(config, items):
    for item in items:
        name = item.path.stem  # a test module, or a library module for doctests
        if name.startswith(_SLOW_MODULES) or "built_site" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
