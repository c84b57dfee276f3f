"""The reason-code catalog is the contract reviewers read: every code documented, in the README too."""
from pathlib import Path

import pytest

from checks.catalog import CATALOG
from checks.model import SEVERITIES

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("code", sorted(CATALOG))
def test_every_code_is_documented_and_listed_in_the_readme(code):
    entry = CATALOG[code]
    assert entry.severity in SEVERITIES
    assert entry.message and entry.why and entry.genuine and entry.false_positives
    assert f"`{code}`" in README, f"README.md does not list {code}"
