"""EMPLOYER_MISMATCH: the employer the proof names against the one that pays the applicant's social insurance and
housing fund now, and against the payer of the salary.

Bundle check (see checks/bundle.py). The employers, in this order: each income proof's 单位名称 (with its credit
code); each social-insurance record's employer of the latest contribution month (the 参保单位 of the header when the
rows name none), so that a job change months ago does not count against a proof from the new employer; each
housing-fund record's 单位名称; the payer of the latest salary credits. Every one is compared with the first
(normally the proof) by `checks.company.same_company`.

Lenders ask the proof's employer to be the one paying social insurance: a forger can print any letterhead, but
not the social-insurance record. Payroll and social insurance run through HR agencies (人力资源, 外企服务, 劳务派遣)
for many genuine employees, and groups pay salaries from one company for all their subsidiaries: a mismatch with an
HR agency or with the salary payer therefore only asks for review (medium), the others reject (high).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from checks import income
from checks.bundle import NotApplicable, Rules, of_kind, read_by_ocr, value, where
from checks.catalog import finding
from checks.company import clean, same_company
from checks.model import DocumentResult, Finding

HR_AGENCY = re.compile(r"人力资源|人才服务|外企服务|外服|劳务派遣")


@dataclass(frozen=True)
class Employer:
    source: str  # proof | social_insurance | housing_fund | salary_payer
    name: str
    uscc: str | None
    at: dict  # file, page, bbox, units
    ocr: bool = False  # the name was read by OCR, which misreads now and then

    def evidence(self, normalized: str) -> dict:
        return {"source": self.source, "name": self.name, "normalized": normalized, "uscc": self.uscc, **self.at}


def _named(result: DocumentResult, source: str) -> Employer | None:
    name = value(result, "employer")
    if not name:
        return None
    return Employer(source, name, value(result, "employer_uscc"), where(result, result.extracted["fields"]["employer"]),
                    read_by_ocr(result))


def _insured(record: DocumentResult) -> Employer | None:
    rows = [r for r in record.extracted.get("contributions", []) if r.get("period") and r.get("employer")]
    if not rows:
        return _named(record, "social_insurance")
    latest = max(rows, key=lambda r: r["period"])
    return Employer("social_insurance", latest["employer"], value(record, "employer_uscc"), where(record, latest),
                    read_by_ocr(record))


def _payer(results: list[DocumentResult]) -> Employer | None:
    try:
        series = income.salary_series(results)
    except NotApplicable:
        return None
    # A person paying salary (small businesses do) names no company to compare with.
    paid = [c for credits in series.salary.values() for c in credits
            if c.payer and income.COMPANY.search(clean(c.payer))]
    if not paid:
        return None
    latest = max(paid, key=lambda c: c.day)
    return Employer("salary_payer", latest.payer, None, latest.at)


def _employers(results: list[DocumentResult]) -> list[Employer]:
    # The proof read from a text layer first: it is the one the others are compared with.
    found = [_named(r, "proof") for r in sorted(of_kind(results, "employment_proof"), key=read_by_ocr)]
    found += [_insured(r) for r in of_kind(results, "social_insurance")]
    found += [_named(r, "housing_fund") for r in of_kind(results, "housing_fund")]
    found.append(_payer(results))
    return [e for e in found if e is not None]


def check(results: list[DocumentResult], rules: Rules) -> tuple[list[Finding], str]:
    found = _employers(results)
    if len(found) < 2:
        raise NotApplicable("fewer than two documents name an employer"
                            + (f" (only {found[0].at['file']})" if found else ""))
    claimed, others = found[0], found[1:]
    out = []
    for other in others:
        match = same_company(claimed.name, other.name, claimed.uscc, other.uscc)
        if match.same:
            continue
        soft = (other.source == "salary_payer" or claimed.ocr or other.ocr
                or any(HR_AGENCY.search(e.name) for e in (claimed, other)))
        out.append(finding("EMPLOYER_MISMATCH", severity="medium" if soft else None,
                           documents=[claimed.at["file"], other.at["file"]], reason=match.reason,
                           similarity=match.similarity, claimed=claimed.evidence(str(match.a)),
                           other=other.evidence(str(match.b))))
    compared = ", ".join(f"{e.at['file']} ({e.source})" for e in others)
    return out, f"{claimed.at['file']} ({claimed.source}) against {compared}"
