"""The small data model passed through the pipeline: Document → Page, Finding, DocumentResult."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("low", "medium", "high")
VERDICTS = ("pass", "review", "reject")
KINDS = ("bank_statement", "employment_proof", "social_insurance", "housing_fund", "other")


class InputError(Exception):
    """An upload that cannot be checked. `code` is an INPUT_ reason code from the catalog."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Word:
    """A run of text with its box, from the text layer or from OCR. Coordinates from the top-left corner,
    in the page's units. `chars` holds per-character boxes when the source gives them; for the text layer
    each character also carries its font, size, baseline and fill colour, which the forensic checks compare."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    conf: float = 1.0  # OCR confidence 0..1; 1.0 for text-layer words
    font: str = ""  # text layer only
    size: float = 0.0
    chars: tuple["Word", ...] = ()
    baseline: float = 0.0  # text layer: distance of the baseline from the page top
    color: tuple = ()  # text layer: fill colour as the PDF states it (gray, RGB or CMYK components)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        return (self.x0, self.top, self.x1, self.bottom)


@dataclass(frozen=True)
class Line:
    """Words that read as one line, left to right."""

    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        return (min(w.x0 for w in self.words), min(w.top for w in self.words),
                max(w.x1 for w in self.words), max(w.bottom for w in self.words))


@dataclass
class Page:
    number: int  # 1-based, as in the result contract
    width: float
    height: float
    units: str  # "pt" for PDF pages, "px" for images
    text: str = ""
    words: list[Word] = field(default_factory=list)  # reading words, watermark removed
    lines: list[Line] = field(default_factory=list)  # the same words grouped into lines, once, for every reader
    watermark: list[Word] = field(default_factory=list)  # rotated, oversized or light characters, for forensics
    rects: list[dict] = field(default_factory=list)  # filled or stroked rectangles: bbox, fill, stroke colours
    images: list[dict] = field(default_factory=list)  # placed images: bbox, name, pixel size
    scanned: bool = False  # no usable text layer: words must come from OCR
    ocr: str = ""  # the OCR engine that produced `words`, if one did
    unskew: Any = None  # slope model (see checks.reading) when `words` were levelled from a skewed page


@dataclass
class Document:
    """One accepted upload, opened. `pdf` is the pikepdf handle for PDF inputs, kept open for structure checks."""

    name: str
    sha256: str
    format: str  # "pdf" | "image"
    data: bytes
    pages: list[Page]
    pdf: Any = None
    image: Any = None  # PIL.Image for image inputs, EXIF orientation applied
    kind: str = "other"
    rasters: dict = field(default_factory=dict)  # (page, dpi) → gray array, filled by checks.render
    pdfium: Any = None  # the PDF open in PDFium, by checks.render on its first rendering
    extracted: dict | None = None  # fields and transactions, filled by checks.extract before the checks run

    @property
    def text(self) -> str:
        return "\n".join(p.text for p in self.pages)

    def close(self) -> None:
        if self.pdf is not None:
            self.pdf.close()
        if self.pdfium is not None:
            self.pdfium.close()
        if self.image is not None:
            self.image.close()


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    message: str
    page: int | None = None
    bbox: tuple[float, float, float, float] | None = None
    units: str | None = None
    evidence: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"code": self.code, "severity": self.severity, "message": self.message}
        if self.page is not None:
            out["page"] = self.page
        if self.bbox is not None:
            out["bbox"] = [round(v, 2) for v in self.bbox]
            out["units"] = self.units
        out["evidence"] = self.evidence
        return out


@dataclass
class CheckRun:
    """Which check looked at a document and how it went, so 'nothing found' differs from 'not checked'."""

    name: str
    status: str  # "ran" | "not_applicable" | "error"
    detail: str = ""

    def to_dict(self) -> dict:
        out = {"name": self.name, "status": self.status}
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass
class Verdict:
    verdict: str
    score: float


@dataclass
class DocumentResult:
    file: str
    sha256: str
    format: str
    kind: str
    pages: int
    verdict: Verdict
    findings: list[Finding]
    checks: list[CheckRun]
    extracted: dict = field(default_factory=lambda: {"fields": {}, "transactions": []})

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "format": self.format,
            "kind": self.kind,
            "pages": self.pages,
            "verdict": self.verdict.verdict,
            "score": self.verdict.score,
            "findings": [f.to_dict() for f in self.findings],
            "extracted": self.extracted,
            "checks": [c.to_dict() for c in self.checks],
        }
