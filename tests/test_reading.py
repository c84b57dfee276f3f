"""OCR of pages without a text layer: image uploads and scanned PDFs, levelled before table reading."""
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from checks import extract, pipeline, reading, second_opinion
from checks.balances import broken_rows
from checks.ingest import open_document
from checks.model import Word
from checks.normalize import nfkc

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


def test_a_lone_time_starts_a_row_only_inside_the_table():
    """Rows 60 px apart, a date over a time in the first column, a debit beside: the third row's date is unread.
    Its time starts its row; a time above the first date (a page without a header row of its own, whose heading
    prints when it was made) starts none."""
    from checks import table

    words = [Word("打印时间", 20, 20, 90, 50), Word("12:44:22", 100, 20, 180, 50)]
    for r in range(5):
        y = 100 + 60 * r
        words += [Word("12:00:00", 100, y + 25, 180, y + 55), Word(f"{r}.00", 300, y + 10, 380, y + 40)]
        if r != 2:
            words.append(Word(f"2024-08-0{r + 1}", 100, y, 200, y + 30))
    columns = [table.Column("date", table.Edge(-float("inf")), table.Edge(250), Word("日期", 100, 0, 140, 10)),
               table.Column("debit", table.Edge(250), table.Edge(float("inf")), Word("支出", 300, 0, 340, 10))]
    rows = table.rows(words, columns, 0.0, "date", extract._is_date, 1, extract._is_time)
    assert [(r.text("date", " "), r.text("debit")) for r in rows] == [
        ("2024-08-01 12:00:00", "0.00"), ("2024-08-02 12:00:00", "1.00"), ("12:00:00", "2.00"),
        ("2024-08-04 12:00:00", "3.00"), ("2024-08-05 12:00:00", "4.00")]


# --- captures the reading once got wrong --------------------------------------------------------------------------
# Generated (fixtures.evalset, seeded) and read once through the whole pipeline, as `scripts/evaluate.py` reads them:
# name → (seed, layout, capture). All from reportlab PDFs.
CAPTURES = {
    "watermarked": (2, "icbc_dense", "scan"),  # ICBC's small type, wrapped cells, a diagonal watermark
    "signed": (3, "cmb", "photo"),  # one signed amount column, newest first, single-line rows set tight
    "turned": (3, "icbc", "scan"),  # turned on the glass; a balance nearly touching the counterparty
}


@pytest.fixture(scope="module")
def captures(tmp_path_factory):
    from fixtures.evalset import Writer, statement

    writer = Writer(tmp_path_factory.mktemp("captures"))
    read = {}
    for name, (seed, layout, capture) in CAPTURES.items():
        statement(writer, seed, layout, "reportlab", 1, capture)
        path = writer.root / "captures" / f"{layout}-reportlab-01_{capture}.jpg"
        truth = json.loads(path.with_name(path.name + ".truth.json").read_text(encoding="utf-8"))
        doc = open_document(path.name, path.read_bytes())
        read[name] = (pipeline.verify_document(doc).extracted["transactions"], truth["transactions"])
        doc.close()
    return read


def column(rows, key) -> list[str]:
    """One field of every row, as `scripts/evaluate.py` compares them: NFKC, missing as empty."""
    return [nfkc(r[key] or "") for r in rows]


@pytest.mark.parametrize("name", CAPTURES)
def test_captures_read_every_amount_and_date_and_their_balances_add_up(captures, name):
    got, want = captures[name]
    assert len(got) == len(want)
    for key in ("date", "credit", "debit", "balance"):
        assert column(got, key) == column(want, key), key
    assert broken_rows(got) == []


def test_a_diagonal_watermark_stays_out_of_the_table(captures):
    """The watermark's box spanned rows and merged them (no row was read at all), and its lone letters landed in
    cells ("消费考")."""
    got, want = captures["watermarked"]
    assert column(got, "description") == column(want, "description")
    assert column(got, "time") == column(want, "time")


def test_a_cell_stays_in_the_row_it_faces(captures):
    """Wrapped counterparties (centred beside a date and time) and tightly set single-line rows, where OCR boxes
    of neighbouring rows touch: no line of a cell moves to the row above or below."""
    got, want = captures["watermarked"]
    for g, w in zip(column(got, "counterparty"), column(want, "counterparty")):
        assert (g[:4], g[-4:]) == (w[:4], w[-4:])
    got, want = captures["signed"]
    assert column(got, "description") == column(want, "description")


def test_columns_lean_with_a_turned_page(captures):
    """Turned by 0.8°, the blank strip between the balances and the (left-aligned, short) counterparties was
    closed when looked for upright: '王华' was read into the balance column."""
    got, want = captures["turned"]
    assert column(got, "counterparty") == column(want, "counterparty")


def test_an_amount_and_the_cell_it_touches_are_two_words(captures):
    got, want = captures["turned"]
    assert (got[5]["balance"], got[5]["counterparty"]) == (want[5]["balance"], want[5]["counterparty"])


def test_second_opinion_finds_a_lost_minus_sign(tmp_path):
    """One signed amount column: a reading of this page once lost the minus of '-4,300.00', making it a credit
    and breaking the balance; the cell read again shows the minus."""
    from fixtures.evalset import Writer, statement

    seed, layout, capture = CAPTURES["signed"]
    writer = Writer(tmp_path)
    statement(writer, seed, layout, "reportlab", 1, capture)
    path = writer.root / "captures" / f"{layout}-reportlab-01_{capture}.jpg"
    doc = open_document(path.name, path.read_bytes())
    rows = pipeline.verify_document(doc).extracted["transactions"]
    debit = rows[11]["debit"]
    assert debit == "4300.00" and rows[11]["credit"] is None
    rows[11]["credit"], rows[11]["debit"] = debit, None
    assert broken_rows(rows)
    assert second_opinion.recheck(doc, rows, "rapidocr") == [11]
    assert (rows[11]["credit"], rows[11]["debit"], rows[11]["second_opinion"]) == (None, debit, "rapidocr")


def test_second_opinion_reads_cells_again_and_where_ocr_found_nothing(scan_result):
    """On the scan's own reading: a debit OCR found nothing in, and a balance read with a digit wrong, are read
    again off the page."""
    doc, _ = scan_result
    rows = extract.extract(doc)["transactions"]
    truth = json.loads((SAMPLES / "statement_scan.jpg.truth.json").read_text(encoding="utf-8"))["transactions"]
    assert broken_rows(rows) == []
    missing = next(i for i, t in enumerate(rows) if t["debit"] and i > 2)
    rows[missing]["debit"] = None
    del rows[missing]["cells"]["debit"]
    misread = missing + 2
    rows[misread]["balance"] = str(Decimal(rows[misread]["balance"]) + 30)
    assert broken_rows(rows)
    assert second_opinion.recheck(doc, rows, "rapidocr") == [missing, misread]
    assert broken_rows(rows) == [] and column(rows, "debit") == column(truth, "debit")
    assert column(rows, "balance") == column(truth, "balance") and "debit" in rows[missing]["cells"]


def test_second_opinion_reads_a_figure_through_a_watermark():
    """A dense ICBC export (image set, seed 11): the watermark's pale strokes cross '1,126.40', which the page's
    reading took for 1,128.40 and the cell's plain and stretched re-readings for 1,120.00 or 1.00; with the pale
    strokes whitened both engines read it right, and the genuine page is no longer flagged."""
    from fixtures.imageset import genuine

    shot = genuine(11, "export", 0)
    doc = open_document("export.jpg", shot.data)
    result = pipeline.verify_document(doc)
    rows = result.extracted["transactions"]
    assert (rows[3]["debit"], rows[3].get("second_opinion")) == ("1126.40", "rapidocr")
    assert broken_rows(rows) == [] and result.verdict.verdict == "pass"


def test_a_row_whose_date_ocr_missed_starts_at_its_time_and_is_dated_again():
    """A dense ICBC export (image set, seed 11): the watermark's strokes across 2024-09-01 hide that date from the
    page's reading, which then took its row's time, debit and balance into the row above (a debit of
    277595100.00, a broken balance). The lone time a row below the last date starts the row again, and the
    line above it, read on its own, dates it."""
    from fixtures.imageset import genuine

    shot = genuine(11, "export", 6)
    doc = open_document("export.jpg", shot.data)
    result = pipeline.verify_document(doc)
    rows = result.extracted["transactions"]
    assert [(r["date"], r["time"], r["debit"], r["balance"]) for r in rows[5:7]] == [
        ("2024-08-29", "11:35:56", "277.59", "31348.44"), ("2024-09-01", "14:26:31", "5100.00", "26248.44")]
    assert rows[6]["second_opinion"] == "rapidocr"
    assert broken_rows(rows) == [] and result.verdict.verdict == "pass"


def test_second_opinion_leaves_a_retyped_amount_broken():
    """The salary credit of the scan painted over and retyped, balances left alone: the engines read the new
    figure as printed, so no reading mends the row, and the arithmetic keeps pointing at the edit."""
    name = "statement_scan_retyped.jpg"
    edit = json.loads((SAMPLES / f"{name}.truth.json").read_text(encoding="utf-8"))["tampering"][0]
    doc = open_document(name, (SAMPLES / name).read_bytes())
    rows = pipeline.verify_document(doc).extracted["transactions"]
    assert rows[edit["row"]]["credit"] == edit["after"].replace(",", "")
    assert broken_rows(rows) == [edit["row"]] and "second_opinion" not in rows[edit["row"]]


def test_a_page_is_read_with_the_threads_asked_for(monkeypatch):
    """The thread count given to the pipeline reaches the engine that reads the page (what the engine does with
    it is tested in tests/test_ocr.py)."""
    from checks import ocr

    asked = []

    def engine(name=ocr.DEFAULT_ENGINE, threads=1):
        asked.append((name, threads))
        return built(name, threads)

    built = ocr.engine
    monkeypatch.setattr(ocr, "engine", engine)
    with Image.open(SAMPLES / "statement_scan.jpg") as image:
        buf = io.BytesIO()
        image.crop((0, 0, image.width, image.height // 6)).save(buf, format="PNG")
    doc = open_document("header.png", buf.getvalue())
    pipeline.verify_document(doc, ocr_threads=2)
    assert doc.pages[0].words and asked[0] == (ocr.DEFAULT_ENGINE, 2)
