"""Run every applicable check on a document, and the bundle checks on an applicant's documents."""
from __future__ import annotations

from checks import (classify, contribution_arithmetic, extract, ocr, pdf_fonts, pdf_glyphs, pdf_metadata,
                    pdf_overlay, pdf_revisions, proof_capitals, image_provenance, reading, second_opinion,
                    statement_arithmetic)
from checks import image_compression, image_copymove, image_text
from checks import bundle, employer, identity, income, social_insurance
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
    contribution_arithmetic,
    proof_capitals,
    image_provenance,
    image_text,
    image_compression,
    image_copymove,
]


def verify_document(doc: Document, policy: Policy = Policy(), ocr_engine: str = ocr.DEFAULT_ENGINE,
                    ocr_threads: int = 1) -> DocumentResult:
    """`ocr_threads`: how many cores the OCR of one page may use (see checks.reading.read)."""
    runs: list[CheckRun] = []
    _read(doc, ocr_engine, ocr_threads, runs)
    doc.kind = classify.classify(doc)
    doc.extracted = _extract(doc, ocr_engine, runs)
    findings = ranked(_forensics(doc, runs))
    return DocumentResult(file=doc.name, sha256=doc.sha256, format=doc.format, kind=doc.kind,
                          pages=len(doc.pages), verdict=decide(findings, runs, policy),
                          findings=findings, checks=runs, extracted=doc.extracted)


def _read(doc: Document, engine: str, threads: int, runs: list[CheckRun]) -> None:
    if not reading.needs_ocr(doc):
        return
    try:
        reading.read(doc, engine, threads)
        runs.append(CheckRun("ocr", "ran", engine))
    except ocr.EngineUnavailable as exc:  # the document is still checked for what needs no text
        runs.append(CheckRun("ocr", "error", str(exc)))
    except Exception as exc:  # an engine choking on a page (a 10-pixel-high strip, say) must not cost the rest
        runs.append(CheckRun("ocr", "error", f"{type(exc).__name__}: {str(exc) or exc.__cause__}"[:300]))


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
        # Each cell is re-read by whichever engines are installed: the page's own at least. Dates first: which
        # way the statement runs is read from them.
        dated = second_opinion.redate(doc, extracted["transactions"], engine)
        fixed = second_opinion.recheck(doc, extracted["transactions"], engine)
        runs.append(CheckRun("second_opinion", "ran", f"{len(dated)} date(s), {len(fixed)} row(s) re-read"))
    return reading.delivered(doc, extracted)


# Each bundle check is check(results, rules) -> (findings, detail), raising bundle.NotApplicable (checks/bundle.py).
BUNDLE_CHECKS = [
    ("employer", employer.check),
    ("income_series", income.check_series),
    ("income_stated", income.check_stated),
    ("social_insurance", social_insurance.check_contributions),
    ("housing_fund", social_insurance.check_housing_fund),
    ("identity", identity.check),
]


def verify_bundle(results: list[DocumentResult], unreadable: int = 0, policy: Policy = Policy(),
                  rules: bundle.Rules = bundle.Rules()) -> dict:
    """The consistency checks across one applicant's documents, and the bundle's verdict: the bundle findings
    decided like a document's, then the worst of that and every document's verdict (review when a file of the
    bundle could not be read). `checks` says which bundle checks ran and why the others could not."""
    runs: list[CheckRun] = []
    findings: list[Finding] = []
    for name, check in BUNDLE_CHECKS:
        try:
            found, detail = check(results, rules)
        except bundle.NotApplicable as exc:
            runs.append(CheckRun(name, "not_applicable", str(exc)))
            continue
        except Exception as exc:  # one broken check must not hide what the others found
            runs.append(CheckRun(name, "error", f"{type(exc).__name__}: {exc}"[:300]))
            continue
        findings += found
        runs.append(CheckRun(name, "ran", detail))
    findings = ranked(findings)
    own = decide(findings, runs, policy)
    verdicts = [own.verdict] + [r.verdict.verdict for r in results] + (["review"] if unreadable else [])
    return {"verdict": worst(verdicts), "score": own.score, "findings": [f.to_dict() for f in findings],
            "checks": [r.to_dict() for r in runs]}
