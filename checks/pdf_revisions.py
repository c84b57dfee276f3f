"""PDF revisions: every incremental update, what it changed (down to the words on the page), and whether
signatures still cover the file.

Entry point: `check(doc) -> list[Finding]`.
"""
from __future__ import annotations

import difflib
import hashlib
import io
import re
from dataclasses import dataclass

import pikepdf

from checks.catalog import finding
from checks.ingest import read_pdf_pages
from checks.model import Document, Finding, Line, Word

NAME = "pdf_revisions"

# Rebuilding revisions costs one parse each; files with more are reported without the per-revision diff.
MAX_REVISIONS_DIFFED = 30
# A changed page rarely has more edited places than this; beyond it the page was replaced, not edited.
MAX_TEXT_CHANGES = 12

_EOF = re.compile(rb"startxref\s+(\d+)\s*%%EOF")
_HEX_STRING = re.compile(rb"<[0-9A-Fa-f\s]*>")
_CONTENT_CODES = ("PDF_REVISION_TEXT_CHANGED", "PDF_REVISION_CONTENT_CHANGED")


def applies(doc: Document) -> bool:
    return doc.format == "pdf"


def check(doc: Document) -> list[Finding]:
    ends = revision_ends(doc.data)
    revisions = _revision_findings(doc, ends)
    return revisions + _signature_findings(doc, ends, revisions)


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
    if len(ends) > 1 and is_linearized(data) and ends[0] < len(data) // 2:
        ends = ends[1:]
    return ends


def is_linearized(data: bytes) -> bool:
    return b"/Linearized" in data[:2048]


def _revision_findings(doc: Document, ends: list[int]) -> list[Finding]:
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
            pages = sorted({page for page, _ in content if page is not None})
            texts = _text_changes(doc.data[:ends[i - 1]], doc.data[:ends[i]], pages, evidence)
            out.extend(texts or [finding("PDF_REVISION_CONTENT_CHANGED", page=pages[0] if pages else None,
                                         changed=", ".join(what for _, what in content), **evidence)])
        elif benign:
            out.append(finding("PDF_REVISION_BENIGN", changed=", ".join(benign), **evidence))
        else:
            out.append(finding("PDF_REVISION_BENIGN", changed="nothing visible", **evidence))
    return out


def _text_changes(before: bytes, after: bytes, pages: list[int], evidence: dict) -> list[Finding]:
    """What a content-changing update did to the words of each changed page, with where it did it."""
    try:
        old = {p.number: p.words for p in read_pdf_pages(before, set(pages))}
        new = {p.number: p.words for p in read_pdf_pages(after, set(pages))}
    except Exception:  # an earlier revision that pdfplumber cannot read still counts as changed content
        return []
    out = []
    for number in pages:
        a, b = old.get(number, []), new.get(number, [])
        matcher = difflib.SequenceMatcher(a=[w.text for w in a], b=[w.text for w in b], autojunk=False)
        edits = [op for op in matcher.get_opcodes() if op[0] != "equal"]
        for _, i1, i2, j1, j2 in edits[:MAX_TEXT_CHANGES]:
            gone, came = a[i1:i2], b[j1:j2]
            out.append(finding("PDF_REVISION_TEXT_CHANGED", page=number, bbox=Line(tuple(came or gone)).bbox, units="pt",
                               before=_joined(gone), after=_joined(came), **evidence))
    return out


def _joined(words: list[Word]) -> str:
    return " ".join(w.text for w in words) or "(nothing)"


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


# --- signatures -----------------------------------------------------------------------------------

def _signature_findings(doc: Document, ends: list[int], revisions: list[Finding]) -> list[Finding]:
    """A signature vouches for the bytes its ByteRange covers: the whole file up to the end of the revision
    it was made in, minus its own /Contents. Later updates are outside it, which is fine only when benign."""
    out = []
    for name, byte_range in _signatures(doc.pdf):
        problem = _byte_range_problem(doc.data, byte_range, ends)
        if problem:
            out.append(finding("PDF_SIGNATURE_BYTERANGE_INVALID", field=name, problem=problem,
                               byte_range=[int(v) for v in byte_range]))
            continue
        covered = int(byte_range[2]) + int(byte_range[3])
        later = [f for f in revisions if f.code in _CONTENT_CODES and f.evidence["offset"] >= covered - 2]
        if later:
            out.append(finding("PDF_CHANGED_AFTER_SIGNING", page=later[0].page, bbox=later[0].bbox,
                               units=later[0].units, field=name, revision=later[0].evidence["revision"],
                               covered=covered, size=len(doc.data)))
    return out


def _signatures(pdf: pikepdf.Pdf) -> list[tuple[str, list]]:
    found, seen = [], set()
    form = pdf.Root.get("/AcroForm")
    fields = form.get("/Fields") if isinstance(form, pikepdf.Dictionary) else None
    pending = list(fields) if isinstance(fields, pikepdf.Array) else []
    while pending:
        field = pending.pop()
        # A damaged form holds nulls or numbers where fields should be, or a field among its own kids.
        if not isinstance(field, pikepdf.Dictionary) or (field.is_indirect and field.objgen in seen):
            continue
        seen.add(field.objgen)
        kids = field.get("/Kids")
        pending.extend(kids if isinstance(kids, pikepdf.Array) else [])
        value = field.get("/V")
        if field.get("/FT") == "/Sig" and isinstance(value, pikepdf.Dictionary) and "/ByteRange" in value:
            found.append((str(field.get("/T", "signature")), list(value.ByteRange)))
    return found


def _byte_range_problem(data: bytes, byte_range: list, ends: list[int]) -> str | None:
    try:
        a, b, c, d = (int(v) for v in byte_range)
    except (TypeError, ValueError):
        return "the ByteRange is not four numbers"
    if a != 0:
        return "the signed range does not start at the beginning of the file"
    if not 0 < b < c or c + d > len(data):
        return "the signed ranges overlap or run past the end of the file"
    if not _HEX_STRING.fullmatch(data[b:c]):
        return "the gap in the signed range is not exactly the signature value"
    if not any(end <= c + d <= end + 2 for end in ends):
        return "the signed range does not end where a revision of the file ends"
    return None
