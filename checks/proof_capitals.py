"""Employment and income proofs: the monthly income in figures against the same amount in capitals (大写).

Entry point: `check(doc) -> list[Finding]`, over the fields extraction put on `doc.extracted`.

Chinese proofs state money twice, 13,000.00 and 壹万叁仟元整, precisely so that one cannot be changed alone. A
forger who types a new figure into the page and leaves the capitals (harder to retype in the issuer's font)
leaves this disagreement, whatever the file itself still shows. A lender returns such a proof in any case.
"""
from __future__ import annotations

from checks.catalog import finding
from checks.model import Document, Finding
from checks.normalize import parse_capitals

NAME = "proof_capitals"


def applies(doc: Document) -> bool:
    fields = (doc.extracted or {}).get("fields", {})
    return doc.kind == "employment_proof" and "income_capitals_agree" in fields


def check(doc: Document) -> list[Finding]:
    fields = doc.extracted["fields"]
    if fields["income_capitals_agree"]["value"]:
        return []
    figures, capitals = fields["monthly_income"], fields["monthly_income_capitals"]
    spelled = parse_capitals(capitals["value"])
    page = doc.pages[figures["page"] - 1]
    return [finding("INCOME_CAPITALS_MISMATCH", page=figures["page"], bbox=figures["bbox"], units=page.units,
                    severity="medium" if page.ocr else None, figures=figures["value"],
                    capitals=capitals["value"], capitals_amount=None if spelled is None else f"{spelled:.2f}",
                    capitals_bbox=capitals["bbox"])]
