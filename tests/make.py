"""Small documents made with real libraries, for tests that need one specific property."""
from __future__ import annotations

import io

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
            xmp_history: list[str] | None = None, **save_kw) -> bytes:
    """Open and save with pikepdf (qpdf): a full rewrite, optionally with new metadata; `xmp_history`
    writes an XMP packet whose xmpMM:History has one 'saved' entry per software agent, as Acrobat does."""
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for key, value in (info or {}).items():
            pdf.docinfo[key] = value
        if xmp_producer is not None:
            with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
                meta["pdf:Producer"] = xmp_producer
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


def incremental(data: bytes, edit) -> bytes:
    """Append an incremental update made by pypdf: `edit(writer)` changes what the update should carry."""
    from pypdf import PdfWriter

    writer = PdfWriter(io.BytesIO(data), incremental=True)
    edit(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
