"""PDF structure: incremental updates and what each one changed, producer software, metadata dates.

Entry point: `check(doc) -> list[Finding]`.
"""
from __future__ import annotations

import hashlib
import io
import re
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from importlib import resources

import pikepdf

from checks.catalog import finding
from checks.model import Document, Finding

NAME = "pdf_structure"

# Exports are written in one go; an employer may take a while to sign and save a letter, but not days.
MODIFIED_WINDOW = timedelta(days=1)
# Rebuilding revisions costs one parse each; files with more are reported without the per-revision diff.
MAX_REVISIONS_DIFFED = 30

_EOF = re.compile(rb"startxref\s+(\d+)\s*%%EOF")
_PDF_DATE = re.compile(r"^D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(Z|[+-]\d{2}'?\d{2}'?|[+-]\d{2})?")


def applies(doc: Document) -> bool:
    return doc.format == "pdf"


def check(doc: Document) -> list[Finding]:
    return _revision_findings(doc) + _software_findings(doc.pdf) + _metadata_findings(doc.pdf)


# --- revisions ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Snapshot:
    """What a revision shows: per page a digest of its content and of its fonts/images, plus the extras."""

    pages: tuple[str, ...]
    resources: tuple[str, ...]
    annotations: tuple[str, ...]
    form: str
    signatures: int
    info: str


def revision_ends(data: bytes) -> list[int]:
    """Byte offsets just past each revision's %%EOF, ignoring the first-page trailer of a linearized file."""
    ends = [m.end() for m in _EOF.finditer(data)]
    if len(ends) > 1 and _is_linearized(data) and ends[0] < len(data) // 2:
        ends = ends[1:]
    return ends


def _is_linearized(data: bytes) -> bool:
    return b"/Linearized" in data[:2048]


def _revision_findings(doc: Document) -> list[Finding]:
    ends = revision_ends(doc.data)
    if len(ends) < 2:
        return []
    total = len(ends)
    if total > MAX_REVISIONS_DIFFED:
        return [finding("PDF_REVISION_CONTENT_CHANGED", severity="medium", revision=total, revisions=total,
                        changed=f"the file in {total - 1} incremental updates (too many to compare one by one)")]
    snapshots = [_snapshot_of(doc.data[:end]) for end in ends]
    out = []
    for i in range(1, total):
        before, after = snapshots[i - 1], snapshots[i]
        if before is None or after is None:
            continue
        content, benign = _compare(before, after)
        evidence = {"revision": i + 1, "revisions": total, "offset": ends[i - 1]}
        if content:
            page = content[0][0]
            out.append(finding("PDF_REVISION_CONTENT_CHANGED", page=page,
                               changed=", ".join(what for _, what in content), **evidence))
        elif benign:
            out.append(finding("PDF_REVISION_BENIGN", changed=", ".join(benign), **evidence))
        else:
            out.append(finding("PDF_REVISION_BENIGN", changed="nothing visible", **evidence))
    return out


def _compare(before: _Snapshot, after: _Snapshot) -> tuple[list[tuple[int | None, str]], list[str]]:
    content: list[tuple[int | None, str]] = []
    if len(before.pages) != len(after.pages):
        content.append((None, f"the page count ({len(before.pages)} → {len(after.pages)})"))
    for n, (a, b) in enumerate(zip(before.pages, after.pages), start=1):
        if a != b:
            content.append((n, f"the content of page {n}"))
    for n, (a, b) in enumerate(zip(before.resources, after.resources), start=1):
        if a != b:
            content.append((n, f"the fonts or images of page {n}"))
    benign = []
    if after.signatures > before.signatures:
        benign.append("a digital signature")
    if before.annotations != after.annotations:
        benign.append("annotations")
    if before.form != after.form:
        benign.append("form field values")
    if before.info != after.info:
        benign.append("metadata")
    return content, benign


def _snapshot_of(data: bytes) -> _Snapshot | None:
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            return _Snapshot(
                pages=tuple(_digest(_content_bytes(p)) for p in pdf.pages),
                resources=tuple(_digest(_resource_bytes(p)) for p in pdf.pages),
                annotations=tuple(_digest(_annotation_bytes(p)) for p in pdf.pages),
                form=_digest(_form_bytes(pdf)),
                signatures=_signature_count(pdf),
                info=_digest(repr(sorted((str(k), str(v)) for k, v in pdf.docinfo.items())).encode()),
            )
    except Exception:  # an earlier revision that no longer parses on its own tells us nothing
        return None


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _content_bytes(page: pikepdf.Page) -> bytes:
    contents = page.obj.get("/Contents")
    if contents is None:
        return b""
    streams = [contents] if isinstance(contents, pikepdf.Stream) else list(contents)
    try:
        return b"".join(s.read_bytes() for s in streams)
    except pikepdf.PdfError:
        return b"<unreadable>"


def _resource_bytes(page: pikepdf.Page) -> bytes:
    """Font and XObject streams the page uses, by resource name, so a swapped font or image shows."""
    parts = []
    resources_ = page.obj.get("/Resources", pikepdf.Dictionary())
    for category in ("/Font", "/XObject"):
        for key, obj in sorted(resources_.get(category, pikepdf.Dictionary()).items()):
            parts.append(key.encode())
            parts.append(_object_bytes(obj))
    return b"\0".join(parts)


def _object_bytes(obj) -> bytes:
    try:
        if isinstance(obj, pikepdf.Stream):
            return obj.read_raw_bytes()
        if isinstance(obj, pikepdf.Dictionary) and "/FontDescriptor" in obj:
            desc = obj.FontDescriptor
            for key in ("/FontFile", "/FontFile2", "/FontFile3"):
                if key in desc:
                    return str(obj.get("/BaseFont", "")).encode() + desc[key].read_raw_bytes()
        if isinstance(obj, pikepdf.Dictionary) and "/DescendantFonts" in obj:
            return b"".join(_object_bytes(d) for d in obj.DescendantFonts)
        return str(obj.get("/BaseFont", "")).encode() if isinstance(obj, pikepdf.Dictionary) else b""
    except pikepdf.PdfError:
        return b"<unreadable>"


def _annotation_bytes(page: pikepdf.Page) -> bytes:
    annots = page.obj.get("/Annots", [])
    return repr([(str(a.get("/Subtype", "")), str(a.get("/Rect", ""))) for a in annots]).encode()


def _form_bytes(pdf: pikepdf.Pdf) -> bytes:
    fields = pdf.Root.get("/AcroForm", pikepdf.Dictionary()).get("/Fields", [])
    return repr([(str(f.get("/T", "")), str(f.get("/V", ""))[:200]) for f in fields]).encode()


def _signature_count(pdf: pikepdf.Pdf) -> int:
    fields = pdf.Root.get("/AcroForm", pikepdf.Dictionary()).get("/Fields", [])
    return sum(1 for f in fields if f.get("/FT") == "/Sig" and "/V" in f)


# --- software and metadata ------------------------------------------------------------------------

def _software_lists() -> dict[str, list[str]]:
    text = resources.files("checks.data").joinpath("pdf_software.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


_SOFTWARE = _software_lists()


def editor_in(value: str) -> str | None:
    """The editing tool named in a Producer/Creator string, or None."""
    low = value.lower()
    for name in _SOFTWARE["editors"] + _SOFTWARE["image_editors"]:
        if name.lower() in low:
            return name
    return None


def _software_findings(pdf: pikepdf.Pdf) -> list[Finding]:
    out = []
    info = _info(pdf)
    for field in ("Producer", "Creator"):
        value = info.get(field, "")
        if value and editor_in(value):
            out.append(finding("PDF_EDITOR_SOFTWARE", field=field, value=value))
    return out


def _info(pdf: pikepdf.Pdf) -> dict[str, str]:
    out = {}
    for key in ("/Producer", "/Creator", "/CreationDate", "/ModDate"):
        try:
            if key in pdf.docinfo:
                out[key[1:]] = str(pdf.docinfo[key]).strip()
        except (pikepdf.PdfError, UnicodeDecodeError, ValueError):
            out[key[1:]] = "<unreadable>"
    return out


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


def _metadata_findings(pdf: pikepdf.Pdf) -> list[Finding]:
    info = _info(pdf)
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
    out.extend(_xmp_findings(pdf, info))
    return out


def _xmp_findings(pdf: pikepdf.Pdf, info: dict[str, str]) -> list[Finding]:
    try:
        meta = pdf.open_metadata()
        xmp_producer = str(meta.get("pdf:Producer", "") or "").strip()
    except Exception:  # unparseable XMP is common in the wild and says little on its own
        return []
    producer = info.get("Producer", "")
    if xmp_producer and producer and xmp_producer != producer:
        return [finding("PDF_METADATA_MISMATCH", field="Producer", info=producer, xmp=xmp_producer)]
    return []


def _human(delta: timedelta) -> str:
    days = delta.days
    if days >= 60:
        return f"{days // 30} months"
    if days >= 1:
        return f"{days} days"
    return f"{int(delta.total_seconds() // 3600)} hours"
