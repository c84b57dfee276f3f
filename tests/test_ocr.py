"""OCR engines on the committed samples: what they read, where they say it is, and the page cleaning behind it.

Real engines on real images: page 1 of applicant_01's statement rendered at 200 dpi (positions from its text
layer via pdfplumber, × 200/72), its flatbed scan and its phone photo (positions through the homography in the
truth sidecar, which maps PDF points to image pixels). Full pages are read once per engine and shared.
"""
from __future__ import annotations

import json
import math
import os
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import cv2
import numpy as np
import pdfplumber
import pypdfium2 as pdfium
import pytesseract
import pytest

from checks import ocr

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "samples" / "applicant_01"
PX = 200 / 72  # pixels per PDF point at 200 dpi


def truth(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.truth.json").read_text())


def printed_amounts(name: str) -> list[str]:
    """Page-1 credit, debit and balance amounts as the statement prints them ("2,900.00")."""
    rows = [t for t in truth(name)["transactions"] if t["page"] == 1]
    return [f"{Decimal(t[k]):,}" for t in rows for k in ("credit", "debit", "balance") if t[k]]


def digits(text: str) -> str:
    return text.replace(",", "").replace(".", "")


def texts(lines: list) -> list[str]:
    return [w.text for line in lines for w in line.words]


def share_found(wanted: list[str], words: list[str]) -> float:
    """The share of `wanted` among `words`, each word counted once."""
    left = {w: words.count(w) for w in set(words)}
    hits = 0
    for w in wanted:
        if left.get(w):
            left[w] -= 1
            hits += 1
    return hits / len(wanted)


def centre(box) -> np.ndarray:
    x0, top, x1, bottom = box
    return np.array([(x0 + x1) / 2, (top + bottom) / 2])


def through(homography, points) -> np.ndarray:
    """Points (PDF points, top-left origin) through a 3×3 homography into image pixels."""
    return cv2.perspectiveTransform(np.asarray(points, np.float64).reshape(-1, 1, 2), np.asarray(homography))[:, 0]


@pytest.fixture(scope="module")
def page():
    """Page 1's text layer in PDF points: words, chars and ruling lines."""
    with pdfplumber.open(SAMPLES / "statement.pdf") as pdf:
        p = pdf.pages[0]
        return {"words": p.extract_words(), "chars": list(p.chars), "lines": list(p.lines)}


@pytest.fixture(scope="module")
def images():
    pdf = pdfium.PdfDocument(SAMPLES / "statement.pdf")
    render = np.asarray(pdf[0].render(scale=PX, grayscale=True).to_pil().convert("L"))
    pdf.close()
    return {"render": render,
            "scan": cv2.imread(str(SAMPLES / "statement_scan.jpg"), cv2.IMREAD_COLOR),
            "photo": cv2.imread(str(SAMPLES / "statement_photo.jpg"), cv2.IMREAD_COLOR)}


@pytest.fixture(scope="module")
def read(images):
    """read(engine, image name) → lines, each full page read once for the whole module."""
    done: dict = {}

    def read(name: str, image: str):
        if (name, image) not in done:
            done[name, image] = ocr.engine(name).read(images[image])
        return done[name, image]

    return read


def homography(image: str) -> list:
    """PDF points → pixels of `image`: the render is a plain scale, the captures say theirs."""
    if image == "render":
        return [[PX, 0, 0], [0, PX, 0], [0, 0, 1]]
    return truth(f"statement_{image}.jpg")["capture"]["homography"]


def amount_positions(page: dict, image: str) -> dict[str, list[np.ndarray]]:
    """Where the text layer puts each amount, in pixels of `image`."""
    where: dict[str, list[np.ndarray]] = {}
    for w in page["words"]:
        if digits(w["text"]).isdigit() and "." in w["text"]:
            mid = centre((w["x0"], w["top"], w["x1"], w["bottom"]))
            where.setdefault(w["text"], []).append(through(homography(image), [mid])[0])
    return where


def misplaced(lines: list, where: dict[str, list[np.ndarray]], tolerance: float = 10) -> list[str]:
    """The amount words of `lines` farther than `tolerance` pixels from every place the PDF prints that amount."""
    return [f"{w.text} at {[round(v) for v in w.bbox]}" for line in lines for w in line.words
            if w.text in where and min(np.linalg.norm(centre(w.bbox) - p) for p in where[w.text]) > tolerance]


@pytest.mark.parametrize("image", ["render", "scan"])
@pytest.mark.parametrize("name", ocr.NAMES)
def test_reads_the_amounts_and_dates_verbatim(read, name, image):
    lines = read(name, image)
    dates = [t["date"] for t in truth("statement.pdf")["transactions"] if t["page"] == 1]
    assert share_found(printed_amounts("statement.pdf"), texts(lines)) >= 0.9
    assert share_found(dates, texts(lines)) >= 0.9
    text = "".join(line.text for line in lines)
    for field in ("account_name", "account_number"):
        assert truth("statement.pdf")["fields"][field] in text


@pytest.mark.parametrize("image", ["render", "scan"])
@pytest.mark.parametrize("name", ocr.NAMES)
def test_amounts_lie_where_the_text_layer_puts_them(read, page, name, image):
    where = amount_positions(page, image)
    lines = read(name, image)
    assert sum(w.text in where for line in lines for w in line.words) >= 0.9 * len(printed_amounts("statement.pdf"))
    assert misplaced(lines, where) == []


@pytest.mark.parametrize("name", ocr.NAMES)
def test_boxes_lie_inside_the_image_and_characters_inside_their_word(read, images, name):
    h, w = images["render"].shape
    lines = read(name, "render")
    assert lines
    for line in lines:
        assert [word.x0 for word in line.words] == sorted(word.x0 for word in line.words)
        for word in line.words:
            assert 0 <= word.x0 < word.x1 <= w and 0 <= word.top < word.bottom <= h
            assert 0 <= word.conf <= 1
            assert "".join(c.text for c in word.chars) == word.text
            for c in word.chars:
                assert word.x0 - 1 <= c.x0 < c.x1 <= word.x1 + 1 and word.top - 1 <= c.top < c.bottom <= word.bottom + 1


def test_tesseract_joins_chinese_characters_into_words(read):
    words = {w.text: w for line in read("tesseract", "render") for w in line.words}
    for header in ("交易日期", "摘要", "收入", "支出", "余额", "对方户名"):
        assert header in words
    payer = words["上海云帆科技有限公司"]
    assert len(payer.chars) == 10
    assert all(a.x0 < b.x0 for a, b in zip(payer.chars, payer.chars[1:], strict=False))


def test_rapidocr_reads_a_phone_photo(images, page):
    """The upper half of the photo: header and the first rows, skewed and in perspective."""
    crop = images["photo"][:1100]
    lines = ocr.engine("rapidocr").read(crop)
    where = amount_positions(page, "photo")
    visible = [text for text, points in where.items() for p in points if p[1] < crop.shape[0] - 20]
    assert len(visible) > 20
    # The blur leaves every digit readable but can turn a thousands comma into a point ("10.114.10").
    assert share_found(visible, texts(lines)) >= 0.6
    assert share_found([digits(v) for v in visible], [digits(w) for w in texts(lines)]) >= 0.9
    assert misplaced(lines, where) == []
    assert truth("statement_photo.jpg")["fields"]["account_number"] in "".join(line.text for line in lines)


@pytest.mark.parametrize("shape", [(10, 83333), (4000, 2)])
def test_rapidocr_reads_nothing_on_a_hairline_strip(shape):
    # fuzzing: a 30000 x 10 pt page rendered to a strip that rapidocr shrank to 0 px and raised on
    assert ocr.engine("rapidocr").read(np.full(shape, 255, np.uint8)) == []


@pytest.mark.parametrize("angle", [2.0, -2.0])
def test_skew_angle_recovers_a_rotation(images, angle):
    render = images["render"]
    h, w = render.shape
    turned = cv2.warpAffine(render, cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1), (w, h), borderValue=255)
    assert abs(ocr.skew_angle(turned) - angle) <= 0.3


def test_skew_angle_of_the_scan_matches_its_capture(images):
    (a, b, _), _, _ = truth("statement_scan.jpg")["capture"]["homography"]
    expected = math.degrees(math.atan2(b, a))
    assert abs(ocr.skew_angle(ocr.even_background(cv2.cvtColor(images["scan"], cv2.COLOR_BGR2GRAY))) - expected) <= 0.3


def test_tesseract_maps_boxes_back_through_its_deskew(images, page):
    """A crop of the table turned 3°: the words come back where they are in the turned image."""
    top, left = 560, 60
    crop = images["render"][top:top + 760, left:left + 1560]
    h, w = crop.shape
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), 3.0, 1)
    turned = cv2.warpAffine(crop, turn, (w, h), borderValue=255)
    where = {text: [turn[:, :2] @ (p - (left, top)) + turn[:, 2] for p in points]
             for text, points in amount_positions(page, "render").items()}
    lines = ocr.engine("tesseract").read(turned)
    assert sum(w.text in where for line in lines for w in line.words) >= 20
    assert misplaced(lines, where) == []


def dark_pixels(gray: np.ndarray, boxes) -> int:
    return sum(int((gray[int(t):int(b) + 1, int(x0):int(x1) + 1] < 160).sum()) for x0, t, x1, b in boxes)


def test_remove_rulings_clears_the_rules_and_keeps_the_text(images, page):
    render = images["render"]
    clean = ocr.remove_rulings(render)
    on_rules = np.array([(round(y), round(x)) for ln in page["lines"]
                         for x, y in zip(np.linspace(ln["x0"] * PX, ln["x1"] * PX, 200),
                                         np.linspace(ln["top"] * PX, ln["bottom"] * PX, 200), strict=True)])
    assert (render[on_rules[:, 0], on_rules[:, 1]] < 200).mean() > 0.9  # the rules are there to begin with
    assert (clean[on_rules[:, 0], on_rules[:, 1]] >= 200).mean() > 0.97
    chars = [(c["x0"] * PX, c["top"] * PX, c["x1"] * PX, c["bottom"] * PX) for c in page["chars"]]
    assert dark_pixels(clean, chars) >= 0.99 * dark_pixels(render, chars)


def test_remove_rulings_keeps_the_blurred_text_of_a_photo(images, page):
    """In a phone photo blurred words smear into long runs of ink; they must not be taken for rules."""
    gray = ocr.even_background(cv2.cvtColor(images["photo"], cv2.COLOR_BGR2GRAY))
    chars = []
    for c in page["chars"]:
        corners = through(homography("photo"), [(c["x0"], c["top"]), (c["x1"], c["bottom"])])
        chars.append((*corners.min(axis=0), *corners.max(axis=0)))
    assert dark_pixels(ocr.remove_rulings(gray), chars) >= 0.97 * dark_pixels(gray, chars)


def test_tesseract_runs_on_one_thread(images, monkeypatch):
    """Pages are run in parallel by the caller, so each tesseract process gets OMP_THREAD_LIMIT=1."""
    started = []
    popen = pytesseract.pytesseract.subprocess.Popen

    def spy(args, **kwargs):
        started.append(kwargs.get("env", os.environ).get("OMP_THREAD_LIMIT"))
        return popen(args, **kwargs)

    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    tesseract = ocr.TesseractEngine()
    monkeypatch.setattr(pytesseract.pytesseract.subprocess, "Popen", spy)
    assert tesseract.read(images["render"][200:260, 90:700])
    assert started and set(started) == {"1"}  # the read, and pytesseract's one-off version check


@pytest.mark.parametrize("name", ocr.NAMES)
def test_one_engine_reads_pages_in_parallel_threads(images, name):
    """The caller shares one engine between threads, a page each: the readings are those of one at a time."""
    header = images["render"][200:350]
    pages = [header[:, :800], header[:, 800:]]
    reader = ocr.engine(name)
    with ThreadPoolExecutor(max_workers=2) as pool:
        assert list(pool.map(reader.read, pages)) == [reader.read(p) for p in pages]


def test_rapidocr_loads_and_reads_without_the_network(images, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("RapidOCR tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    lines = ocr.RapidOcrEngine().read(images["render"][200:270, 80:700])
    assert [line.text for line in lines] == ["户名：曾婷梅"]


def test_a_missing_engine_names_the_command_that_installs_it(monkeypatch, tmp_path):
    assert set(ocr.available()) == set(ocr.NAMES)
    with pytest.raises(ValueError, match="unknown OCR engine"):
        ocr.engine("abbyy")

    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", str(tmp_path / "tesseract"))
    with pytest.raises(ocr.EngineUnavailable, match="apt-get install tesseract-ocr tesseract-ocr-chi-sim"):
        ocr.TesseractEngine()
    assert ocr.available()["tesseract"] == ocr.TESSERACT_INSTALL
    monkeypatch.undo()

    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))  # a tessdata folder without chi_sim
    with pytest.raises(ocr.EngineUnavailable, match="no chi_sim language data"):
        ocr.TesseractEngine()
    monkeypatch.undo()

    monkeypatch.setitem(sys.modules, "rapidocr", None)
    with pytest.raises(ocr.EngineUnavailable, match=r"pip install rapidocr==[\d.]+ onnxruntime==[\d.]+"):
        ocr.RapidOcrEngine()
    assert ocr.available()["rapidocr"] == ocr.RAPIDOCR_INSTALL


def test_an_amount_and_the_name_beside_it_stay_two_words(tmp_path):
    """Balance and counterparty cells of a generated ICBC scan, a row at a time (as the second opinion crops
    cells): Tesseract joined '35,057.70' and '王华' into one word, since Chinese joins across gaps that wide.
    An amount ends at its cents."""
    from fixtures.evalset import Writer, statement

    statement(Writer(tmp_path), 3, "icbc", "reportlab", 1, "scan")
    path = tmp_path / "captures" / "icbc-reportlab-01_scan.jpg"
    capture = json.loads(path.with_name(path.name + ".truth.json").read_text())
    image = cv2.imread(str(path))
    for row in capture["transactions"][13:19]:
        cells = [np.reshape(row["cells"][role]["bbox"], (2, 2)) for role in ("balance", "counterparty")]
        corners = through(capture["capture"]["homography"], np.concatenate(cells))
        (x0, top), (x1, bottom) = corners.min(axis=0).astype(int), corners.max(axis=0).astype(int)
        words = texts(ocr.engine("tesseract").read(image[top:bottom, x0:x1]))
        assert row["balance"].replace(".", "") in [digits(w) for w in words], words  # ',' may come as '.'


def _threads_running() -> int:
    return len(os.listdir("/proc/self/task"))


@pytest.mark.parametrize("threads", [1, 2])
def test_rapidocr_reads_with_the_threads_it_is_given(images, threads):
    """Detection runs `threads` ONNX Runtime threads, and recognition runs each batch as `threads` parts, one
    on the caller's thread: `threads - 1` more threads each, on one core as on many."""
    crop = images["render"][200:350]  # lines enough for a batch of several
    ocr.engine().read(crop)  # the threads a process starts once, on its first read (OpenCV's pool), are counted out
    before = _threads_running()
    engine = ocr.RapidOcrEngine(threads)
    assert engine.read(crop)
    assert _threads_running() - before == 2 * (threads - 1)


def test_rapidocr_reads_the_same_with_two_threads(images, read):
    """Recognition's batches split across two threads read exactly what one thread reads, boxes included."""
    lines = ocr.engine("rapidocr", 2).read(images["photo"])
    assert len(lines) > 20  # enough lines for several batches
    assert lines == read("rapidocr", "photo")


def test_rapidocr_reads_short_lines_side_by_side_as_it_reads_them_alone(images, page):
    """Every word of the rendered page cut out as its own line: read two or three to one recogniser input, each
    comes back with the text and character columns it gets when read alone, from fewer inputs (the page's dates and
    amounts are long: at 48 px high, most fill half an input)."""
    from rapidocr.ch_ppocr_rec import TextRecInput

    lines, wanted = [], []
    for w in page["words"]:
        x0, top, x1, bottom = (round(v * PX) for v in (w["x0"], w["top"], w["x1"], w["bottom"]))
        margin = round(0.3 * (bottom - top))  # about what the detector leaves around a line
        lines.append(cv2.cvtColor(images["render"][top - margin:bottom + margin, x0 - margin:x1 + margin],
                                  cv2.COLOR_GRAY2BGR))
        wanted.append(w["text"])
    engine = ocr.RapidOcrEngine()
    engine.read(images["render"][200:350])  # loads the models
    stitched = engine._ocr.text_rec
    alone = stitched._rec
    inputs = []
    session = alone.session
    alone.session = lambda batch: inputs.append(len(batch)) or session(batch)
    together = stitched(TextRecInput(img=lines, return_word_box=True))
    alone.session = session
    single = alone(TextRecInput(img=lines, return_word_box=True))
    assert len(lines) > 100 and sum(inputs) < 0.75 * len(lines)
    right = sum(a == b for a, b in zip(together.txts, wanted))
    assert right >= sum(a == b for a, b in zip(single.txts, wanted)) >= 0.95 * len(lines)
    both = zip(together.txts, single.txts, together.word_results, single.word_results)
    for a, b in [(a, b) for t, u, a, b in both if t == u]:
        assert a.words == b.words
        columns = np.array([c for cols in a.word_cols for c in cols]) - [c for cols in b.word_cols for c in cols]
        assert np.abs(columns).max() <= 1  # an output column is 1/12 of the line height
        assert abs(a.line_txt_len - b.line_txt_len) <= 1


def test_stitched_lines_fit_their_input():
    widths = [40, 300, 320, 500, 100, 150, 60, 60, 60, 200]
    strips = ocr._pack(widths, 320)
    assert sorted(i for strip in strips for i in strip) == list(range(len(widths)))
    assert all(sum(widths[i] for i in s) + ocr.STITCH_GAP * (len(s) - 1) <= 320 for s in strips if len(s) > 1)
    assert [3] in strips and [2] in strips
    room = [320 - sum(widths[i] + ocr.STITCH_GAP for i in s) for s in strips]
    assert not any(room[a] >= widths[i] for b, strip in enumerate(strips) for a in range(b) for i in strip)


def test_engines_are_shared_per_name_and_thread_count():
    assert ocr.engine("rapidocr", 2) is ocr.engine("rapidocr", 2) is not ocr.engine("rapidocr")
    with pytest.raises(ValueError, match="at least one thread"):
        ocr.engine("rapidocr", 0)
