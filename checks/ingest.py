"""Open an upload's bytes as a Document: sniff the type from magic bytes, enforce limits, parse.

Every way an upload can be unreadable ends in an InputError with an INPUT_ code, never a traceback.
"""
from __future__ import annotations

import hashlib
import io
import math
import re
import warnings
from dataclasses import dataclass

import pdfplumber
import pikepdf
import pypdfium2 as pdfium
from pdfminer.layout import LTChar, LTContainer, LTImage, LTRect
from pdfplumber.page import fix_fontname_bytes
from pdfplumber.utils import resolve_all
from pdfplumber.utils.text import WordExtractor
from PIL import Image, ImageOps
from pillow_heif import register_heif_opener

from checks.catalog import input_error
from checks.model import Document, InputError, Page, Word
from checks.render import DPI
from checks.table import lines_of

# Phone uploads (iPhones save HEIC by default); registering also lets the image checks reopen doc.data.
register_heif_opener()

# (magic prefix, offset, detected type); the PDF header may follow up to 1 KiB of junk (PDF 1.7 §7.5.2 leniency).
_IMAGE_MAGIC = [
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"BM", "bmp"),
]
# ISO-BMFF brands of HEIF stills with HEVC inside, the ones libheif decodes here (AVIF's AV1 it does not).
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1")
# The image types accepted, with Pillow's name of each: an image is parsed only by the decoder its magic bytes name.
IMAGE_FORMATS = {"jpeg": "JPEG", "png": "PNG", "tiff": "TIFF", "webp": "WEBP", "bmp": "BMP", "heic": "HEIF"}


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 50 * 1024 * 1024
    max_pages: int = 200
    max_pixels: int = 80_000_000  # per image: an image upload, or an image inside a PDF page
    # Everything one document makes the checks decode: its pages rendered at checks.render.DPI and its images.
    max_total_pixels: int = 1_000_000_000


def sniff(data: bytes) -> str:
    """The file type from its first bytes: 'pdf', an image type, or a short description of what it is not."""
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    for magic, kind in _IMAGE_MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"PK\x03\x04":
        return "zip/office"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "heic"
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return "avif"
    return "unknown"


def open_document(name: str, data: bytes, limits: Limits = Limits()) -> Document:
    if not data:
        raise input_error("INPUT_EMPTY")
    if len(data) > limits.max_file_bytes:
        raise input_error("INPUT_TOO_LARGE", size=len(data), limit=limits.max_file_bytes)
    sha256 = hashlib.sha256(data).hexdigest()
    kind = sniff(data)
    if kind == "pdf":
        return _open_pdf(name, sha256, data, limits)
    if kind in IMAGE_FORMATS:
        return _open_image(name, sha256, data, kind, limits)
    raise input_error("INPUT_UNSUPPORTED", detected=kind)


def _open_pdf(name: str, sha256: str, data: bytes, limits: Limits) -> Document:
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        raise input_error("INPUT_ENCRYPTED") from None
    except Exception as exc:  # qpdf reports damage through several exception types
        raise _damaged(exc) from None
    try:
        _check_pdfium_opens(data, len(pdf.pages))
        if len(pdf.pages) > limits.max_pages:
            raise input_error("INPUT_TOO_MANY_PAGES", pages=len(pdf.pages), limit=limits.max_pages)
        if len(pdf.pages) == 0:
            raise input_error("INPUT_CORRUPT", reason="the PDF has no pages")
        active = _active_content(pdf)
        if active:
            raise input_error("INPUT_ACTIVE_CONTENT", content=", ".join(active))
        pages = read_pdf_pages(data)
        if len(pages) != len(pdf.pages):
            raise input_error("INPUT_CORRUPT", reason=f"PDF readers disagree on the number of pages (qpdf "
                                                      f"{len(pdf.pages)}, pdfminer {len(pages)})")
        _check_pdf_pixels(pages, limits)
    except InputError:
        pdf.close()
        raise
    except Exception as exc:
        pdf.close()
        raise _damaged(exc) from None
    return Document(name=name, sha256=sha256, format="pdf", data=data, pages=pages, pdf=pdf)


_ACTIONS = {"/JavaScript": "JavaScript", "/Launch": "a launch action", "/ImportData": "an import-data action"}


def _active_content(pdf: pikepdf.Pdf) -> list[str]:
    """What in the file can act rather than show: script or launch actions (on open, on a page, a link, a form
    field) and embedded files. Statements and proofs need none of it, and a reviewer's viewer should never run it."""
    found = set()
    for obj in pdf.objects:
        if not isinstance(obj, pikepdf.Dictionary):
            continue
        triggers = obj.get("/AA")
        actions = [obj, obj.get("/A"), obj.get("/OpenAction"),
                   *(triggers.values() if isinstance(triggers, pikepdf.Dictionary) else ())]
        for action in actions:
            if isinstance(action, pikepdf.Dictionary) and str(action.get("/S", "")) in _ACTIONS:
                found.add(_ACTIONS[str(action["/S"])])
        if obj.get("/Type") == "/EmbeddedFile" or "/EF" in obj:
            found.add("embedded files")
    return sorted(found)


def _check_pdf_pixels(pages: list[Page], limits: Limits) -> None:
    """Refuse, before anything is rendered or decoded, a PDF whose pages or images would take more memory than
    a worker should give one upload: a few bytes of PDF can declare a 200-inch page or a gigapixel image."""
    total = 0
    for page in pages:
        for image in page.images:
            width, height = (_side(v) for v in (list(image["size"]) + [0, 0])[:2])
            if width * height > limits.max_pixels:
                raise input_error("INPUT_TOO_MANY_PIXELS", pixels=width * height, limit=limits.max_pixels)
            total += width * height
        total += _side(page.width * DPI / 72) * _side(page.height * DPI / 72)
    if total > limits.max_total_pixels:
        raise input_error("INPUT_TOO_MANY_RENDERED_PIXELS", pixels=total, dpi=DPI, limit=limits.max_total_pixels)


def _side(value) -> int:
    """An image's or page's side in pixels as a count: damaged files declare sizes that are negative, not numbers,
    or larger than any limit (capped, so the product stays a plain number)."""
    if not isinstance(value, (int, float)) or value != value:
        return 0
    return math.ceil(min(abs(value), 1 << 40))


def _check_pdfium_opens(data: bytes, pages: int) -> None:
    """Rendering and the paint-order checks use PDFium, which refuses some files qpdf accepts (a user password
    that qpdf gets past, for one): such a file could only be half checked, so it is refused like the rest. So is
    a damaged page tree that PDFium reads as another number of pages than qpdf: the checks pair pages by index."""
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise input_error("INPUT_ENCRYPTED") from None
        raise input_error("INPUT_CORRUPT", reason=f"PDFium: {exc}") from None
    try:
        if len(document) != pages:
            raise input_error("INPUT_CORRUPT", reason=f"PDF readers disagree on the number of pages (qpdf {pages}, "
                                                      f"PDFium {len(document)})")
    finally:
        document.close()


def read_pdf_pages(data: bytes, numbers: set[int] | None = None) -> list[Page]:
    """The text layer of every page, or of the 1-based page `numbers` only."""
    with pdfplumber.open(io.BytesIO(data)) as plumber:
        return [_pdf_page(i, p) for i, p in enumerate(plumber.pages, start=1) if numbers is None or i in numbers]


# A page with fewer readable characters than this is a scan with, at most, a stamp or page number as text.
MIN_TEXT_CHARS = 20

# pdfplumber's extract_words with its default tolerances; a word also ends where the font or size changes.
_WORDS = WordExtractor(extra_attrs=["fontname", "size"])


def _pdf_page(number: int, page) -> Page:
    """The page from pdfminer's layout objects (page.layout), the ones pdfplumber turns into page.chars, page.rects
    and page.images. That conversion copies every attribute of every object, for the handful used here, and took
    a third of the reading time on dense pages (WeasyPrint draws every space and every cell border on its own).
    Coordinates are converted as pdfplumber converts them; tests/test_ingest.py holds the two readings equal."""
    height = float(page.height)
    left, top = (float(v) for v in page.mediabox[:2])
    chars, watermark, rects, images = [], [], [], []
    for obj in _leaves(page.layout):
        box = [obj.x0 + left, height - obj.y1 + top, obj.x1 + left, height - obj.y0 + top]
        if isinstance(obj, LTChar):
            color = obj.graphicstate.ncolor
            font = fix_fontname_bytes(obj.fontname) if isinstance(obj.fontname, bytes) else obj.fontname
            char = Word(obj.get_text(), *box, font=font, size=obj.size, baseline=round(height - obj.matrix[5], 3),
                        color=color if isinstance(color, tuple) else (color,))
            if _is_watermark(obj, char.color):
                watermark.append(char)
            else:  # the keys WordExtractor reads, and the Word
                chars.append({"text": char.text, "x0": char.x0, "top": char.top, "x1": char.x1, "bottom": char.bottom,
                              "doctop": char.top, "upright": obj.upright, "fontname": font, "size": char.size,
                              "word": char})
        elif isinstance(obj, LTRect):
            rects.append({"bbox": _box(box), "fill": obj.non_stroking_color if obj.fill else None,
                          "stroke": obj.stroking_color if obj.stroke else None})
        elif isinstance(obj, LTImage):
            images.append({"bbox": _box(box), "name": str(resolve_all(obj.name)),
                           "size": list(resolve_all(obj.srcsize))})
    words = [_word(w) for w in _WORDS.extract_words(chars, return_chars=True)]
    readable = sum(1 for c in chars if _has_unicode(c["text"]))
    lines = lines_of(words)
    return Page(number=number, width=float(page.width), height=height, units="pt",
                text="\n".join(line.text for line in lines), words=words, lines=lines,
                scanned=readable < MIN_TEXT_CHARS, rects=rects, images=images, watermark=watermark)


def _leaves(container):
    """Layout objects in paint order, those inside form XObjects included, as pdfplumber walks them."""
    for obj in container:
        if isinstance(obj, LTContainer):
            yield from _leaves(obj)
        else:
            yield obj


def _word(word: dict) -> Word:
    first = word["chars"][0]["word"]
    return Word(word["text"], word["x0"], word["top"], word["x1"], word["bottom"], font=first.font, size=first.size,
                chars=tuple(c["word"] for c in word["chars"]), baseline=first.baseline, color=first.color)


def _box(box: list[float]) -> list[float]:
    return [round(v, 2) for v in box]


def _is_watermark(char: LTChar, color: tuple) -> bool:
    """Watermarks are drawn rotated or in a light tint."""
    if not char.upright:
        return True
    a, b = char.matrix[0], char.matrix[1]
    if abs(b) > 0.05 * max(abs(a), 1e-6):
        return True
    return _lightness(color) > 0.75


def _lightness(color: tuple) -> float:
    values = [v for v in color if isinstance(v, (int, float))]
    if len(values) == 1:
        return values[0]
    if len(values) == 3:
        return sum(values) / 3
    if len(values) == 4:  # CMYK
        return 1 - min(1.0, values[3] + sum(values[:3]) / 3)
    return 0.0


def _has_unicode(text: str) -> bool:
    """pdfminer writes '(cid:N)' for glyphs whose font has no Unicode mapping: such text cannot be read."""
    return bool(text.strip()) and not text.startswith("(cid:")


def _open_image(name: str, sha256: str, data: bytes, kind: str, limits: Limits) -> Document:
    # Pillow checks the pixel count from the header, before decoding; its limit becomes ours.
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[IMAGE_FORMATS[kind]])
            if image.width * image.height > limits.max_total_pixels:
                raise input_error("INPUT_TOO_MANY_RENDERED_PIXELS", pixels=image.width * image.height, dpi=DPI,
                                  limit=limits.max_total_pixels)
            image.load()
            image = ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        pixels = re.search(r"\((\d+) pixels\)", str(exc))
        raise input_error("INPUT_TOO_MANY_PIXELS", pixels=pixels[1] if pixels else "too many",
                          limit=limits.max_pixels) from None
    except InputError:
        raise
    except Exception as exc:  # decoders report damage through many types: pillow-heif's EOFError, struct.error, …
        raise _damaged(exc) from None
    page = Page(number=1, width=float(image.width), height=float(image.height), units="px")
    return Document(name=name, sha256=sha256, format="image", data=data, pages=[page], image=image)


def _damaged(exc: Exception) -> InputError:
    """INPUT_CORRUPT for what a parser raised, except running out of memory: that is the worker's memory limit
    (or the machine's), not damage, and it must fail the job rather than blame the file."""
    if isinstance(exc, MemoryError):
        raise exc
    return input_error("INPUT_CORRUPT", reason=_first_line(exc))


def _first_line(exc: Exception) -> str:
    """The parser's own words, without the in-memory stream's repr that qpdf puts in front."""
    text = re.sub(r"(stream )?<_io\.BytesIO object at 0x[0-9a-f]+>:?\s*", "", str(exc).strip()).strip()
    lines = text.splitlines()
    return lines[0][:200] if lines else type(exc).__name__
