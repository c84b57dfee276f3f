import io
import zlib

import pikepdf
import pytest
from PIL import Image

from checks.ingest import Limits, open_document, sniff
from checks.model import InputError
from tests.make import image_bytes, rewrite, text_pdf


def _error(data: bytes, limits: Limits = Limits()) -> InputError:
    with pytest.raises(InputError) as exc:
        open_document("upload.pdf", data, limits)
    return exc.value


def test_text_pdf_opens_with_pages_and_text():
    doc = open_document("s.pdf", text_pdf(["中国工商银行借记账户历史明细", "户名：张三"], pages=2))
    assert doc.format == "pdf" and len(doc.pages) == 2
    assert "户名：张三" in doc.pages[1].text
    assert doc.pages[0].units == "pt" and round(doc.pages[0].width) == 595
    doc.close()


@pytest.mark.parametrize("fmt, kind", [("JPEG", "jpeg"), ("PNG", "png"), ("TIFF", "tiff"), ("WEBP", "webp"),
                                       ("BMP", "bmp")])
def test_images_are_sniffed_by_their_bytes(fmt, kind):
    data = image_bytes(fmt)
    assert sniff(data) == kind
    doc = open_document("named-like-a.pdf", data)  # the extension does not matter
    assert doc.format == "image" and doc.pages[0].width == 64 and doc.pages[0].units == "px"


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (80, 40), "white")
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    doc = open_document("photo.jpg", buf.getvalue())
    assert (doc.pages[0].width, doc.pages[0].height) == (40, 80)


def test_empty_unsupported_oversized():
    assert _error(b"").code == "INPUT_EMPTY"
    assert _error(b"PK\x03\x04 a docx").code == "INPUT_UNSUPPORTED"
    assert "zip/office" in _error(b"PK\x03\x04 a docx").message
    assert _error(b"hello").code == "INPUT_UNSUPPORTED"
    assert _error(text_pdf(["x"]), Limits(max_file_bytes=100)).code == "INPUT_TOO_LARGE"
    assert _error(text_pdf(["x"], pages=3), Limits(max_pages=2)).code == "INPUT_TOO_MANY_PAGES"


def test_encrypted_pdf():
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(text_pdf(["x"]))) as pdf:
        pdf.save(out, encryption=pikepdf.Encryption(user="secret", owner="owner"))
    assert _error(out.getvalue()).code == "INPUT_ENCRYPTED"


def test_owner_password_only_still_opens():
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(text_pdf(["中国建设银行个人活期账户全部交易明细"]))) as pdf:
        pdf.save(out, encryption=pikepdf.Encryption(user="", owner="owner"))
    assert "交易明细" in open_document("s.pdf", out.getvalue()).pages[0].text


@pytest.mark.parametrize("cut", [200, 0.5])
def test_truncated_pdf_is_corrupt_or_repaired_never_a_crash(cut):
    data = text_pdf(["第一行", "第二行"])
    data = data[: int(cut if cut > 1 else len(data) * cut)]
    try:
        doc = open_document("t.pdf", data)
    except InputError as exc:
        assert exc.code == "INPUT_CORRUPT" and "BytesIO" not in exc.message
    else:
        assert doc.pages  # qpdf recovered what was there


def test_truncated_and_garbage_images():
    jpeg = image_bytes("JPEG", size=(400, 300))
    assert _error(jpeg[:200]).code == "INPUT_CORRUPT"
    assert _error(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).code == "INPUT_CORRUPT"


def test_decompression_bomb_is_refused_before_decoding():
    # 20000 × 20000 one-bit PNG: a few KB on disk, 400 megapixels decoded.
    width = height = 20000
    raw = zlib.compress(b"".join(b"\x00" + b"\x00" * (width // 8) for _ in range(height)), 9)

    def chunk(tag, body):
        return len(body).to_bytes(4, "big") + tag + body + zlib.crc32(tag + body).to_bytes(4, "big")

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", width.to_bytes(4, "big") + height.to_bytes(4, "big")
                                        + bytes([1, 0, 0, 0, 0]))
           + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
    assert len(png) < 100_000
    err = _error(png)
    assert err.code == "INPUT_TOO_MANY_PIXELS" and "400000000" in err.message


def test_pdf_header_after_junk_is_still_a_pdf():
    assert sniff(b"\r\n\r\n%PDF-1.4 ...") == "pdf"


def test_rewritten_pdf_still_opens():
    doc = open_document("r.pdf", rewrite(text_pdf(["收入证明"]), linearize=True))
    assert "收入证明" in doc.pages[0].text


def test_pdf_pages_keep_rectangles_and_images():
    import json
    from pathlib import Path

    samples = Path(__file__).resolve().parent.parent / "fixtures" / "samples" / "applicant_01"
    overlay = samples / "statement_overlay.pdf"
    edit = json.loads((samples / "statement_overlay.pdf.truth.json").read_text())["tampering"][0]
    doc = open_document(overlay.name, overlay.read_bytes())
    page = doc.pages[edit["page"] - 1]
    white = [r for r in page.rects if r["fill"] == (1.0, 1.0, 1.0)]
    x0, top, x1, bottom = edit["bbox"]
    assert any(r["bbox"][0] < x1 and x0 < r["bbox"][2] and r["bbox"][1] < bottom and top < r["bbox"][3] for r in white)
    proof = open_document("proof.pdf", (samples / "proof.pdf").read_bytes())
    (seal,) = proof.pages[0].images
    assert seal["size"] == [414, 414]
