"""One applicant's documents as the bundle checks see them, and the rules configuration gives those checks.

Every bundle check is a function `check(results, rules) -> (findings, detail)` over the checked documents of the
bundle: `detail` says in a line what was compared, for the bundle's `checks` list. A check that finds nothing to
compare raises `NotApplicable` with the reason, so "nothing found" differs from "not checked".
"""
from __future__ import annotations

from dataclasses import dataclass

from checks.model import DocumentResult


@dataclass(frozen=True)
class Rules:
    """Thresholds of the bundle checks (configuration: the TOML table [bundle])."""

    income_fluctuation: float = 0.30  # month-to-month salary change above this is a finding; exactly it is not
    stated_income_tolerance: float = 0.20  # see checks/income.py for how the proof's 税前/税后 figure is compared


class NotApplicable(Exception):
    """The bundle lacks what a check compares; the message says what is missing."""


def of_kind(results: list[DocumentResult], kind: str) -> list[DocumentResult]:
    return [r for r in results if r.kind == kind]


def read_by_ocr(result: DocumentResult) -> bool:
    """Whether the document's words came from OCR, which misreads now and then: findings on them weigh less."""
    return any(c.name == "ocr" and c.status == "ran" for c in result.checks)


def value(result: DocumentResult, name: str):
    """A header field's value, None when extraction did not find it."""
    return result.extracted.get("fields", {}).get(name, {}).get("value")


def where(result: DocumentResult, item: dict | None) -> dict:
    """The file, page and box of an extracted field or row, for a finding's evidence."""
    item = item or {}
    return {"file": result.file, "page": item.get("page"), "bbox": item.get("bbox"),
            "units": "pt" if result.format == "pdf" else "px"}


def field_at(result: DocumentResult, name: str) -> dict:
    """A header field's value with where it is."""
    item = result.extracted.get("fields", {}).get(name)
    return {"value": (item or {}).get("value"), **where(result, item)}


def add_months(month: str, count: int) -> str:
    """'2025-01' plus `count` months (negative: back), in the YYYY-MM form extraction gives periods."""
    year, m = map(int, month.split("-"))
    index = year * 12 + m - 1 + count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
