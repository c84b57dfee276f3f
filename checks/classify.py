"""Document kind from title and header words."""
from __future__ import annotations

from checks.model import Document

# Ordered: a proof mentions 社保 or 工资 in passing, so its own title words are tried first.
_KIND_WORDS = [
    ("employment_proof", ("在职证明", "收入证明", "工作证明", "兹证明")),
    ("social_insurance", ("社会保险", "社保", "参保", "养老保险")),
    ("housing_fund", ("公积金",)),
    ("bank_statement", ("流水", "交易明细", "历史明细", "交易清单", "对账单", "交易流水")),
]


def classify(doc: Document) -> str:
    head = "".join(doc.pages[0].text.split())[:400] if doc.pages else ""
    for kind, words in _KIND_WORDS:
        if any(w in head for w in words):
            return kind
    return "other"
