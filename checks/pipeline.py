"""Run every applicable check on a document, and the bundle checks on an applicant's documents."""
from __future__ import annotations

from checks import (classify, extract, ocr, pdf_fonts, pdf_glyphs, pdf_metadata, pdf_overlay, pdf_revisions,
                    proof_capitals, image_provenance, reading, second_opinion, statement_arithmetic)
from checks.model import CheckRun, Document, DocumentResult, Finding
from checks.verdict import Policy, decide, ranked, worst

# Each check module exposes NAME, applies(doc) and check(doc) -> list[Finding].
DOCUMENT_CHECKS = [
    pdf_revisions,
    pdf_metadata,
    pdf_overlay,
    pdf_fonts,
    pdf_glyphs,
    statement_arithmetic,
    proof_capitals,
    image_provenance,
]


def verify_document(doc: Document, policy: Policy = Policy(), ocr_engine: str = ocr.DEFAULT_ENGINE) -> DocumentResult:
    runs: list[CheckRun] = []
    _read(doc, ocr_engine, runs)
    doc.kind = classify.classify(doc)
    doc.extracted = _extract(doc, ocr_engine, runs)
    findings = ranked(_forensics(doc, runs))
    return DocumentResult(file=doc.name, sha256=doc.sha256, format=doc.format, kind=doc.kind,
                          pages=len(doc.pages), verdict=decide(findings, runs, policy),
                          findings=findings, checks=runs, extracted=doc.extracted)


def _read(doc: Document, engine: str, runs: list[CheckRun]) -> None:
    if not reading.needs_ocr(doc):
        return
    try:
        reading.read(doc, engine)
        runs.append(CheckRun("ocr", "ran", engine))
    except ocr.EngineUnavailable as exc:  # the document is still checked for what needs no text
        runs.append(CheckRun("ocr", "error", str(exc)))


def _forensics(doc: Document, runs: list[CheckRun]) -> list[Finding]:
    findings: list[Finding] = []
    for module in DOCUMENT_CHECKS:
        if not module.applies(doc):
            runs.append(CheckRun(module.NAME, "not_applicable"))
            continue
        try:
            findings.extend(module.check(doc))
            runs.append(CheckRun(module.NAME, "ran"))
        except Exception as exc:  # one broken check must not hide what the others found
            runs.append(CheckRun(module.NAME, "error", f"{type(exc).__name__}: {exc}"[:300]))
    return findings


def _extract(doc: Document, engine: str, runs: list[CheckRun]) -> dict:
    try:
        extracted = extract.extract(doc)
        runs.append(CheckRun("extract", "ran"))
    except Exception as exc:  # unreadable fields must not cost the forensic findings
        runs.append(CheckRun("extract", "error", f"{type(exc).__name__}: {exc}"[:300]))
        return {"fields": {}, "transactions": []}
    if extracted["transactions"] and any(p.ocr for p in doc.pages):
        try:
            fixed = second_opinion.recheck(doc, extracted["transactions"], engine)
            runs.append(CheckRun("second_opinion", "ran", f"{len(fixed)} row(s) re-read"))
        except ocr.EngineUnavailable as exc:
            runs.append(CheckRun("second_opinion", "error", str(exc)))
    return reading.delivered(doc, extracted)


def verify_bundle(results: list[DocumentResult], unreadable: int = 0) -> dict:
    """Bundle-level verdict: the worst document, and review when a file of the bundle could not be read.

    The cross-document consistency checks add their findings here.
    """
    verdicts = [r.verdict.verdict for r in results] + (["review"] if unreadable else [])
    return {"verdict": worst(verdicts), "findings": []}
