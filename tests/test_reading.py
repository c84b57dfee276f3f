"""OCR of pages without a text layer: image uploads and scanned PDFs, levelled before table reading."""
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from checks import pipeline, reading
from checks.ingest import open_document
from checks.model import Word

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "samples" / "applicant_01"
KEYS = ("date", "time", "description", "credit", "debit", "balance", "counterparty")


def exact_rows(result, truth) -> int:
    return sum(all((g[k] or "") == (w[k] or "") for k in KEYS)
               for g, w in zip(result.extracted["transactions"], truth["transactions"]))


@pytest.fixture(scope="module")
def scan_result():
    doc = open_document("statement_scan.jpg", (SAMPLES / "statement_scan.jpg").read_bytes())
    return doc, pipeline.verify_document(doc)


def test_scan_is_read_and_every_row_extracted(scan_result):
    doc, result = scan_result
    truth = json.loads((SAMPLES / "statement_scan.jpg.truth.json").read_text(encoding="utf-8"))
    assert result.kind == "bank_statement" and doc.pages[0].ocr == "rapidocr"
    assert exact_rows(result, truth) >= 0.97 * len(truth["transactions"])
    assert result.extracted["fields"]["account_name"]["value"] == truth["fields"]["account_name"]


def test_boxes_come_back_in_the_delivered_image_frame(scan_result):
    """The salary cell read off the scan lies where the capture put the PDF's salary cell."""
    import numpy as np

    doc, result = scan_result
    assert doc.pages[0].unskew is not None  # the scan is turned by about a degree
    truth = json.loads((SAMPLES / "statement_scan.jpg.truth.json").read_text(encoding="utf-8"))
    homography = np.array(truth["capture"]["homography"])
    pdf = open_document("statement.pdf", (SAMPLES / "statement.pdf").read_bytes())
    text_layer = pipeline.verify_document(pdf).extracted["transactions"]
    row = next(i for i, t in enumerate(truth["transactions"]) if t["description"] == "代发工资")
    x0, top, x1, bottom = text_layer[row]["cells"]["credit"]
    corners = np.array([[x, y, 1.0] for x in (x0, x1) for y in (top, bottom)]) @ homography.T
    corners = corners[:, :2] / corners[:, 2:]
    want = [*corners.min(axis=0), *corners.max(axis=0)]
    got = result.extracted["transactions"][row]["cells"]["credit"]
    overlap = max(0, min(got[2], want[2]) - max(got[0], want[0])) * max(0, min(got[3], want[3]) - max(got[1], want[1]))
    assert overlap > 0.5 * (want[2] - want[0]) * (want[3] - want[1])


def test_scanned_pdf_pages_are_read_in_points(tmp_path):
    buf = io.BytesIO()
    Image.open(SAMPLES / "statement_scan.jpg").save(buf, "PDF", resolution=200)
    doc = open_document("scanned.pdf", buf.getvalue())
    assert doc.pages[0].scanned
    result = pipeline.verify_document(doc)
    truth = json.loads((SAMPLES / "statement_scan.jpg.truth.json").read_text(encoding="utf-8"))
    assert result.kind == "bank_statement"
    assert exact_rows(result, truth) >= 0.97 * len(truth["transactions"])
    x0, top, x1, bottom = result.extracted["transactions"][0]["bbox"]
    assert 0 <= x0 < x1 <= doc.pages[0].width + 1 and 0 <= top < bottom <= doc.pages[0].height + 1  # points


def test_slope_model_levels_a_sheared_table_and_maps_back():
    rows = []
    for r in range(6):
        for c in range(5):
            x = 100 + 250 * c
            y = 200 + 60 * r - 0.02 * (x - 600)  # right side higher, as in a turned photo
            rows.append(Word(f"{r}{c}", x, y, x + 80, y + 30))
    model = reading.slope_model(rows)
    assert model is not None and model[0] == pytest.approx(-0.02, abs=1e-3)
    levelled = [reading._shifted(w, model, -1) for w in rows]
    for r in range(6):
        tops = [w.top for w in levelled if w.text.startswith(str(r))]
        assert max(tops) - min(tops) < 1.0
    page = type("P", (), {"unskew": model})()
    box = reading.delivered_box(page, [levelled[4].x0, levelled[4].top, levelled[4].x1, levelled[4].bottom])
    assert box[1] <= rows[4].top + 0.5 and box[3] >= rows[4].bottom - 0.5
