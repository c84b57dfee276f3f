"""Run every applicable check on a document, and the bundle checks on an applicant's documents."""
from __future__ import annotations

from checks import classify, extract, pdf_structure
from checks.model import CheckRun, Document, DocumentResult, Finding
from checks.verdict import Policy, decide, ranked, worst

# Each check module exposes NAME, applies(doc) and check(doc) -> list[Finding].
DOCUMENT_CHECKS = [pdf_structure]


def verify_document(doc: Document, policy: Policy = Policy()) -> DocumentResult:
    doc.kind = classify.classify(doc)
    findings: list[Finding] = []
    runs: list[CheckRun] = []
    for module in DOCUMENT_CHECKS:
        if not module.applies(doc):
            runs.append(CheckRun(module.NAME, "not_applicable"))
            continue
        try:
            findings.extend(module.check(doc))
            runs.append(CheckRun(module.NAME, "ran"))
        except Exception as exc:  # one broken check must not hide what the others found
            runs.append(CheckRun(module.NAME, "error", f"{type(exc).__name__}: {exc}"[:300]))
    try:
        extracted = extract.extract(doc)
        runs.append(CheckRun("extract", "ran"))
    except Exception as exc:  # unreadable fields must not cost the forensic findings
        extracted = {"fields": {}, "transactions": []}
        runs.append(CheckRun("extract", "error", f"{type(exc).__name__}: {exc}"[:300]))
    findings = ranked(findings)
    return DocumentResult(file=doc.name, sha256=doc.sha256, format=doc.format, kind=doc.kind,
                          pages=len(doc.pages), verdict=decide(findings, runs, policy),
                          findings=findings, checks=runs, extracted=extracted)


def verify_bundle(results: list[DocumentResult], unreadable: int = 0) -> dict:
    """Bundle-level verdict: the worst document, and review when a file of the bundle could not be read.

    The cross-document consistency checks add their findings here.
    """
    verdicts = [r.verdict.verdict for r in results] + (["review"] if unreadable else [])
    return {"verdict": worst(verdicts), "findings": []}
