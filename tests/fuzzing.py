"""Fuzzing the ingest and the checks: seeds, mutations as Hypothesis strategies, and the property.

Used by tests/test_fuzz.py (a short, derandomised run and the regression corpus) and scripts/fuzz.py (long
campaigns that save what they break to tests/fuzz_corpus/).

The property: opening any bytes either gives a Document or raises InputError with an INPUT_ code and a message;
checking an opened Document gives a DocumentResult that serialises to JSON (a check may report "error", nothing
may raise); neither takes longer than a bound.
"""
from __future__ import annotations

import functools
import io
import json
import re
import signal
import struct
import traceback
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from hypothesis import strategies as st
from PIL import Image

from checks import pipeline
from checks.catalog import CATALOG
from checks.ingest import IMAGE_FORMATS, Limits, open_document, sniff
from checks.model import DocumentResult, InputError
from checks.ocr import DEFAULT_ENGINE
from tests.make import OVERSIZED, encrypted, hostile_files, image_bytes, incremental, rewrite, text_pdf

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "fuzz_corpus"
# Smaller than the defaults, so a mutated header that declares a big but allowed image costs seconds, not minutes;
# the limits themselves are what is fuzzed, not the speed of the checks on large pages.
LIMITS = Limits(max_file_bytes=4 * 1024 * 1024, max_pages=20, max_pixels=12_000_000, max_total_pixels=60_000_000)
INTERESTING = [0, 1, 2, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0x3FFF, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF,
               0x80000000, 0xFFFFFFFF]


@dataclass(frozen=True)
class Seed:
    name: str
    data: bytes

    @property
    def kind(self) -> str:
        """'pdf', 'image' (one the ingest decodes) or 'other' (text, an empty file)."""
        kind = sniff(self.data) if self.data else "empty"
        return kind if kind == "pdf" else "image" if kind in IMAGE_FORMATS else "other"


@functools.cache
def seeds() -> tuple[Seed, ...]:
    """Real documents: the committed sample PDFs, crops of the sample scans and photos (small, so OCR stays
    quick), small files made with the fixture builders in every accepted format, and the hostile uploads."""
    samples = ROOT / "fixtures" / "samples"
    out = [Seed(p.name, p.read_bytes()) for p in sorted(samples.glob("applicant_01/*.pdf"))]
    for path in sorted(samples.glob("applicant_01/*.jpg")):
        with Image.open(path) as im:
            crop = im.crop((im.width // 4, im.height // 5, im.width // 4 + 360, im.height // 5 + 240))
            buf = io.BytesIO()
            crop.save(buf, "JPEG", quality=90, exif=im.info.get("exif", b""))
            out.append(Seed(f"{path.stem}_crop.jpg", buf.getvalue()))
    statement = text_pdf(["中国工商银行借记账户历史明细（电子版）", "户名：张三  账号：6222 0000 1111 2222",
                          "2024-01-15 代发工资 12,000.00 余额 15,000.00",
                          "2024-02-15 代发工资 12,000.00 余额 27,000.00"])
    out += [Seed("small_statement.pdf", statement),
            Seed("linearized.pdf", rewrite(statement, linearize=True)),
            Seed("object_streams.pdf", rewrite(statement, object_stream_mode=pikepdf.ObjectStreamMode.generate)),
            Seed("incremental.pdf", incremental(statement, lambda w: w.add_metadata({"/Producer": "Foxit"}))),
            Seed("owner_password.pdf", encrypted(statement, user=""))]
    # and the hostile uploads of tests/test_hostile.py, whose neighbours are worth probing too
    out += [Seed(name, data) for name, data in hostile_files().items()
            if data and len(data) < OVERSIZED and name != "statement.pdf"]
    for fmt in ("JPEG", "PNG", "TIFF", "WEBP", "BMP", "HEIF"):
        out.append(Seed(f"small.{fmt.lower()}", image_bytes(fmt, size=(96, 64))))
    return tuple(out)


# --- mutations -------------------------------------------------------------------------------------------------

@st.composite
def _position(draw, data: bytes) -> int:
    """Anywhere, but often near the start (headers) or the end (xref, trailer, IEND) where parsers decide most;
    past the magic bytes there, which Hypothesis would otherwise hit first and every time."""
    n = max(len(data) - 1, 0)
    where = draw(st.sampled_from(["any"] * 4 + ["head"] * 2 + ["tail"] * 2 + ["magic"]))
    if where == "magic":
        return draw(st.integers(0, min(n, 7)))
    if where == "any":
        return draw(st.integers(min(n, 8), n))
    if where == "head":
        return draw(st.integers(min(n, 8), min(n, 1024)))
    return draw(st.integers(max(0, n - 512), n))


@st.composite
def flip_bytes(draw, data: bytes) -> bytes:
    if not data:
        return data
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        out[draw(_position(data))] = draw(st.integers(0, 255))
    return bytes(out)


@st.composite
def truncate(draw, data: bytes) -> bytes:
    return data[: draw(_position(data))]


@st.composite
def duplicate_chunk(draw, data: bytes) -> bytes:
    start = draw(_position(data))
    chunk = data[start: start + draw(st.integers(1, 4096))]
    at = draw(_position(data))
    return data[:at] + chunk * draw(st.integers(1, 3)) + data[at:]


@st.composite
def remove_chunk(draw, data: bytes) -> bytes:
    start = draw(_position(data))
    return data[:start] + data[start + draw(st.integers(1, 4096)):]


@st.composite
def splice(draw, data: bytes) -> bytes:
    other = draw(st.sampled_from(seeds())).data
    return data[: draw(_position(data))] + other[draw(_position(other)):]


def _pdf_number(draw) -> object:
    return draw(st.sampled_from([0, -1, 2**31, 2**63 - 1, -(2**63), 10**9]
                                + [1e30, -1e30, 1e-30, 3.5]))


def _nested(depth: int) -> pikepdf.Array:
    inner = pikepdf.Array([])
    for _ in range(depth):
        inner = pikepdf.Array([inner])
    return inner


@st.composite
def pdf_object(draw, data: bytes) -> bytes:
    """Edit the object graph with pikepdf and save: a value deleted or replaced by a huge number, a deep nest or a
    wrong type, an object emptied, a page's box or content made extreme."""
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except Exception:  # not a PDF pikepdf opens: byte-level mutations cover it
        return data
    with pdf:
        op = draw(st.sampled_from(["value", "null_object", "mediabox", "content", "resources"]))
        dicts = [o for o in pdf.objects if isinstance(o, (pikepdf.Dictionary, pikepdf.Stream))]
        if op == "value" and dicts:
            obj = draw(st.sampled_from(dicts))
            keys = [k for k in obj.keys() if k not in ("/Type", "/Length")]  # pikepdf owns stream lengths
            if keys:
                key = draw(st.sampled_from(sorted(keys)))
                kind = draw(st.sampled_from(["delete", "number", "nest", "name", "string", "array"]))
                if kind == "delete":
                    del obj[key]
                elif kind == "number":
                    obj[key] = _pdf_number(draw)
                elif kind == "nest":
                    obj[key] = _nested(draw(st.sampled_from([10, 100, 400, 1000])))
                elif kind == "name":
                    obj[key] = pikepdf.Name("/Bogus")
                elif kind == "string":
                    obj[key] = pikepdf.String("\u00ff" * draw(st.integers(0, 300)))
                else:
                    obj[key] = pikepdf.Array([_pdf_number(draw) for _ in range(draw(st.integers(0, 6)))])
        elif op == "null_object" and dicts:
            obj = draw(st.sampled_from(dicts))
            pdf._replace_object(obj.objgen, pikepdf.Dictionary() if draw(st.booleans()) else pikepdf.Array())
        elif op == "mediabox" and len(pdf.pages):
            page = pdf.pages[draw(st.integers(0, len(pdf.pages) - 1))]
            page.MediaBox = draw(st.sampled_from([[0, 0, 0, 0], [0, 0, -600, 800], [600, 800, 0, 0],
                                                  [0, 0, 14400, 14400], [0, 0, 1e-3, 1e-3], [0, 0, 3e4, 10],
                                                  [-1e6, -1e6, 1e6, 1e6]]))
            if draw(st.booleans()):
                page.obj.Rotate = draw(st.sampled_from([90, 45, -270, 10**9]))
        elif op == "content" and len(pdf.pages):
            page = pdf.pages[draw(st.integers(0, len(pdf.pages) - 1))]
            snippet = draw(st.sampled_from([
                b"q " * 5000 + b"Q " * 10,
                b"1e38 0 0 1e38 0 0 cm 0 0 1 1 re f",
                b"0 0 0 0 0 0 cm BT /F1 12 Tf (1234) Tj ET",
                b"BT /F1 1e30 Tf 0 0 Td (99,999.00) Tj ET",
                b"BT /NoSuchFont 9 Tf (x) Tj ET",
                b"/NoSuchImage Do",
                b"BT (unterminated",
                b"0 0 m " + b"1 1 l " * 20000 + b"S",
                b"[" * 2000,
                b"1 0 0 1 nan inf cm",
            ]))
            page.contents_add(pdf.make_stream(snippet), prepend=draw(st.booleans()))
        elif op == "resources" and len(pdf.pages):
            page = pdf.pages[draw(st.integers(0, len(pdf.pages) - 1))]
            page.obj.Resources = draw(st.sampled_from([pikepdf.Dictionary(), pikepdf.Array(), pikepdf.Name("/X"),
                                                       _nested(300)]))
        out = io.BytesIO()
        try:
            pdf.save(out, deterministic_id=True)
        except Exception:  # qpdf refused to write the edit: keep the file as it was
            return data
    return out.getvalue()


@st.composite
def pdf_syntax(draw, data: bytes) -> bytes:
    """Raw-syntax damage pikepdf would repair on save: stream lengths, the xref offset and table, object numbers."""
    op = draw(st.sampled_from(["length", "startxref", "xref_entry", "objnum"]))
    if op == "length":
        found = list(re.finditer(rb"/Length (\d+)", data))
        if found:
            m = draw(st.sampled_from(found))
            value = draw(st.sampled_from([b"0", b"-1", b"999999999", b"99999999999999999999", b"1",
                                          str(int(m[1]) + draw(st.integers(-64, 64))).encode()]))
            return data[: m.start(1)] + value + data[m.end(1):]
    elif op == "startxref":
        m = re.search(rb"startxref\s+(\d+)", data[-2048:])
        if m:
            base = len(data) - len(data[-2048:])
            value = str(draw(st.sampled_from([0, 1, 2**40, int(m[1]) + draw(st.integers(-20, 20))]))).encode()
            return data[: base + m.start(1)] + value + data[base + m.end(1):]
    elif op == "xref_entry":
        found = list(re.finditer(rb"(\d{10}) (\d{5}) ([nf])", data))
        if found:
            m = draw(st.sampled_from(found))
            value = f"{draw(st.integers(0, 9999999999)):010d}".encode()
            return data[: m.start(1)] + value + data[m.end(1):]
    else:
        found = list(re.finditer(rb"(\d+) 0 obj", data))
        if found:
            m = draw(st.sampled_from(found))
            return data[: m.start(1)] + draw(st.sampled_from([b"0", b"1", b"4294967296"])) + data[m.end(1):]
    return data


def _png_chunks(data: bytes) -> list[tuple[int, bytes]]:
    """(offset, type) of each PNG chunk, as far as the lengths hold."""
    chunks, at = [], 8
    while at + 8 <= len(data):
        length = int.from_bytes(data[at: at + 4], "big")
        chunks.append((at, data[at + 4: at + 8]))
        at += 12 + length
    return chunks


@st.composite
def image_header(draw, data: bytes) -> bytes:
    """Dimensions and fields of an image header: PNG IHDR (CRC fixed or not) and chunk CRCs, the JPEG frame
    header, or any 16/32-bit field near the start (BMP, TIFF, WebP and HEIF boxes)."""
    value = draw(st.sampled_from(INTERESTING))
    out = bytearray(data)
    if data.startswith(b"\x89PNG") and len(data) > 33:
        op = draw(st.sampled_from(["ihdr", "crc"]))
        if op == "ihdr":
            field = draw(st.sampled_from([(16, 4), (20, 4), (24, 1), (25, 1), (26, 1), (28, 1)]))
            out[field[0]: field[0] + field[1]] = (value % 256**field[1]).to_bytes(field[1], "big")
            if draw(st.booleans()):
                out[29:33] = zlib.crc32(bytes(out[12:29])).to_bytes(4, "big")
            return bytes(out)
        at, _ = draw(st.sampled_from(_png_chunks(data) or [(8, b"")]))
        length = int.from_bytes(data[at: at + 4], "big")
        crc_at = at + 8 + length
        out[crc_at: crc_at + 4] = draw(st.binary(min_size=4, max_size=4))
        return bytes(out[: len(data)])
    if data.startswith(b"\xff\xd8"):
        frames = [m.start() for m in re.finditer(rb"\xff[\xc0\xc1\xc2]", data)]
        if frames:
            at = draw(st.sampled_from(frames))
            field = draw(st.sampled_from([(5, 2), (7, 2), (9, 1), (4, 1)]))  # height, width, components, precision
            out[at + field[0]: at + field[0] + field[1]] = (value % 256**field[1]).to_bytes(field[1], "big")
            return bytes(out[: len(data)])
    at = draw(st.integers(0, max(0, min(len(data), 64) - 4)))
    fmt = draw(st.sampled_from(["<H", ">H", "<I", ">I", "<i"]))
    value %= 2**16 if fmt.endswith("H") else 2**32
    packed = struct.pack(fmt, value - 2**32 if fmt == "<i" and value >= 2**31 else value)
    out[at: at + len(packed)] = packed
    return bytes(out[: len(data)])


_BYTE_MUTATIONS = [flip_bytes, truncate, duplicate_chunk, remove_chunk, splice]


@st.composite
def mutated(draw, kinds: tuple[str, ...] = ("pdf", "image", "other")) -> tuple[str, bytes]:
    """(name, bytes): a seed of one of `kinds`, mutated one to three times by mutations that suit it."""
    seed = draw(st.sampled_from([s for s in seeds() if s.kind in kinds]))
    data = seed.data
    for _ in range(draw(st.integers(1, 3))):
        kind = "pdf" if data[:1024].find(b"%PDF-") >= 0 else "image"
        extra = [pdf_object, pdf_object, pdf_syntax] if kind == "pdf" else [image_header, image_header]
        mutation = draw(st.sampled_from(_BYTE_MUTATIONS + extra))
        data = draw(mutation(data))
    return seed.name, data


# --- the property ------------------------------------------------------------------------------------------------

class Hang(BaseException):
    """Raised by the alarm when a case overruns its bound; a BaseException, so no `except Exception` hides it."""


class Violation(AssertionError):
    """The property does not hold: `signature` names the bug (exception type and where it was raised)."""

    def __init__(self, signature: str, detail: str):
        super().__init__(f"{signature}\n{detail}")
        self.signature = signature


@contextmanager
def _bound(seconds: float):
    def alarm(signum, frame):
        raise Hang(f"over {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _signature(exc: BaseException) -> str:
    """The exception type and the innermost frame in docverify's own code (or the innermost at all)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/checks/" in f.filename or "/worker/" in f.filename] or frames
    where = f"{Path(ours[-1].filename).name}:{ours[-1].name}" if ours else "?"
    return f"{type(exc).__name__} in {where}"


def outcome(name: str, data: bytes, *, checks: bool, ocr_engine: str = DEFAULT_ENGINE,
            seconds: float = 60) -> tuple[str, list[str]]:
    """('INPUT_…' or 'checked', the checks that reported an error); raises Violation when the property fails."""
    try:
        with _bound(seconds):
            try:
                doc = open_document(name, data, LIMITS)
            except InputError as exc:
                if exc.code not in CATALOG or not exc.code.startswith("INPUT_") or not exc.message:
                    raise Violation(f"bad InputError {exc.code!r}", exc.message) from None
                return exc.code, []
            errors = []
            try:
                if checks:
                    result = pipeline.verify_document(doc, ocr_engine=ocr_engine)
                    if not isinstance(result, DocumentResult):
                        raise Violation("not a DocumentResult", repr(result))
                    json.dumps(result.to_dict(), ensure_ascii=False)
                    errors = [f"{run.name}: {run.detail}" for run in result.checks if run.status == "error"]
            finally:
                doc.close()
            return "checked", errors
    except Violation:
        raise
    except Hang as exc:
        raise Violation(f"hang ({'checks' if checks else 'open'} {exc})", "") from None
    except BaseException as exc:  # noqa: BLE001 — anything else escaping is what the fuzzer looks for
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise Violation(_signature(exc), "".join(traceback.format_exception(exc))[-3000:]) from None


def corpus() -> list[Path]:
    return sorted(p for p in CORPUS.glob("*") if p.name != "README.md")
