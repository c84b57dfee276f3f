"""The reviewer reports: built from the result alone, every located finding drawn on its page and linked, personal
numbers masked in text and pixels, the index filterable, and both pages loaded by a real browser (headless
Chromium) without console errors."""
from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import shutil
import string
import subprocess
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image

from checks.catalog import CATALOG
from tests.conftest import ROOT, run_cli
from worker import report
from worker.result import verify
from worker.store import Store

SAMPLES = ROOT / "fixtures" / "samples"
ARTIFACTS = ROOT / "test-artifacts"
COVER = (0x45, 0x5A, 0x64)  # the colour report.py paints over masked numbers


def _files(*paths: Path) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in paths]


def _loader(files):
    return {hashlib.sha256(data).hexdigest(): data for _, data in files}.get


@pytest.fixture(scope="module")
def forged():
    """A statement with a white box and a retyped amount in a second revision: reject, with located findings."""
    files = _files(SAMPLES / "applicant_01" / "statement_overlay.pdf")
    return verify(files, bundle=False), _loader(files)


@pytest.fixture(scope="module")
def bundle():
    """Applicant 2: the proof's employer differs from the payer of social insurance, and the salary jumps 37.7%."""
    files = _files(*(SAMPLES / "applicant_02" / n for n in ("statement.pdf", "proof.pdf", "social_insurance.pdf")))
    return verify(files, bundle=True), _loader(files)


class _Tree(HTMLParser):
    """Just what the tests look at: elements with their attributes and the element ids they sit in."""

    def __init__(self, html: str):
        super().__init__()
        self.elements: list[tuple[str, dict, list[str]]] = []
        self._open: list[tuple[str, str | None]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.handle_startendtag(tag, attrs)
        if tag not in ("img", "br", "meta", "input"):  # the void elements the reports use
            self._open.append((tag, dict(attrs).get("id")))

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs), [i for _, i in self._open if i]))

    def handle_endtag(self, tag):
        while self._open and self._open.pop()[0] != tag:
            pass

    def find(self, tag: str, **attrs) -> list[tuple[dict, list[str]]]:
        return [(a, ids) for t, a, ids in self.elements
                if t == tag and all(a.get(k.rstrip("_")) == v for k, v in attrs.items())]


def _box(rect: dict) -> tuple[float, ...]:
    return tuple(round(float(rect[k]), 1) for k in ("x", "y", "width", "height"))


def _cards(tree: _Tree) -> dict[int, str]:
    """Finding number → code, from the finding cards."""
    return {int(a["id"][1:]): a["data-code"] for a, _ in tree.find("article") if a.get("data-code")}


def _picture(tree: _Tree, figure_id: str) -> Image.Image:
    (img, _), = [(a, ids) for a, ids in tree.find("img") if figure_id in ids]
    return Image.open(io.BytesIO(base64.b64decode(img["src"].split(",", 1)[1])))


def test_every_code_has_a_chinese_message_over_the_english_fields():
    zh = tomllib.loads((ROOT / "checks" / "data" / "messages_zh.toml").read_text(encoding="utf-8"))
    assert set(zh) == set(CATALOG), "checks/data/messages_zh.toml and the catalog list different codes"

    def fields(template: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}

    for code, entry in CATALOG.items():
        assert re.search(r"[\u4e00-\u9fff]", zh[code]), code
        assert fields(zh[code]) <= fields(entry.message), f"{code}: a field the English message does not use"


def test_every_located_finding_is_drawn_on_its_page_and_linked(forged, bundle):
    for result, load in (forged, bundle):
        tree = _Tree(report.render(result, load))
        cards = _cards(tree)
        drawn = {(ids[-1], cards[int(a["data-finding"])], _box(a))
                 for a, ids in tree.find("rect") if "region" in a.get("class", "")}
        for i, doc in enumerate(result["documents"]):
            for f in doc["findings"]:
                if "bbox" in f:
                    x0, top, x1, bottom = f["bbox"]
                    box = tuple(round(v, 1) for v in (x0, top, x1 - x0, bottom - top))
                    assert (f"d{i}-p{f['page']}", f["code"], box) in drawn, f
        links = {a["href"] for a, _ in tree.find("a") if a.get("href", "").startswith("#f")}
        assert links == {f"#f{n}" for n in cards}  # every region and reason links to a card that exists


def test_reasons_come_most_severe_first_chinese_then_english(forged):
    html = report.render(forged[0], forged[1])
    order = re.findall(r"<li class='(high|medium|low)'>", html)
    assert order == sorted(order, key=("high", "medium", "low").index) and "medium" in order
    first = re.search(r"<li class='high'>.*?</li>", html, re.S)[0]
    assert first.index("class='zh'") < first.index("class='en'")
    assert "第 2/2 版修订改动了页面文字" in html and "拒绝 reject" in html


def test_revisions_show_before_and_after_with_a_full_resolution_crop(forged):
    html = report.render(forged[0], forged[1])
    assert "<del>10,584.80</del>" in html and "<ins>13,184.80</ins>" in html  # under the white box, and on it
    tree = _Tree(html)
    card = next(int(a["id"][1:]) for a, _ in tree.find("article") if a.get("data-code") == "PDF_TEXT_COVERED_RETYPED")
    crop_uri = next(a["src"] for a, ids in tree.find("img") if f"f{card}" in ids)
    crop = Image.open(io.BytesIO(base64.b64decode(crop_uri.split(",", 1)[1])))
    (finding,) = [f for f in forged[0]["documents"][0]["findings"] if f["code"] == "PDF_TEXT_COVERED_RETYPED"]
    width_pt = finding["bbox"][2] - finding["bbox"][0]
    assert crop.width >= width_pt * 200 / 72  # at the checks' 200 dpi, not the page picture's scale


def test_the_broken_balance_row_is_highlighted_in_the_transactions(forged):
    html = report.render(forged[0], forged[1])
    cards = _cards(_Tree(html))
    (row,) = re.findall(r"<tr class='broken'>(.*?)</tr>", html)
    numbers = [int(n) for n in re.findall(r"href='#f(\d+)'", row)]
    assert "BALANCE_ROW_BROKEN" in {cards[n] for n in numbers} and "2025-06-10" in row


def test_bundle_shows_salary_chart_employers_side_by_side_and_its_checks(bundle):
    result, load = bundle
    html = report.render(result, load)
    tree = _Tree(html)
    bars = {a["data-month"]: a["class"] for a, _ in tree.find("rect") if a.get("data-month")}
    assert bars["2025-06"] == "bar flagged" and bars["2025-05"] == "bar" and len(bars) == 6
    assert len([a for a, _ in tree.find("rect") if a.get("class") == "band"]) == 5  # one per month after the first
    assert "±30%" in html
    compare = re.findall(r"<table class='compare'>.*?</table>", html)
    assert len(compare) == 2 and "杭州瑞丰电子商务有限公司" in compare[0] and "杭州瑞丰网络科技有限公司" in compare[0]
    assert compare[0].count("<img") == 2  # each employer name pictured where it stands
    assert "housing_fund" in html and "不适用 not applicable" in html
    # The salary rows the fluctuation rests on are drawn on the statement's pages under the bundle finding's number.
    cards = _cards(tree)
    swing = next(n for n, code in cards.items() if code == "INCOME_FLUCTUATION")
    assert {ids[-1] for a, ids in tree.find("rect") if a.get("data-finding") == str(swing)} == {"d0-p1", "d0-p2"}


def test_personal_numbers_are_masked_in_text_and_pixels_unless_asked():
    files = _files(SAMPLES / "applicant_01" / "statement.pdf")
    raw = verify(files, bundle=False, masked=False)
    account = raw["documents"][0]["extracted"]["fields"]["account_number"]["value"]
    assert re.fullmatch(r"\d{19}", account)
    masked_html = report.render(raw, _loader(files))
    assert account not in masked_html and f"{account[:4]}***********{account[-4:]}" in masked_html
    assert account in report.render(raw, _loader(files), masked=False)

    # Page 2 repeats the account number in its header, outside any field read: its digits are painted over.
    pdf = pdfium.PdfDocument(files[0][1])
    text = pdf[1].get_textpage()
    at = text.get_text_range().index(account)
    left, bottom, right, top = text.get_charbox(at + 9)  # a middle digit, one the mask stars
    page_height = pdf[1].get_size()[1]
    for html, covered in ((masked_html, True), (report.render(raw, _loader(files), masked=False), False)):
        picture = _picture(_Tree(html), "d0-p2")
        scale = picture.width / pdf[1].get_size()[0]
        centre = ((left + right) / 2 * scale, (page_height - (top + bottom) / 2) * scale)
        pixel = np.asarray(picture.convert("RGB"))[round(centre[1]), round(centre[0])]
        assert (np.abs(pixel.astype(int) - COVER).max() < 24) == covered
    pdf.close()


def test_image_findings_are_drawn_in_pixels_with_their_heatmap():
    buf = io.BytesIO()
    Image.new("RGB", (1200, 900), "white").save(buf, "JPEG")
    heat = io.BytesIO()
    Image.new("L", (256, 192), 40).save(heat, "PNG")
    finding = {"code": "IMG_THUMBNAIL_MISMATCH", "severity": "high", "page": 1, "bbox": [600, 300, 800, 360],
               "units": "px", "message": "The embedded EXIF thumbnail shows other content here (test).",
               "evidence": {"shows": "其他内容", "score": 9.1,
                            "heatmap_png": base64.b64encode(heat.getvalue()).decode()}}
    result = {"job_id": "img", "created_at": "2026-01-01T00:00:00+00:00", "engine_version": "test", "errors": [],
              "documents": [{"file": "photo.jpg", "sha256": "0" * 64, "format": "image", "kind": "bank_statement",
                             "pages": 1, "verdict": "review", "score": 0.4, "findings": [finding],
                             "extracted": {"fields": {}, "transactions": []}, "checks": []}]}
    tree = _Tree(report.render(result, {"0" * 64: buf.getvalue()}.get))
    (region, ids), = [(a, ids) for a, ids in tree.find("rect") if a.get("data-finding") == "1"]
    assert ids[-1] == "d0-p1" and (region["x"], region["y"], region["width"]) == ("600", "300", "200")
    (svg, _), = [(a, ids) for a, ids in tree.find("svg") if "d0-p1" in ids]
    assert svg["viewbox"] == "0 0 1200 900"
    heatmaps = [ids for a, ids in tree.find("img") if a["src"].startswith("data:image/png")]
    assert len(heatmaps) == 1 and "f1" in heatmaps[0]  # in the finding's card
    assert "EXIF 内嵌的缩略图与图片本身不一致：其他内容。" in report.render(result)


def test_without_the_originals_the_report_still_says_everything(forged):
    html = report.render(forged[0])
    assert "原件不在手边" in html and "<img" not in html
    assert all(f["code"] in html for f in forged[0]["documents"][0]["findings"])


def test_every_picture_is_a_decodable_image(forged, bundle):
    for result, load in (forged, bundle):
        for uri in re.findall(r"src='data:image/(?:jpeg|png);base64,([^']+)'", report.render(result, load)):
            Image.open(io.BytesIO(base64.b64decode(uri))).verify()


def _result(job_id: str, created: str, verdict: str, codes: list[str], kind="bank_statement") -> dict:
    findings = [{"code": c, "severity": CATALOG[c].severity, "message": c, "evidence": {}} for c in codes]
    return {"job_id": job_id, "created_at": created, "engine_version": "test", "errors": [],
            "documents": [{"file": f"{job_id}.pdf", "sha256": "0" * 64, "format": "pdf", "kind": kind, "pages": 1,
                           "verdict": verdict, "score": 0.0, "findings": findings, "extracted": {}, "checks": []}]}


INDEX_RESULTS = [_result("old-pass", "2026-01-01T00:00:00+00:00", "pass", []),
                 _result("new-pass", "2026-03-01T00:00:00+00:00", "pass", []),
                 _result("review1", "2026-01-02T00:00:00+00:00", "review", ["PDF_EDITOR_SOFTWARE"]),
                 _result("reject1", "2026-01-03T00:00:00+00:00", "reject",
                         ["PDF_MODIFIED_AFTER_CREATION", "BALANCE_ROW_BROKEN"], kind="employment_proof")]


def test_index_lists_flagged_first_with_codes_kinds_and_links():
    tree = _Tree(report.render_index(INDEX_RESULTS))
    rows = [a for a, _ in tree.find("tr") if a.get("data-verdict")]
    assert [r["data-verdict"] for r in rows] == ["reject", "review", "pass", "pass"]
    assert rows[0]["data-codes"] == "BALANCE_ROW_BROKEN PDF_MODIFIED_AFTER_CREATION"  # most severe first
    links = [a["href"] for a, _ in tree.find("a")]
    assert links == ["reject1.html", "review1.html", "new-pass.html", "old-pass.html"]
    assert "在职/收入证明" in report.render_index(INDEX_RESULTS)


def _chromium(url: str, tmp_path: Path, name: str) -> tuple[str, list[str]]:
    """Load `url` in headless Chromium: the DOM after scripts ran, and the console messages; the screenshot goes
    to test-artifacts/NAME.png."""
    browser = shutil.which("chromium")
    if browser is None:
        pytest.fail("chromium is not installed: run `bash scripts/setup.sh` (it installs Debian's chromium)")
    shot = tmp_path / f"{name}.png"
    proc = subprocess.run([browser, "--headless", "--disable-gpu", "--no-sandbox", "--enable-logging=stderr",
                           "--v=0", f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1280,2400",
                           f"--screenshot={shot}", "--dump-dom", url],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.stat().st_size > 10_000
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(shot, ARTIFACTS / shot.name)
    return proc.stdout, [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]


def test_the_browser_check_sees_console_errors(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text("<!doctype html><title>x</title><p>x</p><script>undefinedFunction()</script>")
    _, console = _chromium(page.as_uri(), tmp_path, "control-broken-page")
    assert any("undefinedFunction" in line for line in console)  # so an empty list below means something


def test_report_opens_from_disk_in_chromium_without_console_errors(forged, tmp_path):
    path = report.write(forged[0], tmp_path / "reports", forged[1])
    dom, console = _chromium(path.as_uri(), tmp_path, "report-forged-statement")
    assert console == []
    assert dom.count("class=\"region") >= 4 and "13,184.80" in dom


def test_index_opens_in_chromium_and_filters_from_its_address(tmp_path):
    path = report.write_index(INDEX_RESULTS, tmp_path / "reports")
    dom, console = _chromium(path.as_uri() + "#verdict=pass", tmp_path, "index")
    assert console == []
    rows = re.findall(r"<tr (?:hidden=\"\" )?data-verdict=\"(\w+)\"[^>]*?( hidden=\"\")?>", dom)
    hidden = {verdict: bool(flag) for verdict, flag in rows}
    assert hidden == {"reject": True, "review": True, "pass": False}, rows
    dom, _ = _chromium(path.as_uri() + "#code=balance", tmp_path, "index-filtered")
    assert re.search(r"<span id=\"shown\"[^>]*>1 / 4<", dom)


def _env(tmp_path: Path) -> dict:
    return {**os.environ, "DOCVERIFY_DATA_DIR": str(tmp_path / "store"), "DOCVERIFY_MASK": "1"}


def test_check_writes_report_and_an_index_over_every_run_into_the_directory(tmp_path):
    out = tmp_path / "reports"
    for sample in ("statement_overlay.pdf", "statement.pdf"):
        proc = run_cli(["check", "--report", str(out), str(SAMPLES / "applicant_01" / sample)], _env(tmp_path))
        assert proc.returncode in (0, 1), proc.stderr
    index = (out / "index.html").read_text(encoding="utf-8")
    assert index.count("data-verdict=") == 2 and "statement_overlay.pdf" in index
    for job_id in re.findall(r"href='([0-9a-f]+)\.html'", index):
        assert "<img" in (out / f"{job_id}.html").read_text(encoding="utf-8")  # pages pictured from the run's files


def test_report_command_writes_stored_jobs_and_the_index(tmp_path, forged):
    store = Store(tmp_path / "store")
    data = (SAMPLES / "applicant_01" / "statement_overlay.pdf").read_bytes()
    store.put_upload(data, "statement_overlay.pdf")
    store.put_result("job-1", {**forged[0], "job_id": "job-1"})
    store.put_result("job-2", {**_result("job-2", "2026-01-01T00:00:00+00:00", "pass", [])})
    out = tmp_path / "out"
    proc = run_cli(["report", "job-1", "--out", str(out)], _env(tmp_path))
    assert proc.returncode == 0 and proc.stdout.strip() == str(out / "job-1.html")
    assert "<img" in (out / "job-1.html").read_text(encoding="utf-8")  # the upload read back from the store
    proc = run_cli(["report", "--index", "--out", str(out)], _env(tmp_path))
    assert proc.returncode == 0 and (out / "index.html").exists() and (out / "job-2.html").exists()
    assert run_cli(["report", "nope", "--out", str(out)], _env(tmp_path)).returncode == 2
    assert run_cli(["report"], _env(tmp_path)).returncode == 2
