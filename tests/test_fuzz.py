"""Fuzzing in the suite: every crasher a campaign found (tests/fuzz_corpus/) still holds the property, and a short,
derandomised Hypothesis run over mutated real documents (tests/fuzzing.py; long campaigns: scripts/fuzz.py)."""
import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzzing import CORPUS, corpus, mutated, outcome

# Reproducible in CI: the same cases every run, nothing remembered between runs, no per-case deadline (the
# property's own bound is the time limit).
SHORT = settings(derandomize=True, database=None, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def test_the_corpus_is_indexed():
    files = corpus()
    assert files, f"{CORPUS} is empty"
    index = (CORPUS / "README.md").read_text(encoding="utf-8")
    for path in files:
        assert f"`{path.name}`" in index, f"{path.name} has no line in {CORPUS / 'README.md'}"
    assert "not yet" not in index, "a crasher in the corpus is not fixed"


@pytest.mark.parametrize("path", corpus(), ids=lambda p: p.name)
def test_corpus_file_holds_the_property(path):
    label, _ = outcome(path.name, path.read_bytes(), checks=True, seconds=120)
    assert label == "checked" or label.startswith("INPUT_")


@settings(SHORT, max_examples=150)
@given(mutated())
def test_any_mutated_upload_opens_or_is_refused(case):
    label, _ = outcome(*case, checks=False, seconds=30)
    assert label == "checked" or label.startswith("INPUT_")


@settings(SHORT, max_examples=30)
@given(mutated(("pdf",)))
def test_any_mutated_pdf_is_checked_or_refused(case):
    label, _ = outcome(*case, checks=True, seconds=60)
    assert label == "checked" or label.startswith("INPUT_")
