"""Image provenance: what an image file says about the software that wrote it. EXIF Software and dates, a
camera's own tags, the JPEG quantization tables, the EXIF thumbnail, XMP edit history.

Metadata is easy to forge and easy to strip, so on its own it asks for review, never for rejection. The one
exception is a thumbnail that shows other content than the image at one place: it is the picture before an
edit, and the place is where the edit is. Entry point: `check(doc) -> list[Finding]`; `jpeg_tables(data)` gives
other checks the file's tables and its estimated quality.
"""
from __future__ import annotations

import io
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources

import cv2
import jpeglib
import numpy as np
from PIL import ExifTags, Image, ImageOps, JpegPresets

from checks.catalog import finding
from checks.model import Document, Finding

NAME = "image_provenance"

# Phones write DateTime when the shutter closes, with DateTimeOriginal; a later DateTime is a later save.
MODIFIED_WINDOW = timedelta(minutes=1)
_EXPOSURE_TAGS = (0x829A, 0x829D, 0x8827, 0x920A)  # ExposureTime, FNumber, ISOSpeedRatings, FocalLength
_DATETIME, _DATETIME_ORIGINAL, _ORIENTATION, _SOFTWARE = 0x0132, 0x9003, 0x0112, 0x0131
_THUMB_OFFSET, _THUMB_LENGTH = 0x0201, 0x0202
_XMP_AGENT = re.compile(r"(?:stEvt:softwareAgent|xmp:CreatorTool)(?:=\"([^\"]*)\"|>([^<]*)<)")
_XMP_PHOTOSHOP = re.compile(r"\bphotoshop:\w+")

# Thumbnail comparison, in thumbnail pixels after both are smoothed. A thumbnail made from the image itself
# differs from our own reduction of it along every edge of the text (JPEG and resampling), by up to about twice
# the 99.5th percentile of the differences; content that changed stands out further, on a few pixels at least.
THUMB_MIN_DIFF = 5.0
THUMB_RELATIVE = 3.0
THUMB_MIN_AREA = 2
THUMB_SAME_PICTURE = 0.8  # correlation below this: another picture or framing, not a local edit


def applies(doc: Document) -> bool:
    return doc.format == "image"


def check(doc: Document) -> list[Finding]:
    with Image.open(io.BytesIO(doc.data)) as im:
        exif = im.getexif()
        raw = im.info.get("exif")
        xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
        is_jpeg = im.format == "JPEG"
    tables = jpeg_tables(doc.data) if is_jpeg else None
    context = {"quality": tables.label} if tables else {}
    out = _software_findings(exif, context) + _date_findings(exif) + _camera_findings(exif)
    out += _xmp_findings(xmp)
    if tables and tables.editor:
        out.append(finding("IMG_QUANT_TABLE_EDITOR", page=1, units="px", **tables.editor, quality=tables.label))
    return out + _thumbnail_findings(doc, exif, raw)


# --- software names ---------------------------------------------------------------------------------------

@cache
def _lists() -> dict:
    return tomllib.loads(resources.files("checks.data").joinpath("image_software.toml").read_text(encoding="utf-8"))


def editor_in(value: str) -> tuple[str, str] | None:
    """The editing tool named in a software string and its category (editors, phone_apps, online_tools)."""
    low = value.lower()
    for category in ("phone_apps", "online_tools", "editors"):  # "Photoshop Express" is a phone app
        for name in _lists()[category]:
            if name.lower() in low:
                return name, category
    return None


def _text(value) -> str:
    """An EXIF ASCII value as written: Chinese apps put UTF-8 there, which Pillow reads as Latin-1."""
    text = str(value).strip("\x00 ")
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _software_findings(exif: Image.Exif, context: dict) -> list[Finding]:
    value = _text(exif.get(_SOFTWARE, ""))
    hit = editor_in(value) if value else None
    if not hit:
        return []
    return [finding("IMG_EDITOR_SOFTWARE", page=1, units="px", field="EXIF Software", value=value, editor=hit[0],
                    category=hit[1], **context)]


def _xmp_findings(xmp) -> list[Finding]:
    if not xmp:
        return []
    text = xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else str(xmp)
    agents = sorted({a or b for a, b in _XMP_AGENT.findall(text)})
    editors = [a for a in agents if editor_in(a)]
    photoshop = sorted(set(_XMP_PHOTOSHOP.findall(text)))
    if not editors and not photoshop:
        return []
    return [finding("IMG_EDIT_HISTORY", page=1, units="px", agents=", ".join(editors) or "none named",
                    photoshop_properties=", ".join(photoshop) or "none")]


# --- dates and camera tags --------------------------------------------------------------------------------

def _exif_date(value) -> datetime | None:
    try:
        return datetime.strptime(str(value).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _date_findings(exif: Image.Exif) -> list[Finding]:
    modified = _exif_date(exif.get(_DATETIME, ""))
    taken = _exif_date(exif.get_ifd(ExifTags.IFD.Exif).get(_DATETIME_ORIGINAL, ""))
    if not (modified and taken) or modified - taken <= MODIFIED_WINDOW:
        return []
    return [finding("IMG_MODIFIED_AFTER_CAPTURE", page=1, units="px", delay=_human(modified - taken),
                    taken=taken.isoformat(sep=" "), modified=modified.isoformat(sep=" "))]


def _camera_findings(exif: Image.Exif) -> list[Finding]:
    make, model = _text(exif.get(ExifTags.Base.Make, "")), _text(exif.get(ExifTags.Base.Model, ""))
    if not make or not model or not any(make.lower().startswith(m.lower()) for m in _lists()["camera_makers"]):
        return []
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    if any(tag in sub for tag in _EXPOSURE_TAGS):
        return []
    return [finding("IMG_CAMERA_TAGS_MISSING", page=1, units="px", make=make, model=model)]


def _human(delta: timedelta) -> str:
    if delta.days >= 1:
        return f"{delta.days} days"
    hours, rest = divmod(int(delta.total_seconds()), 3600)
    return f"{hours} hours" if hours else f"{rest // 60} minutes"


# --- quantization tables ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class JpegTables:
    """A JPEG's quantization tables (8x8, natural order) and what they match."""

    luminance: np.ndarray
    chrominance: np.ndarray | None
    quality: int        # the IJG quality whose scaled standard tables are closest
    standard: bool      # exactly libjpeg's tables at that quality
    editor: dict | None  # {"software", "setting"} of a known editor's tables they equal

    @property
    def label(self) -> str:
        if self.standard:
            return f"standard libjpeg q={self.quality}"
        if self.editor:
            return f"{self.editor['software']} {self.editor['setting']} (about q={self.quality})"
        return f"non-standard tables (about q={self.quality})"


@cache
def standard_tables() -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """libjpeg's Annex K tables scaled to each quality 1-100, as libjpeg itself writes them (via Pillow)."""
    sample = Image.new("RGB", (16, 16))
    out = {}
    for quality in range(1, 101):
        buf = io.BytesIO()
        sample.save(buf, "JPEG", quality=quality)
        with Image.open(buf) as im:
            q = im.quantization
        out[quality] = (np.array(q[0]).reshape(8, 8), np.array(q[1]).reshape(8, 8))
    return out


@cache
def _editor_tables() -> list[tuple[np.ndarray, np.ndarray, dict]]:
    out = []
    for entry in _lists()["quant_tables"]:
        lum, chrom = JpegPresets.presets[entry["preset"]]["quantization"][:2]
        out.append((np.array(lum).reshape(8, 8), np.array(chrom).reshape(8, 8),
                    {"software": entry["software"], "setting": entry["setting"]}))
    return out


def jpeg_tables(data: bytes) -> JpegTables | None:
    """The file's quantization tables, read with jpeglib (which reads from a path only, hence the temporary
    file), matched against libjpeg's standard tables and known editors' tables; None if unreadable."""
    fd, path = tempfile.mkstemp(suffix=".jpg")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        jpeg = jpeglib.read_dct(path)
        qt, numbers = np.asarray(jpeg.qt), list(jpeg.quant_tbl_no)
    except Exception:  # libjpeg refuses some files Pillow decodes; tables are then simply not known
        return None
    finally:
        os.unlink(path)
    lum = qt[numbers[0]].astype(int)
    chrom = qt[numbers[1]].astype(int) if len(numbers) > 1 else None

    def distance(std: tuple[np.ndarray, np.ndarray]) -> int:
        return int(np.abs(lum - std[0]).sum() + (np.abs(chrom - std[1]).sum() if chrom is not None else 0))

    standard = standard_tables()
    quality = min(standard, key=lambda q: (distance(standard[q]), -q))
    editor = next((info for e_lum, e_chrom, info in _editor_tables()
                   if np.array_equal(lum, e_lum) and (chrom is None or np.array_equal(chrom, e_chrom))), None)
    return JpegTables(lum, chrom, quality, distance(standard[quality]) == 0 and editor is None, editor)


# --- EXIF thumbnail ---------------------------------------------------------------------------------------

def _thumbnail(exif: Image.Exif, raw: bytes | None) -> Image.Image | None:
    ifd1 = exif.get_ifd(ExifTags.IFD.IFD1)
    offset, length = ifd1.get(_THUMB_OFFSET), ifd1.get(_THUMB_LENGTH)
    if not raw or offset is None or not length:
        return None
    tiff = raw[6:] if raw.startswith(b"Exif\x00\x00") else raw  # IFD offsets count from the TIFF header
    try:
        thumb = Image.open(io.BytesIO(tiff[offset:offset + length]))
        thumb.load()
    except Exception:  # a broken thumbnail says nothing about the picture
        return None
    # doc.image is turned upright by the Orientation tag; the thumbnail is stored as the image is.
    thumb.getexif()[_ORIENTATION] = exif.get(_ORIENTATION, 1)
    return ImageOps.exif_transpose(thumb)


def _thumbnail_findings(doc: Document, exif: Image.Exif, raw: bytes | None) -> list[Finding]:
    thumb = _thumbnail(exif, raw)
    if thumb is None or doc.image is None:
        return []
    t = np.asarray(thumb.convert("L"), np.float32)
    th, tw = t.shape
    width, height = doc.image.size
    # Some cameras letterbox a thumbnail of another aspect ratio: compare the part the picture fills.
    scale = min(tw / width, th / height)
    cw, ch = max(1, round(width * scale)), max(1, round(height * scale))
    ox, oy = (tw - cw) // 2, (th - ch) // 2
    small = np.asarray(doc.image.convert("L").resize((cw, ch), Image.Resampling.LANCZOS), np.float32)
    t = t[oy:oy + ch, ox:ox + cw]
    small, t = cv2.GaussianBlur(small, (0, 0), 1.0), cv2.GaussianBlur(t, (0, 0), 1.0)
    corr = float(np.corrcoef(small.ravel(), t.ravel())[0, 1]) if small.std() > 0 and t.std() > 0 else 1.0
    if corr < THUMB_SAME_PICTURE:
        return [finding("IMG_THUMBNAIL_MISMATCH", severity="medium", page=1, units="px",
                        shows="shows another picture or framing than the image", correlation=round(corr, 3))]
    gain, offset = np.polyfit(small.ravel(), t.ravel(), 1)  # the thumbnail's own tone curve
    diff = np.abs(t - (gain * small + offset))
    limit = max(THUMB_MIN_DIFF, THUMB_RELATIVE * float(np.percentile(diff, 99.5)))
    count, _, stats, _ = cv2.connectedComponentsWithStats((diff > limit).astype(np.uint8), connectivity=8)
    regions = sorted((s for s in stats[1:] if s[cv2.CC_STAT_AREA] >= THUMB_MIN_AREA),
                     key=lambda s: -s[cv2.CC_STAT_AREA])
    out = []
    for x, y, w, h, area in regions[:3]:
        bbox = [max(0.0, (x - 1) / scale), max(0.0, (y - 1) / scale), min(width, (x + w + 1) / scale),
                min(float(height), (y + h + 1) / scale)]
        out.append(finding("IMG_THUMBNAIL_MISMATCH", page=1, bbox=[round(v, 1) for v in bbox], units="px",
                           shows="shows other content here than the image: the picture before an edit",
                           difference=round(float(diff[y:y + h, x:x + w].max()), 1), limit=round(limit, 1),
                           thumbnail_pixels=int(area), thumbnail_size=[tw, th]))
    return out
