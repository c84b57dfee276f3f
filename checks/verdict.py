"""Turn findings into a score and a verdict. Weights and thresholds come from configuration."""
from __future__ import annotations

from dataclasses import dataclass, field

from checks.model import SEVERITIES, CheckRun, Finding, Verdict


@dataclass(frozen=True)
class Policy:
    weights: dict[str, float] = field(default_factory=lambda: {"low": 0.1, "medium": 0.4, "high": 0.9})
    review_at: float = 0.3


def decide(findings: list[Finding], checks: list[CheckRun] = (), policy: Policy = Policy()) -> Verdict:
    """Noisy-OR of the findings' weights: independent weak signals add up, one strong signal dominates.

    `reject` needs a high-severity finding, so metadata or weak signals alone can only ask for review.
    A check that errored means part of the document went unchecked, which a person must see.
    """
    clear = 1.0
    for f in findings:
        clear *= 1.0 - policy.weights[f.severity]
    score = round(1.0 - clear, 3)
    if any(f.severity == "high" for f in findings):
        verdict = "reject"
    elif score >= policy.review_at or any(c.status == "error" for c in checks):
        verdict = "review"
    else:
        verdict = "pass"
    return Verdict(verdict, score)


def worst(verdicts: list[str]) -> str:
    order = ("pass", "review", "reject")
    return max(verdicts, key=order.index, default="pass")


def ranked(findings: list[Finding]) -> list[Finding]:
    """Most severe first, keeping each check's own order within a severity."""
    return sorted(findings, key=lambda f: -SEVERITIES.index(f.severity))
