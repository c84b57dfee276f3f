"""Small documents made with real libraries, for tests that need one specific property."""
from __future__ import annotations

import io
import zlib
from pathlib import Path

import pikepdf
from PIL import Image
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"


def text_pdf(lines: list[str], *, pages: int = 1, producer: str | None = None) -> bytes:
    """A text PDF with an embedded CJK font, written the way an issuer's report engine writes it."""
    if "zenhei" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("zenhei", FONT, subfontIndex=0))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1)
    if producer:
        c.setProducer(producer)
    for _ in range(pages):
        c.setFont("zenhei", 11)
        for i, line in enumerate(lines):
            c.drawString(60, 780 - 18 * i, line)
        c.showPage()
    c.save()
    return buf.getvalue()


_XMP_HISTORY = """<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
 xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"><xmpMM:History><rdf:Seq>{items}</rdf:Seq>
</xmpMM:History></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"""


def rewrite(data: bytes, *, info: dict | None = None, xmp_producer: str | None = None,
            xmp_dates: dict | None = None, xmp_history: list[str] | None = None, **save_kw) -> bytes:
    """Open and save with pikepdf (qpdf): a full rewrite, optionally with new metadata; `xmp_history`
    writes an XMP packet whose xmpMM:History has one 'saved' entry per software agent, as Acrobat does."""
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for key, value in (info or {}).items():
            pdf.docinfo[key] = value
        if xmp_producer is not None or xmp_dates:
            with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
                if xmp_producer is not None:
                    meta["pdf:Producer"] = xmp_producer
                for key, value in (xmp_dates or {}).items():
                    meta[key] = value
        if xmp_history is not None:
            items = "".join(f'<rdf:li stEvt:action="saved" stEvt:softwareAgent="{agent}"/>' for agent in xmp_history)
            pdf.Root.Metadata = pdf.make_stream(_XMP_HISTORY.format(items=items).encode(),
                                                Type=pikepdf.Name.Metadata, Subtype=pikepdf.Name.XML)
        pdf.save(out, **save_kw)
    return out.getvalue()


def image_bytes(fmt: str, size=(64, 48), **save_kw) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (240, 240, 235)).save(buf, fmt, **save_kw)
    return buf.getvalue()


def bomb_png(side: int = 20000) -> bytes:
    """A side × side one-bit PNG of zeros: a few KB on disk, side² pixels decoded (400 megapixels by default)."""
    raw = zlib.compress(b"".join(b"\x00" + b"\x00" * (side // 8) for _ in range(side)), 9)

    def chunk(tag, body):
        return len(body).to_bytes(4, "big") + tag + body + zlib.crc32(tag + body).to_bytes(4, "big")

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", side.to_bytes(4, "big") * 2 + bytes([1, 0, 0, 0, 0]))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def encrypted(data: bytes, user: str = "secret") -> bytes:
    """The PDF saved with a user password (one needed to open it) by qpdf."""
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        pdf.save(out, encryption=pikepdf.Encryption(user=user, owner="owner"))
    return out.getvalue()


def with_pypdf(edit) -> bytes:
    """A one-line statement cloned by pypdf, `edit(writer)` applied (an open action, an attachment, …)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf(["中国工商银行借记账户历史明细"]))))
    edit(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def incremental(data: bytes, edit) -> bytes:
    """Append an incremental update made by pypdf: `edit(writer)` changes what the update should carry."""
    from pypdf import PdfWriter

    writer = PdfWriter(io.BytesIO(data), incremental=True)
    edit(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def signed(data: bytes, field: str = "Signature1") -> bytes:
    """Sign with pyHanko in an incremental update, as an issuer's signing service does, with a self-signed
    certificate made on the spot (validity is not what the structure checks look at)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "docverify test issuer")])
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(start).not_valid_after(start + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    (signing_cert,) = load_certs_from_pemder_data(cert.public_bytes(serialization.Encoding.PEM))
    signing_key = load_private_key_from_pemder_data(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()), passphrase=None)
    signer = signers.SimpleSigner(signing_cert=signing_cert, signing_key=signing_key,
                                  cert_registry=SimpleCertificateStore.from_certs([signing_cert]))
    out = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(data)),
                           signers.PdfSignatureMetadata(field_name=field), signer=signer)
    return out.getvalue()


def verified(name: str, data: bytes):
    """The pipeline's result for one document, as a job would produce it."""
    from checks import pipeline
    from checks.ingest import open_document

    doc = open_document(name, data)
    try:
        return pipeline.verify_document(doc)
    finally:
        doc.close()


SAMPLE_STATEMENT = Path(__file__).resolve().parent.parent / "fixtures" / "samples" / "applicant_01" / "statement.pdf"
OVERSIZED = 1_200_000  # bytes of the oversized upload; run with a max_file_bytes below it


def hostile_files() -> dict[str, bytes]:
    """Name → bytes of uploads that must each end in an INPUT_ error naming the file (the PNG named .pdf is
    checked as the image it is), beside one genuine statement ("statement.pdf")."""
    from pypdf.actions import JavaScript

    good = SAMPLE_STATEMENT.read_bytes()
    jpeg = image_bytes("JPEG", size=(400, 300))
    png = bytearray(image_bytes("PNG", size=(300, 200)))
    png[12:16] = b"JUNK"  # the IHDR chunk's type: no decoder can start
    return {
        "statement.pdf": good,
        "encrypted.pdf": encrypted(text_pdf(["中国建设银行个人活期账户全部交易明细"])),
        "truncated.pdf": good[: len(good) // 2],
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "corrupt.png": bytes(png),
        "empty.pdf": b"",
        "screenshot.pdf": image_bytes("PNG", size=(320, 200)),
        "javascript.pdf": with_pypdf(lambda w: w.add_open_action(JavaScript("app.alert('hi');"))),
        "attachment.pdf": with_pypdf(lambda w: w.add_attachment("real_statement.pdf", b"%PDF-1.4 other")),
        "bomb.png": bomb_png(),
        "oversized.pdf": b"%PDF-1.7\n" + b"%" * OVERSIZED,
        "photo.jpg": b"Dear reviewer, this is a text file.\n",
        "../../etc/passwd.pdf": b"root:x:0:0:root:/root:/bin/bash\n",
        "..\\..\\x.pdf": good[:1000],
        "bad\x1b[31mname\n\x07.pdf": b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
        "<img src=x onerror=alert(1)>.jpg": b"GIF89a, not a JPEG",
    }
