"""Image provenance on real files: pages drawn with Pillow, saved by Pillow's and OpenCV's libjpeg, EXIF written
by Pillow (and its thumbnail by exiv2, which Pillow cannot write), Photoshop's tables from Pillow's presets."""
import io
import os
import tempfile

import cv2
import numpy as np
import pyexiv2
import pytest
from PIL import Image, ImageDraw, ImageFont, TiffImagePlugin

from checks import image_provenance, pipeline
from checks.image_provenance import check, editor_in, jpeg_tables
from checks.ingest import open_document
from tests.make import text_pdf

FONT = ImageFont.truetype("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 26)
TAKEN = "2025:03:04 10:20:30"


def page(seed: int = 1) -> np.ndarray:
    """A statement-like page: paper, rows of dates and amounts, a little sensor noise."""
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", (900, 1200), (236, 233, 226))
    draw = ImageDraw.Draw(im)
    for i in range(30):
        y = 60 + 36 * i
        draw.text((60, y), f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}  代发工资", font=FONT, fill=(34, 34, 40))
        draw.text((840, y), f"{rng.integers(1000, 99999):,}.{rng.integers(0, 100):02d}", font=FONT,
                  fill=(34, 34, 40), anchor="ra")
    pixels = np.asarray(im, np.float32) + rng.normal(0, 1.5, (1200, 900, 3))
    return np.clip(pixels, 0, 255).astype(np.uint8)


def jpeg(pixels: np.ndarray, quality=90, exif: Image.Exif | bytes | None = None, **kw) -> bytes:
    if exif is not None:
        kw["exif"] = exif
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=quality, **kw)
    return out.getvalue()


def camera_exif(make="Apple", model="iPhone 13", software="17.5.1", modified=TAKEN, exposure=True) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0131], exif[0x0132] = make, model, software, modified
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = TAKEN
    if exposure:
        sub[0x829A], sub[0x829D] = TiffImagePlugin.IFDRational(1, 60), TiffImagePlugin.IFDRational(16, 10)
        sub[0x8827], sub[0x920A] = 100, TiffImagePlugin.IFDRational(51, 10)
    return exif


def with_thumbnail(data: bytes, pixels: np.ndarray) -> bytes:
    thumb = Image.fromarray(pixels)
    thumb.thumbnail((160, 160), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=75)
    with pyexiv2.ImageData(data) as image:
        image.modify_thumbnail(buf.getvalue())
        return image.get_bytes()


def findings(data: bytes, name: str = "page.jpg"):
    doc = open_document(name, data)
    try:
        return check(doc)
    finally:
        doc.close()


def codes(data: bytes) -> list[str]:
    return sorted(f.code for f in findings(data))


PAGE = page()


def test_genuine_photo_scan_and_export_say_nothing():
    photo = with_thumbnail(jpeg(PAGE, 92, camera_exif()), PAGE)
    scanner = Image.Exif()
    scanner[0x010F], scanner[0x0110], scanner[0x0131] = "EPSON", "DS-530", "EPSON Scan 2"
    assert codes(photo) == []
    assert codes(jpeg(PAGE, 90, scanner)) == []
    assert codes(jpeg(PAGE, 88)) == []


@pytest.mark.parametrize("value, editor", [
    ("Adobe Photoshop 25.5 (Windows)", "Photoshop"),
    ("Adobe Photoshop Express", "Photoshop Express"),
    ("美图秀秀", "美图"),
    ("醒图 9.8.0", "醒图"),
    ("GIMP 2.10.36", "GIMP"),
    ("Photopea", "Photopea"),
    ("17.5.1", None),
    ("ELS-AN00 4.0.0.168(C00E160R6P3)", None),
    ("EPSON Scan 2", None),
])
def test_editor_list(value, editor):
    assert (editor_in(value) or (None,))[0] == editor


def test_editor_software_is_medium_and_read_as_utf8():
    exif = Image.Exif()
    exif[0x0131] = "醒图".encode()  # phone apps put UTF-8 into the ASCII field
    [found] = findings(jpeg(PAGE, 95, exif))
    assert (found.code, found.severity, found.evidence["value"], found.evidence["category"]) == \
        ("IMG_EDITOR_SOFTWARE", "medium", "醒图", "phone_apps")
    assert found.page == 1 and found.bbox is None
    assert found.evidence["quality"] == "standard libjpeg q=95"


def test_saved_again_after_capture_is_low():
    late = jpeg(PAGE, 92, camera_exif(modified="2025:03:09 18:00:00"))
    [found] = findings(late)
    assert (found.code, found.severity) == ("IMG_MODIFIED_AFTER_CAPTURE", "low")
    assert found.evidence["delay"] == "5 days"
    assert codes(jpeg(PAGE, 92, camera_exif(modified="2025:03:04 10:20:31"))) == []


def test_a_phone_without_exposure_tags_is_low():
    [found] = findings(jpeg(PAGE, 92, camera_exif(exposure=False)))
    assert (found.code, found.severity, found.evidence["make"]) == ("IMG_CAMERA_TAGS_MISSING", "low", "Apple")
    scanner = camera_exif(make="Canon", model="DR-C225", exposure=False)
    assert codes(jpeg(PAGE, 92, scanner)) == []


@pytest.mark.parametrize("quality", [50, 75, 90, 95])
def test_libjpeg_quality_estimated_from_opencvs_tables(quality):
    ok, buf = cv2.imencode(".jpg", PAGE, [cv2.IMWRITE_JPEG_QUALITY, quality])
    tables = jpeg_tables(buf.tobytes())
    assert (tables.quality, tables.standard, tables.editor) == (quality, True, None)
    assert codes(buf.tobytes()) == []


@pytest.mark.parametrize("preset, setting", [("web_high", "Save for Web quality 60"),
                                             ("maximum", "Save As quality 10")])
def test_photoshop_tables_are_named(preset, setting):
    [found] = findings(jpeg(PAGE, preset))
    assert (found.code, found.severity) == ("IMG_QUANT_TABLE_EDITOR", "medium")
    assert (found.evidence["software"], found.evidence["setting"]) == ("Adobe Photoshop", setting)
    assert "about q=" in found.evidence["quality"]


def test_unknown_tables_are_estimated_not_flagged():
    out = io.BytesIO()
    Image.fromarray(PAGE).save(out, "JPEG", qtables={0: [2] * 64, 1: [3] * 64})
    tables = jpeg_tables(out.getvalue())
    assert not tables.standard and tables.editor is None and tables.quality > 90
    assert tables.label.startswith("non-standard")


def test_no_temporary_file_is_left_behind():
    before = set(os.listdir(tempfile.gettempdir()))
    jpeg_tables(jpeg(PAGE))
    assert set(os.listdir(tempfile.gettempdir())) <= before


def edited(pixels: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Row 2's amount copied over row 12's: the copy-move a forger makes."""
    out = pixels.copy()
    out[450:490, 640:850] = pixels[90:130, 640:850]
    return out, [640, 450, 850, 490]


def overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_thumbnail_of_the_page_before_an_edit_locates_it():
    original = with_thumbnail(jpeg(PAGE, 92, camera_exif()), PAGE)
    forged, box = edited(PAGE)
    stale = jpeg(forged, 95, Image.open(io.BytesIO(original)).info["exif"])  # EXIF copied whole, as apps do
    hits = [f for f in findings(stale) if f.code == "IMG_THUMBNAIL_MISMATCH"]
    assert hits and all(f.severity == "high" and f.units == "px" for f in hits)
    assert overlaps(hits[0].bbox, box)
    fresh = with_thumbnail(jpeg(forged, 95, camera_exif()), forged)
    assert "IMG_THUMBNAIL_MISMATCH" not in codes(fresh)


def test_thumbnail_follows_the_orientation_tag():
    """Stored sideways with Orientation 6: the check reads the upright image, and so must its box be."""
    upright, box = edited(PAGE)
    stored = np.ascontiguousarray(np.rot90(PAGE, 1))   # what the sensor wrote: turned 90° counter-clockwise
    exif = camera_exif()
    exif[0x0112] = 6
    stale = with_thumbnail(jpeg(np.ascontiguousarray(np.rot90(upright, 1)), 95, exif), stored)
    hits = [f for f in findings(stale) if f.code == "IMG_THUMBNAIL_MISMATCH"]
    assert hits and overlaps(hits[0].bbox, box)


def test_thumbnail_of_another_picture_is_medium_without_a_box():
    y, x = np.mgrid[0:1200, 0:900]
    desk = np.repeat(((x + y) % 600 / 600 * 255).astype(np.uint8)[..., None], 3, axis=2)
    other = with_thumbnail(jpeg(PAGE, 92, camera_exif()), desk)
    [found] = [f for f in findings(other) if f.code == "IMG_THUMBNAIL_MISMATCH"]
    assert found.severity == "medium" and found.bbox is None


XMP = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       '<rdf:Description rdf:about="" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" '
       'xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#" {extra}><xmpMM:History><rdf:Seq>'
       '<rdf:li stEvt:action="saved" stEvt:softwareAgent="{agent}"/></rdf:Seq></xmpMM:History>'
       '</rdf:Description></rdf:RDF></x:xmpmeta>')


def test_xmp_edit_history():
    photoshop = XMP.format(agent="Adobe Photoshop 25.5 (Windows)",
                           extra='xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:ColorMode="3"')
    [found] = findings(jpeg(PAGE, 90, xmp=photoshop.encode()))
    assert (found.code, found.severity) == ("IMG_EDIT_HISTORY", "medium")
    assert found.evidence["agents"] == "Adobe Photoshop 25.5 (Windows)"
    assert found.evidence["photoshop_properties"] == "photoshop:ColorMode"
    camera = XMP.format(agent="HUAWEI Camera", extra="")
    assert codes(jpeg(PAGE, 90, xmp=camera.encode())) == []


def test_png_screenshot_with_an_editor_tag():
    exif = Image.Exif()
    exif[0x0131] = "Snapseed 2.0"
    buf = io.BytesIO()
    Image.fromarray(PAGE).save(buf, "PNG", exif=exif)
    assert codes(buf.getvalue()) == ["IMG_EDITOR_SOFTWARE"]


def test_registered_for_images_only():
    assert image_provenance in pipeline.DOCUMENT_CHECKS
    doc = open_document("page.jpg", jpeg(PAGE))
    assert image_provenance.applies(doc)
    doc.close()
    doc = open_document("s.pdf", text_pdf(["中国工商银行借记账户历史明细（电子版）"]))
    assert not image_provenance.applies(doc)
    doc.close()
