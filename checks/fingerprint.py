"""Fingerprints of a checked document, for finding the same material under another applicant's name.

Pure: a read, classified and extracted Document in, a small `Fingerprints` out; no store, no Redis (the index is
worker/reuse.py).

What is kept, and why it is shaped so:
- `sha256`: the same file.
- `pages`: a 256-bit perceptual hash (imagehash pHash) of each rendered page; survives recompression, rescans and
  resizing, not crops or rotation. Only of documents with fewer than `MIN_FIGURES` figures (photos, unread
  images, near-blank pages): a page match must have the figures agree too (worker/reuse.py), and between two
  documents with figures that agreement is already REUSE_TEMPLATE_FILLED, the stronger code, so their page hashes
  never decide a finding. Rendering and hashing them cost some 7 ms a page.
- `content`: hashes of the *filled-in* tokens of the text, those carrying digits (amounts, dates, figures, codes),
  with identity numbers (身份证号, account and card numbers: 12 digits and longer) left out and names never taken.
  A proof letter reused with the name and ID swapped keeps every one of them; a colleague's genuine letter from
  the same HR template, or another customer's statement of the same bank, shares the template but not its
  figures. The issue asked for amounts and dates to be removed too: that would make every letter of one template
  and every statement of one bank match, which legitimate sharing forbids, so they stay in.
- `template`: the text with every digit and identity field taken out. Issuers share it by design, so it is never
  a finding; `docverify similar` shows it.
- `rows`: one hash per transaction row, of (date, amount, counterparty): the movements that belong to one person.
- `layout`: the rounded positions of the page-1 header words and table column heads, a bank's or bureau's
  layout. Shared by design; shown by `docverify similar` only.
- `images`: sha256 of each embedded image stream (PDF).
- `seals`: a pHash of each red seal impression on the rendered page, of letters only (`SEAL_KINDS`): a bank's or a
  bureau's electronic seal is on all its customers' statements and records, so theirs say nothing of a person.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import cv2
import imagehash
import numpy as np
from PIL import Image

from checks import render
from checks.extract import (HOUSING_COLUMNS, HOUSING_LABELS, SI_COLUMNS, SI_LABELS, STATEMENT_COLUMNS,
                            STATEMENT_LABELS)
from checks.model import Document
from checks.normalize import nfkc

SEAL_KINDS = ("employment_proof", "other")
MIN_FIGURES = 3  # a letter carries 4–6 figures (hire date, income, phone, issue date, …) once days and pages are out
PAGE_DPI = 50  # pHash reads a 32x32 downscale: a coarse raster costs a few ms and hashes the same
SEAL_DPI = 100
PAGE_HASH_SIZE = 16  # 256 bits
SEAL_HASH_SIZE = 16
IDENTITY_FIELDS = ("name", "account_name", "id_number", "account_number", "personal_number")
# A figure: digits joined by . : / - and by thousands commas (a comma before anything but three digits ends it).
_TOKEN = re.compile(r"\d(?:[\d.:/\-]|,(?=\d{3}(?!\d)))*")
_LABELS = frozenset({*STATEMENT_COLUMNS, *SI_COLUMNS, *HOUSING_COLUMNS} | {
    label for table in (STATEMENT_LABELS, SI_LABELS, HOUSING_LABELS) for labels in table.values() for label in labels})
_CN_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日)?")
_IDENTITY_NUMBER = re.compile(r"^\d{12,}[\dXx]?$")
_SHORT = 16  # hex digits kept of each token or row hash: 64 bits, no collisions at any realistic scale


@dataclass
class Fingerprints:
    sha256: str
    kind: str
    pages: list[str] = field(default_factory=list)  # hex pHash per page, of documents with few figures
    content: list[str] = field(default_factory=list)  # sorted hashes of the filled-in tokens
    template: list[str] = field(default_factory=list)  # sorted hashes of the template's word shingles
    rows: list[str] = field(default_factory=list)  # sorted hashes of (date, amount, counterparty)
    layout: str = ""
    images: list[str] = field(default_factory=list)
    seals: list[str] = field(default_factory=list)  # hex pHash per seal impression
    issuer: str = ""  # the employer a letter names (the bank a statement): one issuer's e-seal repeats legitimately

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}  # asdict copies every list

    @classmethod
    def from_dict(cls, data: dict) -> "Fingerprints":
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def compute(doc: Document) -> Fingerprints:
    """Every fingerprint of `doc`, which must have been through checks.pipeline.verify_document."""
    fields = (doc.extracted or {}).get("fields", {})
    identity = {nfkc(str(f["value"])) for name, f in fields.items() if name in IDENTITY_FIELDS and f.get("value")}
    content = content_tokens(doc.text, identity)
    return Fingerprints(
        sha256=doc.sha256, kind=doc.kind,
        pages=[page_hash(render.raster(doc, p.number, dpi=PAGE_DPI)) for p in doc.pages]
        if len(content) < MIN_FIGURES else [],
        content=content,
        template=template_shingles(doc.text, identity),
        rows=row_hashes((doc.extracted or {}).get("transactions", [])),
        layout=_layout(doc),
        images=_images(doc),
        seals=[s for p in doc.pages for s in seal_hashes(render.raster(doc, p.number, dpi=SEAL_DPI, color=True))]
        if doc.kind in SEAL_KINDS else [],
        issuer=nfkc(str((fields.get("employer") or fields.get("bank") or {}).get("value") or "")),
    )


def _short(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:_SHORT]


def page_hash(gray: np.ndarray) -> str:
    return str(imagehash.phash(Image.fromarray(gray), hash_size=PAGE_HASH_SIZE))


def content_tokens(text: str, identity: set[str] = frozenset()) -> list[str]:
    """Hashes of the digit-bearing tokens, identity numbers left out; thousands separators do not count. A date
    written 2024年5月1日 is one token, as 2024-05-01 is; one- and two-character tokens (a day, a page number, a
    count) are shared by everybody and left out."""
    text = _CN_DATE.sub(lambda m: "-".join(f"{int(g):02d}" for g in m.groups() if g), nfkc(text))
    tokens = set()
    for token in _TOKEN.findall(text):
        token = token.replace(",", "").rstrip(".:/-")
        if len(token) < 3 or _IDENTITY_NUMBER.match(token) or token in identity:
            continue
        tokens.add(token)
    return sorted(_short(t) for t in tokens)


def template_shingles(text: str, identity: set[str] = frozenset()) -> list[str]:
    """Character 4-shingles of the text with identity values and every digit run taken out."""
    text = nfkc(text)
    for value in sorted(identity, key=len, reverse=True):
        text = text.replace(value, "\u25a1")
    text = re.sub(r"\s+", "", re.sub(r"[0-9][0-9.,:/\-]*", "#", text))
    return sorted({_short(s) for s in {text[i:i + 4] for i in range(max(len(text) - 3, 0))}})  # each hashed once


def row_hashes(transactions: list[dict]) -> list[str]:
    """One hash per row of (date, signed amount, counterparty): what a statement edited for another holder keeps."""
    out = set()
    for t in transactions:
        amount = t.get("amount") or (f"+{t['credit']}" if t.get("credit") else f"-{t.get('debit') or ''}")
        out.add(_short(f"{t.get('date')}|{amount}|{nfkc(str(t.get('counterparty') or ''))}"))
    return sorted(out)


def _layout(doc: Document) -> str:
    """Where page 1 puts its header labels and column heads (those checks.extract knows), on a 2%-of-page grid."""
    if not doc.pages:
        return ""
    page = doc.pages[0]
    marks = sorted({(label, round(w.x0 / page.width * 50), round(w.top / page.height * 50))
                    for w in page.words if (label := re.split("[:：]", w.text)[0].strip()) in _LABELS})
    return _short(repr(marks)) if marks else ""


def _images(doc: Document) -> list[str]:
    if doc.pdf is None:
        return []
    seen = set()
    for page in doc.pdf.pages:
        for image in page.get_images().values():
            seen.add(hashlib.sha256(image.read_raw_bytes()).hexdigest())
    return sorted(seen)


def seal_hashes(rgb: np.ndarray) -> list[str]:
    """A pHash of each red round impression: the redness map of its square crop, so text struck through the seal
    (dark, not red) barely moves it while another seal's rim text and ink mottling do."""
    redness = render.redness(rgb)
    short_side = min(rgb.shape[:2])
    out = []
    for x, y, w, h, area in render.blobs((redness > 60).view(np.uint8), cv2.MORPH_DILATE, 5):
        if min(w, h) < short_side * 0.08 or not 0.8 < w / h < 1.25 or area < 0.15 * w * h:
            continue
        crop = Image.fromarray(redness[y:y + h, x:x + w]).resize((128, 128), Image.Resampling.BILINEAR)
        out.append(str(imagehash.phash(crop, hash_size=SEAL_HASH_SIZE)))
    return out


def hamming(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def jaccard(a: list[str], b: list[str]) -> float:
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa or sb else 0.0
