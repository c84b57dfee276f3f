"""PDF metadata: the software named in Info and XMP, the file's last writer, dates, XMP edit history.

Metadata is easy to forge and easy to strip, so on its own it asks for review, never for rejection.
Entry point: `check(doc) -> list[Finding]`.
"""
from __future__ import annotations

import re
import tomllib
from datetime import datetime, timedelta, timezone
from importlib import resources

import pikepdf

from checks.catalog import finding
from checks.model import Document, Finding
from checks.pdf_revisions import is_linearized, revision_ends

NAME = "pdf_metadata"

# Exports are written in one go; an employer may take a while to sign and save a letter, but not days.
MODIFIED_WINDOW = timedelta(days=1)
# Info and XMP dates are written in the same save; writers round them differently, by a second or so.
DATE_TOLERANCE = timedelta(minutes=1)

_PDF_DATE = re.compile(r"^D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(Z|[+-]\d{2}'?\d{2}'?|[+-]\d{2})?")
_HEADER_COMMENT = re.compile(rb"%PDF-\d\.\d\s*\r?\n?%([\x80-\xff]{4})")
_XMP_AGENT = re.compile(r"stEvt:softwareAgent(?:=\"([^\"]*)\"|>([^<]*)<)")


def applies(doc: Document) -> bool:
    return doc.format == "pdf"


def check(doc: Document) -> list[Finding]:
    info = document_info(doc.pdf)
    out = _software_findings(info) + _writer_findings(doc, info) + _date_findings(info)
    # An incremental update (a signature, say) rewrites Info but not XMP; pdf_revisions judges such updates.
    return out + _xmp_findings(doc.pdf, info, compare=len(revision_ends(doc.data)) == 1)


def _software_lists() -> dict:
    text = resources.files("checks.data").joinpath("pdf_software.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


SOFTWARE = _software_lists()


def editor_in(value: str) -> str | None:
    """The editing tool named in a Producer/Creator string, or None."""
    low = value.lower()
    for name in SOFTWARE["editors"] + SOFTWARE["image_editors"]:
        if name.lower() in low:
            return name
    return None


def stream_library_in(info: dict[str, str]) -> str | None:
    """The content-stream library named as Producer or Creator (its own files are written in its style)."""
    low = f"{info.get('Producer', '')} {info.get('Creator', '')}".lower()
    return next((name for name in SOFTWARE["stream_libraries"] if name.lower() in low), None)


def document_info(pdf: pikepdf.Pdf) -> dict[str, str]:
    out = {}
    for key in ("/Producer", "/Creator", "/CreationDate", "/ModDate"):
        try:
            if key in pdf.docinfo:
                out[key[1:]] = str(pdf.docinfo[key]).strip()
        except (pikepdf.PdfError, UnicodeDecodeError, ValueError):
            out[key[1:]] = "<unreadable>"
    return out


def _software_findings(info: dict[str, str]) -> list[Finding]:
    out = []
    for field in ("Producer", "Creator"):
        value = info.get(field, "")
        if value and editor_in(value):
            out.append(finding("PDF_EDITOR_SOFTWARE", field=field, value=value))
    return out


def last_writer(data: bytes) -> dict | None:
    """The known program whose binary header comment the file carries, or None."""
    m = _HEADER_COMMENT.match(data[data.find(b"%PDF-"):][:64])
    if not m:
        return None
    return next((w for w in SOFTWARE["writers"] if bytes.fromhex(w["header"]) == m[1]), None)


def _writer_findings(doc: Document, info: dict[str, str]) -> list[Finding]:
    """A whole-file rewrite removes every revision trace, but not the rewriting tool's own header."""
    writer = last_writer(doc.data)
    producer = info.get("Producer", "")
    if writer is None or not writer["rewrites"] or not producer or len(revision_ends(doc.data)) > 1:
        return []
    if any(p.lower() in producer.lower() for p in writer["producers"]):
        return []
    ids = doc.pdf.trailer.get("/ID")
    evidence = {"writer": writer["name"], "producer": producer,
                "ids_differ": bool(ids is not None and len(ids) == 2 and bytes(ids[0]) != bytes(ids[1]))}
    return [finding("PDF_REWRITTEN", linearized=is_linearized(doc.data), **evidence)]


def parse_pdf_date(value: str) -> datetime | None:
    m = _PDF_DATE.match(value.strip())
    if not m:
        return None
    year, month, day, hour, minute, second, tz = m.groups()
    try:
        stamp = datetime(int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0),
                         int(second or 0))
    except ValueError:
        return None
    offset = timedelta(0)
    if tz and tz != "Z":
        digits = tz.replace("'", "")
        sign = -1 if digits[0] == "-" else 1
        offset = sign * timedelta(hours=int(digits[1:3]), minutes=int(digits[3:5] or 0))
    return stamp.replace(tzinfo=timezone(offset))


def _date_findings(info: dict[str, str]) -> list[Finding]:
    out = []
    missing = [k for k in ("Producer", "CreationDate") if not info.get(k)]
    if len(missing) == 2 and not info.get("Creator"):
        out.append(finding("PDF_METADATA_MISSING", missing="producer, creator or creation date"))
    dates = {}
    for field in ("CreationDate", "ModDate"):
        if info.get(field):
            dates[field] = parse_pdf_date(info[field])
            if dates[field] is None:
                out.append(finding("PDF_METADATA_MALFORMED", field=field, value=info[field][:60]))
    created, modified = dates.get("CreationDate"), dates.get("ModDate")
    if created and modified and modified - created > MODIFIED_WINDOW:
        out.append(finding("PDF_MODIFIED_AFTER_CREATION", delay=_human(modified - created),
                           created=created.isoformat(), modified=modified.isoformat()))
    return out


def _xmp_findings(pdf: pikepdf.Pdf, info: dict[str, str], compare: bool) -> list[Finding]:
    out = []
    try:
        meta = pdf.open_metadata()
        xmp_producer = str(meta.get("pdf:Producer", "") or "").strip()
        raw = pdf.Root.Metadata.read_bytes().decode("utf-8", "replace") if "/Metadata" in pdf.Root else ""
    except Exception:  # unparseable XMP is common in the wild and says little on its own
        return []
    producer = info.get("Producer", "")
    if compare and xmp_producer and producer and xmp_producer != producer:
        out.append(finding("PDF_METADATA_MISMATCH", field="Producer", info=producer, xmp=xmp_producer))
    for field, xmp_key in (("CreationDate", "xmp:CreateDate"), ("ModDate", "xmp:ModifyDate")):
        stated, recorded = parse_pdf_date(info.get(field, "")), _iso_date(str(meta.get(xmp_key, "") or ""))
        if compare and stated and recorded and abs(stated - recorded) > DATE_TOLERANCE:
            out.append(finding("PDF_METADATA_MISMATCH", field=field, info=stated.isoformat(),
                               xmp=recorded.isoformat()))
    agents = [a or b for a, b in _XMP_AGENT.findall(raw)]
    editors = sorted({a for a in agents if editor_in(a)})
    if editors:
        out.append(finding("PDF_EDIT_HISTORY", agents=", ".join(editors), entries=len(agents)))
    return out


def _iso_date(value: str) -> datetime | None:
    """An XMP date (ISO 8601); without a zone it is taken as UTC, as parse_pdf_date does."""
    try:
        stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def _human(delta: timedelta) -> str:
    days = delta.days
    if days >= 60:
        return f"{days // 30} months"
    if days >= 1:
        return f"{days} days"
    return f"{int(delta.total_seconds() // 3600)} hours"
