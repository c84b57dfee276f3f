"""Self-contained HTML reports, one per job and an index over many, built from the result object alone.

What a report says comes from the result JSON and the reason-code catalog only; the uploaded files are read just to
picture their pages, so the report of a job whose uploads are gone still says everything, without the pictures.
Everything is inline (CSS, pictures as data: URIs, a few lines of script on the index): one file that opens from
disk, offline. Chinese comes first, English beside it.
"""
from __future__ import annotations

import base64
import io
import json
import math
import re
import tomllib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from html import escape
from importlib import resources
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image, ImageDraw, ImageOps

from checks.catalog import CATALOG
from checks.model import SEVERITIES
from checks.render import DPI as CROP_DPI  # crops at the resolution the checks looked at
from worker.privacy import mask, mask_text
from worker.result import overall
from worker.store import atomic_write

Loader = Callable[[str], "bytes | None"]  # sha256 → the uploaded file's bytes, None when it is not at hand

ZH = tomllib.loads(resources.files("checks.data").joinpath("messages_zh.toml").read_text(encoding="utf-8"))

PAGE_PX = 900  # width of a page picture: enough to see where, small enough for ten pages in a few MB
MAX_CROP_PX = 1600
MAX_PICTURED_PAGES = 20  # per document; pages with findings are always pictured
MARGIN_ACROSS, MARGIN_DOWN = 0.1, 0.035  # context around a crop, as shares of the page width: the cells beside
PAGE_QUALITY, CROP_QUALITY = 70, 85  # JPEG

VERDICT = {"pass": "通过 pass", "review": "复核 review", "reject": "拒绝 reject"}
SEVERITY = {"high": "高 high", "medium": "中 medium", "low": "低 low"}
KIND = {"bank_statement": "银行流水 bank statement", "employment_proof": "在职/收入证明 employment proof",
        "social_insurance": "社保缴费记录 social insurance", "housing_fund": "公积金缴存记录 housing fund",
        "other": "其他 other"}
STATUS = {"ran": "已运行 ran", "not_applicable": "不适用 not applicable", "error": "出错 error"}
# Evidence shown side by side: what the document said first (or underneath, or should say), and what it shows.
PAIRS = (("before", "after", "修订前 before", "修订后 after"),
         ("covered_text", "shown_text", "被盖住的 covered", "盖在上面的 shown"),
         ("under_text", "shown_text", "下层 underneath", "上层 on top"),
         ("text", "shown", "文字层 text layer", "页面画出的 drawn"),
         ("expected", "printed", "按前面各行应为 expected", "印的 printed"),
         ("stated", "rows", "印的合计 stated", "各行合计 rows"),
         ("expected", "found", "其他文件 expected", "本文件 found"))
TRANSACTION_COLUMNS = (("date", "日期 date"), ("time", "时间 time"), ("description", "摘要 description"),
                       ("credit", "收入 credit"), ("debit", "支出 debit"), ("balance", "余额 balance"),
                       ("counterparty", "对方 counterparty"), ("counterparty_account", "对方账号 account"))
MONEY = {"credit", "debit", "balance"}
_MASKED = re.compile(r"\*{4}")  # privacy.mask stars at least the middle four digits


@dataclass(frozen=True)
class Numbered:
    """A finding with its number in the report; `doc` indexes result["documents"], None for the bundle."""

    n: int
    finding: dict
    doc: int | None


@dataclass(frozen=True)
class Region:
    n: int
    severity: str
    code: str
    bbox: tuple[float, float, float, float]


# --- pictures -----------------------------------------------------------------------------------------------

class _Source:
    """One document's pages as the checks saw them: PDF pages rendered by PDFium over the whole MediaBox (which
    pdfplumber's coordinates refer to), images with their EXIF orientation applied. With `masked`, the personal
    numbers the text mask stars are painted over: in a PDF's text layer, and where `fields` (page → boxes of
    masked header fields and table cells, which is all a scan or photo has) say."""

    def __init__(self, data: bytes, fmt: str, masked: bool, fields: dict[int, list]):
        self.pdf = pdfium.PdfDocument(data) if fmt == "pdf" else None
        self.image = None if self.pdf else ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
        self.masked, self.fields = masked, fields
        self.covers: dict[int, list] = {}

    def box(self, number: int) -> tuple[float, float, float, float]:
        """The page as x, top, width, height in its units: pdfplumber puts a shifted MediaBox's corner at (l, -b)."""
        if self.image is not None:
            return (0.0, 0.0, float(self.image.width), float(self.image.height))
        left, bottom, right, top = self.pdf[number - 1].get_mediabox()
        return (left, -bottom, right - left, top - bottom)

    def picture(self, number: int, area: tuple[float, float, float, float], scale: float) -> Image.Image:
        """`area` (x0, top, x1, bottom in page units) at `scale` pixels per unit."""
        ox, oy, w, h = self.box(number)
        x0, top, x1, bottom = area
        if self.image is not None:
            img = self.image.crop((round(x0), round(top), round(x1), round(bottom)))
            if scale != 1:
                img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.LANCZOS)
        else:
            page = self.pdf[number - 1]
            page.set_cropbox(*page.get_mediabox())
            crop = (x0 - ox, oy + h - bottom, ox + w - x1, top - oy)  # trimmed off left, bottom, right, top
            img = page.render(scale=scale, crop=crop).to_pil().convert("RGB")
        draw = ImageDraw.Draw(img)
        for bx0, btop, bx1, bbottom in self._covers(number):
            draw.rectangle([(bx0 - x0) * scale, (btop - top) * scale, (bx1 - x0) * scale, (bbottom - top) * scale],
                           fill="#455a64")
        return img

    def _covers(self, number: int) -> list:
        if not self.masked:
            return []
        if number not in self.covers:
            boxes = list(self.fields.get(number, []))
            if self.pdf is not None:
                left, bottom, _, top = self.pdf[number - 1].get_mediabox()
                text = self.pdf[number - 1].get_textpage()
                raw = text.get_text_range()
                for i, (a, b) in enumerate(zip(raw, mask_text(raw))):
                    if a != b:  # a digit the mask stars; PDFium's box is the glyph's, a point more hides it whole
                        cl, cb, cr, ct = text.get_charbox(i)
                        boxes.append((cl - 1, top - ct - bottom - 1, cr + 1, top - cb - bottom + 1))
            self.covers[number] = boxes
        return self.covers[number]

    def close(self) -> None:
        if self.pdf is not None:
            self.pdf.close()


class Pictures:
    """Pages and crops of the result's documents as JPEG data URIs with the SVG viewBox (in page units) that
    lays boxes over them. Sources open on first use; None where a document's file is not at hand."""

    def __init__(self, docs: list[dict], load: Loader | None, masked: bool):
        self.docs, self.load, self.masked = docs, load, masked
        self.by_file = _by_file(docs)
        self.sources: dict[int, _Source | None] = {}

    def source(self, i: int) -> _Source | None:
        if i not in self.sources:
            doc = self.docs[i]
            data = self.load(doc["sha256"]) if self.load else None
            self.sources[i] = _Source(data, doc["format"], self.masked, _masked_boxes(doc)) if data else None
        return self.sources[i]

    def page(self, i: int, number: int) -> tuple[str, tuple] | None:
        src = self.source(i)
        if src is None:
            return None
        x, y, w, h = src.box(number)
        scale = PAGE_PX / w if src.pdf else min(1.0, PAGE_PX / w)
        return _jpeg(src.picture(number, (x, y, x + w, y + h), scale), PAGE_QUALITY), (x, y, w, h)

    def crop(self, i: int, number: int, bbox) -> tuple[str, tuple] | None:
        src = self.source(i)
        if src is None:
            return None
        x, y, w, h = src.box(number)
        across, down = MARGIN_ACROSS * w, MARGIN_DOWN * w
        area = (max(x, bbox[0] - across), max(y, bbox[1] - down), min(x + w, bbox[2] + across),
                min(y + h, bbox[3] + down))
        if area[2] <= area[0] or area[3] <= area[1]:
            return None  # a box off the page (hidden text outside the crop box)
        scale = min(CROP_DPI / 72 if src.pdf else 1.0, MAX_CROP_PX / max(area[2] - area[0], area[3] - area[1]))
        view = (area[0], area[1], area[2] - area[0], area[3] - area[1])
        return _jpeg(src.picture(number, area, scale), CROP_QUALITY), view

    def at(self, place: dict) -> tuple[str, tuple] | None:
        """The crop of a place a bundle finding's evidence names by file, page and box."""
        i = self.by_file.get(place["file"])
        return None if i is None else self.crop(i, place["page"], place["bbox"])

    def close(self) -> None:
        for src in self.sources.values():
            if src is not None:
                src.close()


def _masked_boxes(doc: dict) -> dict[int, list]:
    """Where the masked header fields and table cells sit, by page: the pixels there show the number unmasked."""
    out: dict[int, list] = defaultdict(list)
    extracted = doc.get("extracted") or {}
    for item in (extracted.get("fields") or {}).values():
        if isinstance(item, dict) and item.get("bbox") and _MASKED.search(str(item.get("value"))):
            out[item["page"]].append(item["bbox"])
    for row in extracted.get("transactions") or []:
        for column, box in (row.get("cells") or {}).items():
            if _MASKED.search(str(row.get(column))):
                out[row["page"]].append(box)
    return out


def _jpeg(img: Image.Image, quality: int) -> str:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


# --- the job report -------------------------------------------------------------------------------------------

def render(result: dict, load: Loader | None = None, *, masked: bool = True) -> str:
    """The report of one result. `load` gives the documents' bytes by sha256 to picture their pages."""
    r = mask(result) if masked else result
    docs = r["documents"]
    numbered = _number(r)
    regions = _regions(numbered, docs)
    pictures = Pictures(docs, load, masked)
    try:
        body = [_summary(r, numbered, masked)]
        if "bundle" in r:
            body.append(_bundle(r, numbered, pictures))
        body += [_document(i, doc, numbered, regions, pictures) for i, doc in enumerate(docs)]
        body.append(_errors(r["errors"]))
    finally:
        pictures.close()
    return _page(f"docverify {r['job_id']}", "\n".join(body))


def write(result: dict, out_dir: Path, load: Loader | None = None, *, masked: bool = True) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{result['job_id']}.html"
    atomic_write(path, render(result, load, masked=masked).encode("utf-8"))
    return path


def _number(r: dict) -> list[Numbered]:
    """Every finding of the result, most severe first (document order within a severity), numbered from 1."""
    found = [(i, f) for i, doc in enumerate(r["documents"]) for f in doc["findings"]]
    found += [(None, f) for f in r.get("bundle", {}).get("findings", [])]
    found.sort(key=lambda item: -SEVERITIES.index(item[1]["severity"]))
    return [Numbered(n, f, i) for n, (i, f) in enumerate(found, start=1)]


def _regions(numbered: list[Numbered], docs: list[dict]) -> dict[tuple[int, int], list[Region]]:
    """What to draw on each (document, page): a finding's own box, and every place a bundle finding's evidence
    points at (the salary rows, the employer names), under the bundle finding's number."""
    by_file = _by_file(docs)
    out: dict[tuple[int, int], list[Region]] = defaultdict(list)
    for x in numbered:
        f = x.finding
        if x.doc is not None and f.get("page") and f.get("bbox"):
            out[(x.doc, f["page"])].append(Region(x.n, f["severity"], f["code"], tuple(f["bbox"])))
        elif x.doc is None:
            for place in _places(f["evidence"]):
                if place["file"] in by_file:
                    region = Region(x.n, f["severity"], f["code"], tuple(place["bbox"]))
                    if region not in out[(by_file[place["file"]], place["page"])]:
                        out[(by_file[place["file"]], place["page"])].append(region)
    return out


def _by_file(docs: list[dict]) -> dict[str, int]:
    """Document index by file name, as bundle evidence names documents (the first, should two share a name)."""
    out: dict[str, int] = {}
    for i, doc in enumerate(docs):
        out.setdefault(doc["file"], i)
    return out


def _places(value) -> Iterable[dict]:
    """Dicts with file, page and bbox anywhere inside a bundle finding's evidence."""
    if isinstance(value, dict):
        if value.get("file") and value.get("page") and value.get("bbox"):
            yield value
        for v in value.values():
            yield from _places(v)
    elif isinstance(value, list):
        for v in value:
            yield from _places(v)


def _summary(r: dict, numbered: list[Numbered], masked: bool) -> str:
    verdict = overall(r)
    scores = [d["score"] for d in r["documents"]] + ([r["bundle"]["score"]] if "score" in r.get("bundle", {}) else [])
    privacy = ("个人号码已遮蔽 personal numbers masked" if masked
               else "<b>未遮蔽：含个人号码 unmasked: contains personal numbers</b>")
    out = [f"<header><h1>文件核验报告 <span class='en'>document verification report</span></h1>"
           f"<p class='verdict'><span class='v {verdict}'>{VERDICT[verdict]}</span>"
           f" <span class='score'>分数 score {max(scores, default=0):.2f}</span></p>"
           f"<p class='muted'>任务 job <code>{escape(r['job_id'])}</code> · {escape(r['created_at'])} · "
           f"docverify {escape(r['engine_version'])} · {privacy}</p></header>"]
    out.append("<section><h2>原因 <span class='en'>reasons, most severe first</span></h2>")
    if numbered:
        out.append("<ol class='reasons'>")
        for x in numbered:
            f = x.finding
            where = escape(r["documents"][x.doc]["file"]) if x.doc is not None else "申请包 bundle"
            if f.get("page"):
                where += f" · 第 {f['page']} 页"
            out.append(f"<li class='{f['severity']}'><a class='num' href='#f{x.n}'>{x.n}</a> "
                       f"<span class='sev'>{SEVERITY[f['severity']]}</span> {_messages(f)}"
                       f"<span class='where'>{where} · <code>{escape(f['code'])}</code></span></li>")
        out.append("</ol>")
    else:
        out.append("<p>未发现问题。 <span class='en'>No findings.</span></p>")
    out.append("<table><tr><th>文件 file</th><th>类型 kind</th><th>结论 verdict</th><th>分数 score</th>"
               "<th>页数 pages</th><th>发现 findings</th></tr>")
    for i, doc in enumerate(r["documents"]):
        out.append(f"<tr><td><a href='#d{i}'>{escape(doc['file'])}</a></td><td>{KIND.get(doc['kind'], doc['kind'])}"
                   f"</td><td><span class='v {doc['verdict']}'>{VERDICT[doc['verdict']]}</span></td>"
                   f"<td>{doc['score']:.2f}</td><td>{doc['pages']}</td><td>{len(doc['findings'])}</td></tr>")
    out.append("</table></section>")
    return "\n".join(out)


def _messages(f: dict) -> str:
    return f"<span class='zh'>{escape(_zh(f))}</span> <span class='en'>{escape(f['message'])}</span>"


def _zh(f: dict) -> str:
    try:
        return ZH[f["code"]].format(**f["evidence"])
    except (KeyError, IndexError, ValueError, TypeError):
        return ""  # a result stored by an older engine, whose evidence differs: the English message stands alone


def _bundle(r: dict, numbered: list[Numbered], pictures: Pictures) -> str:
    bundle = r["bundle"]
    own = [x for x in numbered if x.doc is None]
    out = [f"<section id='bundle'><h2>申请包 <span class='en'>bundle: the documents checked together</span> "
           f"<span class='v {bundle['verdict']}'>{VERDICT[bundle['verdict']]}</span></h2>",
           _income_chart(own)]
    out += [_card(x, pictures) for x in own]
    out.append(_checks(bundle.get("checks", [])))
    out.append("</section>")
    return "\n".join(out)


def _document(i: int, doc: dict, numbered: list[Numbered], regions: dict, pictures: Pictures) -> str:
    out = [f"<section id='d{i}' class='document'><h2>{escape(doc['file'])} "
           f"<span class='v {doc['verdict']}'>{VERDICT[doc['verdict']]}</span></h2>"
           f"<p class='muted'>{KIND.get(doc['kind'], doc['kind'])} · {doc['format']} · {doc['pages']} 页 pages · "
           f"分数 score {doc['score']:.2f} · sha256 <code>{doc['sha256'][:16]}…</code></p>",
           _pages(i, doc, regions, pictures)]
    own = [x for x in numbered if x.doc == i]
    if own:
        out.append("<h3>发现 <span class='en'>findings</span></h3>")
        out += [_card(x, pictures) for x in own]
    out += [_fields(doc), _transactions(i, doc, regions), _checks(doc.get("checks", [])), "</section>"]
    return "\n".join(out)


def _pages(i: int, doc: dict, regions: dict, pictures: Pictures) -> str:
    flagged = sorted(page for d, page in regions if d == i)
    clean = [p for p in range(1, doc["pages"] + 1) if p not in flagged]
    shown = flagged + clean[:max(0, MAX_PICTURED_PAGES - len(flagged))]
    figures = []
    for number in sorted(shown):
        picture = pictures.page(i, number)
        if picture is None:
            return "<p class='muted'>原件不在手边，未画出页面。 <span class='en'>The original file is not at hand: " \
                   "pages are not pictured.</span></p>"
        figures.append(_figure(f"d{i}-p{number}", picture, regions.get((i, number), []),
                               f"第 {number} 页 page {number}", "page"))
    note = ""
    if len(shown) < doc["pages"]:
        note = (f"<p class='muted'>另有 {doc['pages'] - len(shown)} 页没有发现，未画出。 <span class='en'>"
                f"{doc['pages'] - len(shown)} more page(s) without findings are not pictured.</span></p>")
    return f"<div class='pages'>{''.join(figures)}</div>{note}"


def _figure(fid: str | None, picture: tuple[str, tuple], regions: list[Region], caption: str, css: str,
            outline=None) -> str:
    """A picture with an SVG laid over it in page units: numbered regions linked to their findings, or the
    outline of one box on a crop."""
    uri, (x, y, w, h) = picture
    label = w / 45
    shapes, labels = [], []
    for g in regions:
        x0, top, x1, bottom = g.bbox
        lx, ly = x0, top - label * 0.3 if top - label > y else bottom + label
        while any(abs(lx - px) < label * 1.4 and abs(ly - py) < label for px, py in labels):
            lx += label * 1.4  # findings on the same place: their numbers side by side
        labels.append((lx, ly))
        shapes.append(f"<a href='#f{g.n}'><rect class='region {g.severity}' data-finding='{g.n}' x='{x0:g}' "
                      f"y='{top:g}' width='{x1 - x0:g}' height='{bottom - top:g}'/>"
                      f"<text x='{lx:g}' y='{ly:g}' font-size='{label:g}'>{g.n}</text></a>")
    if outline is not None:
        x0, top, x1, bottom = outline
        shapes.append(f"<rect class='outline' x='{x0:g}' y='{top:g}' width='{x1 - x0:g}' height='{bottom - top:g}'/>")
    ident = f" id='{fid}'" if fid else ""
    return (f"<figure class='{css}'{ident}><div class='sheet'><img src='{uri}' alt='{escape(caption)}'>"
            f"<svg viewBox='{x:g} {y:g} {w:g} {h:g}' preserveAspectRatio='none'>{''.join(shapes)}</svg></div>"
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def _card(x: Numbered, pictures: Pictures) -> str:
    """One finding: what, where (back to its page), the evidence pictured, and what the code means."""
    f = x.finding
    entry = CATALOG.get(f["code"])
    code = escape(f["code"])
    out = [f"<article class='finding {f['severity']}' id='f{x.n}' data-code='{code}'>"
           f"<h4><span class='num'>{x.n}</span> <span class='sev'>{SEVERITY[f['severity']]}</span> <code>{code}</code>"]
    if x.doc is not None and f.get("page"):
        out.append(f" <a href='#d{x.doc}-p{f['page']}'>第 {f['page']} 页 page {f['page']}</a>")
    out.append(f"</h4><p>{_messages(f)}</p>")
    shown = {"heatmap_png"}
    for before, after, before_label, after_label in PAIRS:
        if before in f["evidence"] and after in f["evidence"] and not shown & {before, after}:
            shown |= {before, after}
            out.append(f"<div class='pair'><div><span>{before_label}</span><del>{escape(str(f['evidence'][before]))}"
                       f"</del></div><div><span>{after_label}</span><ins>{escape(str(f['evidence'][after]))}</ins>"
                       "</div></div>")
    figures = []
    if x.doc is not None and f.get("page") and f.get("bbox"):
        crop = pictures.crop(x.doc, f["page"], f["bbox"])
        if crop:
            figures.append(_figure(None, crop, [], "原件局部 the place at full resolution", "crop", f["bbox"]))
    if x.doc is not None and f["evidence"].get("heatmap_png"):
        figures.append(_heatmap(f, pictures.source(x.doc)))
    if x.doc is None:  # the places a bundle finding points at, and its series, are pictured instead of listed
        shown |= {"series"} | {k for k, v in f["evidence"].items() if any(_places(v))}
    if f["code"] == "EMPLOYER_MISMATCH":
        out.append(_employers(f["evidence"], pictures))
    elif x.doc is None:
        for place in list(_places(f["evidence"]))[:4]:
            crop = pictures.at(place)
            if crop:
                figures.append(_figure(None, crop, [], f"{place['file']} 第 {place['page']} 页", "crop", place["bbox"]))
    if figures:
        out.append(f"<div class='figures'>{''.join(figures)}</div>")
    out.append(_evidence({k: v for k, v in f["evidence"].items() if k not in shown}))
    if entry:
        out.append(f"<details><summary>这个代码的含义 <span class='en'>what this code means</span></summary>"
                   f"<p><b>Why it matters.</b> {escape(entry.why)}</p><p><b>A genuine document.</b> "
                   f"{escape(entry.genuine)}</p><p><b>Known false-positive causes.</b> "
                   f"{escape(entry.false_positives)}</p></details>")
    out.append("</article>")
    return "".join(out)


def _heatmap(f: dict, src: _Source | None) -> str:
    """The page's heatmap (it spans the whole page) with the finding's box on it, when the page size is known."""
    uri = "data:image/png;base64," + f["evidence"]["heatmap_png"]
    caption = "压缩差异热图（越白越异常） heatmap: white compresses unlike the page"
    if src is None or not f.get("bbox"):
        return f"<figure class='crop'><img src='{uri}' alt='heatmap'><figcaption>{caption}</figcaption></figure>"
    return _figure(None, (uri, src.box(f["page"])), [], caption, "crop heatmap", f["bbox"])


def _evidence(evidence: dict) -> str:
    if not evidence:
        return ""
    rows = []
    for key, value in evidence.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        rows.append(f"<dt>{escape(key)}</dt><dd>{escape(text if len(text) <= 240 else text[:240] + '…')}</dd>")
    return f"<dl class='evidence'>{''.join(rows)}</dl>"


def _employers(evidence: dict, pictures: Pictures) -> str:
    """EMPLOYER_MISMATCH: the two employers side by side, each with its place on its page."""
    sides = [evidence.get("claimed") or {}, evidence.get("other") or {}]
    rows = [("来源 source", "source"), ("文件 file", "file"), ("单位名称 name", "name"),
            ("规范化名称 normalised", "normalized"), ("统一社会信用代码 USCC", "uscc")]
    out = ["<table class='compare'><tr><th></th><th>声称的单位 claimed</th><th>对照的单位 compared with</th></tr>"]
    for label, key in rows:
        out.append(f"<tr><th>{label}</th>" + "".join(f"<td>{escape(str(s.get(key) or '—'))}</td>" for s in sides)
                   + "</tr>")
    cells = []
    for side in sides:
        crop = pictures.at(side) if side.get("file") and side.get("page") and side.get("bbox") else None
        cells.append(f"<td>{_figure(None, crop, [], side.get('file', ''), 'crop', side['bbox'])}</td>" if crop
                     else "<td>—</td>")
    out.append(f"<tr><th>原件 on the page</th>{''.join(cells)}</tr></table>")
    return "".join(out)


def _income_chart(own: list[Numbered]) -> str:
    """Monthly salary as bars; behind each, the band the month may lie in (the threshold either side of the month
    before); the months that swing out of it in red and linked to their findings; missing months marked."""
    income = [x for x in own if isinstance(x.finding["evidence"].get("series"), dict)]
    if not income:
        return ""
    series = {m: float(v) for m, v in income[0].finding["evidence"]["series"].items()}
    swings = [x for x in income if x.finding["code"] == "INCOME_FLUCTUATION"]
    flagged = {x.finding["evidence"]["month"]: x.n for x in swings}
    missing = {m: x.n for x in income if x.finding["code"] == "INCOME_MONTH_MISSING"
               for m in x.finding["evidence"].get("missing", [])}
    band = float(swings[0].finding["evidence"]["threshold"].rstrip("%")) / 100 if swings else None
    months = sorted(set(series) | set(missing))
    if not months:
        return ""
    width, height, left, right, top, bottom = 760, 280, 70, 16, 20, 40
    top_value = max(series.values(), default=1) * (1 + (band or 0)) * 1.08
    step = _tick_step(top_value)
    slot = (width - left - right) / len(months)

    def y(v: float) -> float:
        return top + (height - top - bottom) * (1 - v / top_value)

    parts = [f"<line class='axis' x1='{left}' y1='{y(0):.1f}' x2='{width - right}' y2='{y(0):.1f}'/>"]
    tick = step
    while tick < top_value:
        parts.append(f"<line class='grid' x1='{left}' y1='{y(tick):.1f}' x2='{width - right}' y2='{y(tick):.1f}'/>"
                     f"<text class='tick' x='{left - 6}' y='{y(tick) + 4:.1f}'>{tick:,.0f}</text>")
        tick += step
    for k, month in enumerate(months):
        cx = left + slot * (k + 0.5)
        previous = series.get(months[k - 1]) if k else None
        if band is not None and previous is not None:
            low, high = previous * (1 - band), previous * (1 + band)
            parts.append(f"<rect class='band' x='{cx - slot * 0.4:.1f}' y='{y(high):.1f}' width='{slot * 0.8:.1f}' "
                         f"height='{y(low) - y(high):.1f}'/>")
        if month in series:
            v = series[month]
            bar = (f"<rect class='bar{' flagged' if month in flagged else ''}' data-month='{month}' "
                   f"x='{cx - slot * 0.22:.1f}' y='{y(v):.1f}' width='{slot * 0.44:.1f}' height='{y(0) - y(v):.1f}'/>"
                   f"<text class='amount' x='{cx:.1f}' y='{y(v) - 5:.1f}'>{v:,.0f}</text>")
            parts.append(f"<a href='#f{flagged[month]}'>{bar}</a>" if month in flagged else bar)
        else:
            parts.append(f"<a href='#f{missing[month]}'><text class='missing' data-month='{month}' x='{cx:.1f}' "
                         f"y='{y(0) - 6:.1f}'>缺 missing</text></a>")
        parts.append(f"<text class='month' x='{cx:.1f}' y='{height - bottom + 18}'>{month}</text>")
    legend = ("红色：与上月相比变动超过阈值 <span class='en'>red: changed by more than the threshold</span>"
              if swings else "")
    if band is not None:
        legend += (f"；浅蓝带：上月工资 ±{band:.0%} <span class='en'>band: the month before ±{band:.0%}</span>")
    return (f"<figure class='chart'><figcaption>月工资 <span class='en'>monthly salary</span></figcaption>"
            f"<svg viewBox='0 0 {width} {height}' role='img'>{''.join(parts)}</svg>"
            f"<p class='muted'>{legend}</p></figure>")


def _tick_step(top: float) -> float:
    """A round step (1, 2 or 5 × 10^k) giving three to six grid lines below `top`."""
    power = 10 ** math.floor(math.log10(max(top, 1) / 4))
    return next(power * m for m in (1, 2, 5, 10) if top / (power * m) <= 6)


def _fields(doc: dict) -> str:
    fields = (doc.get("extracted") or {}).get("fields") or {}
    if not fields:
        return ""
    rows = "".join(f"<tr><th>{escape(name)}</th><td>{escape(str(item.get('value')))}</td><td>{item.get('page') or ''}"
                   f"</td></tr>" for name, item in fields.items() if isinstance(item, dict))
    return (f"<details><summary>读出的字段 <span class='en'>fields read ({len(fields)})</span></summary>"
            f"<table class='fields'><tr><th>字段 field</th><th>值 value</th><th>页 page</th></tr>{rows}</table></details>")


def _transactions(i: int, doc: dict, regions: dict) -> str:
    """The rows read from the statement; rows under a finding's box carry its number, broken balances in red."""
    rows = (doc.get("extracted") or {}).get("transactions") or []
    if not rows:
        return ""
    out = ["<h3>交易明细 <span class='en'>transactions read</span></h3><div class='scroll'><table class='txns'><tr>"
           "<th>#</th>" + "".join(f"<th>{label}</th>" for _, label in TRANSACTION_COLUMNS) + "<th>页 page</th></tr>"]
    for row in rows:
        hits = [g for g in regions.get((i, row.get("page")), []) if row.get("bbox") and _same_line(g.bbox, row["bbox"])]
        css = "broken" if any(g.code == "BALANCE_ROW_BROKEN" for g in hits) else "flagged" if hits else ""
        marks = " ".join(f"<a href='#f{g.n}'>{g.n}</a>" for g in hits)
        cells = "".join(f"<td class='{'money' if key in MONEY else ''}'>{escape(str(row.get(key) or ''))}</td>"
                        for key, _ in TRANSACTION_COLUMNS)
        out.append(f"<tr class='{css}'><td>{marks}</td>{cells}<td>{row.get('page') or ''}</td></tr>")
    out.append("</table></div>")
    return "\n".join(out)


def _same_line(box, row) -> bool:
    """The finding's box lies on the row: most of its height inside the row's, and the two overlap across."""
    overlap = min(box[3], row[3]) - max(box[1], row[1])
    return overlap > 0.5 * max(box[3] - box[1], 1e-6) and min(box[2], row[2]) > max(box[0], row[0])


def _checks(checks: list[dict]) -> str:
    if not checks:
        return ""
    order = {"error": 0, "not_applicable": 1, "ran": 2}
    rows = "".join(f"<tr class='{c['status']}'><td><code>{escape(c['name'])}</code></td>"
                   f"<td>{STATUS.get(c['status'], escape(c['status']))}</td><td>{escape(c.get('detail', ''))}</td></tr>"
                   for c in sorted(checks, key=lambda c: order.get(c["status"], 0)))
    ran = sum(c["status"] == "ran" for c in checks)
    return (f"<details class='checks'><summary>检查项 <span class='en'>checks: {ran} ran, {len(checks) - ran} did not"
            f"</span></summary><table><tr><th>检查 check</th><th>状态 status</th><th>说明 detail</th></tr>{rows}"
            "</table></details>")


def _errors(errors: list[dict]) -> str:
    if not errors:
        return ""
    rows = "".join(f"<tr><td>{escape(e['file'])}</td><td><code>{escape(e['code'])}</code></td><td>"
                   f"{escape(_zh({'code': e['code'], 'evidence': {}}))} <span class='en'>{escape(e['message'])}"
                   "</span></td></tr>" for e in errors)
    return (f"<section><h2>无法检查的文件 <span class='en'>files that could not be checked</span></h2><table>"
            f"<tr><th>文件 file</th><th>代码 code</th><th>问题 problem</th></tr>{rows}</table></section>")


# --- the index ------------------------------------------------------------------------------------------------

def render_index(results: Iterable[dict], *, masked: bool = True) -> str:
    """One row per job, flagged first (reject, review, pass; newest first within), filterable by verdict and
    reason code; `index.html#verdict=reject&code=BALANCE_` opens filtered."""
    rank = {"reject": 0, "review": 1, "pass": 2}
    rows = sorted((mask(r) if masked else r for r in results), key=lambda r: r["created_at"], reverse=True)
    rows.sort(key=lambda r: rank[overall(r)])
    all_codes: set[str] = set()
    body = []
    for r in rows:
        numbered = _number(r)
        codes = [x.finding["code"] for x in numbered] + [e["code"] for e in r["errors"]]
        codes = [escape(c) for c in dict.fromkeys(codes)]
        all_codes.update(codes)
        verdict = overall(r)
        files = [*r["documents"], *({"file": e["file"], "kind": "—"} for e in r["errors"])]
        top = " ".join(f"<code>{c}</code>" for c in codes[:4]) + (f" +{len(codes) - 4}" if len(codes) > 4 else "")
        created = r["created_at"][:16].replace("T", " ")
        body.append(f"<tr data-verdict='{verdict}' data-codes='{' '.join(codes)}'>"
                    f"<td><span class='v {verdict}'>{VERDICT[verdict]}</span></td><td>{escape(created)}"
                    f"</td><td>{'<br>'.join(escape(d['file']) for d in files)}"
                    f"{'<br><i>申请包 bundle</i>' if 'bundle' in r else ''}</td>"
                    f"<td>{'<br>'.join(escape(KIND.get(d['kind'], d['kind'])) for d in files)}</td>"
                    f"<td>{top or '—'}</td>"
                    f"<td><a href='{escape(r['job_id'])}.html'>{escape(_short(r['job_id']))}</a></td></tr>")
    options = "".join(f"<option value='{v}'>{VERDICT[v]}</option>" for v in ("reject", "review", "pass"))
    datalist = "".join(f"<option value='{c}'>" for c in sorted(all_codes))
    content = (f"<h1>核验报告索引 <span class='en'>docverify reports</span></h1>"
               f"<p class='filters'><label>结论 verdict <select id='verdict'><option value=''>全部 all</option>"
               f"{options}</select></label> <label>原因代码 code <input id='code' list='codes' "
               f"placeholder='BALANCE_'></label><datalist id='codes'>{datalist}</datalist> "
               f"<span id='shown' class='muted'></span></p>"
               "<table id='jobs'><thead><tr><th>结论 verdict</th><th>时间 created</th><th>文件 files</th>"
               "<th>类型 kinds</th><th>主要原因 top reasons</th><th>报告 report</th></tr></thead>"
               f"<tbody>{''.join(body)}</tbody></table><script>{_INDEX_JS}</script>")
    return _page("docverify reports", content)


def _short(job_id: str) -> str:
    return job_id if len(job_id) <= 12 else job_id[:12] + "…"


def write_index(results: Iterable[dict], out_dir: Path, *, masked: bool = True) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "index.html"
    atomic_write(path, render_index(results, masked=masked).encode("utf-8"))
    return path


_INDEX_JS = """
const verdict = document.getElementById("verdict"), code = document.getElementById("code");
const rows = [...document.querySelectorAll("#jobs tbody tr")];
const wanted = new URLSearchParams(location.hash.slice(1));
verdict.value = wanted.get("verdict") || "";
code.value = wanted.get("code") || "";
function filter() {
  const c = code.value.trim().toUpperCase();
  let shown = 0;
  for (const row of rows) {
    row.hidden = (verdict.value !== "" && row.dataset.verdict !== verdict.value) ||
                 (c !== "" && !row.dataset.codes.split(" ").some(x => x.includes(c)));
    shown += row.hidden ? 0 : 1;
  }
  document.getElementById("shown").textContent = shown + " / " + rows.length;
}
verdict.addEventListener("input", filter);
code.addEventListener("input", filter);
filter();
"""

_CSS = """
body{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;margin:0 auto;padding:1.5em;
max-width:1280px;color:#222;line-height:1.45}
h1{margin:.2em 0}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
.en{color:#666;font-weight:normal;font-size:.92em}.muted{color:#777}code{font-size:.9em}
.v{display:inline-block;padding:.1em .6em;border-radius:.3em;color:#fff;font-weight:bold;font-size:.9em}
.verdict .v{font-size:1.6em}.score{font-size:1.2em;margin-left:.6em}
.pass{background:#2e7d32}.review{background:#ef6c00}.reject{background:#c62828}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;
vertical-align:top}th{background:#f4f4f4}
.reasons{padding-left:0;list-style:none}.reasons li{margin:.35em 0;padding:.3em .5em;border-left:5px solid #999}
.reasons li.high{border-color:#c62828}.reasons li.medium{border-color:#ef6c00}.reasons li.low{border-color:#90a4ae}
.reasons .where{display:block;color:#777;font-size:.85em}
.num{display:inline-block;min-width:1.5em;text-align:center;border-radius:1em;background:#37474f;color:#fff;
font-weight:bold;text-decoration:none}
.sev{font-size:.85em;font-weight:bold}li.high .sev,.finding.high .sev{color:#c62828}
li.medium .sev,.finding.medium .sev{color:#ef6c00}
.pages{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0}figure.page{width:min(100%,600px)}
.sheet{position:relative;line-height:0;border:1px solid #bbb}.sheet img{width:100%;height:auto}
.sheet svg{position:absolute;left:0;top:0;width:100%;height:100%}
figcaption{font-size:.85em;color:#555;padding:.2em 0}
rect.region{fill-opacity:.08;stroke-width:2;vector-effect:non-scaling-stroke}
rect.region.high{fill:#c62828;stroke:#c62828}rect.region.medium{fill:#ef6c00;stroke:#ef6c00}
rect.region.low{fill:#607d8b;stroke:#607d8b}
.sheet text{font-weight:bold;fill:#b71c1c;paint-order:stroke;stroke:#fff;stroke-width:3px;
vector-effect:non-scaling-stroke}
rect.outline{fill:none;stroke:#c62828;stroke-width:2;vector-effect:non-scaling-stroke}
.finding{border:1px solid #ddd;border-left:6px solid #999;padding:.4em .8em;margin:.8em 0;scroll-margin-top:1em}
.finding.high{border-left-color:#c62828}.finding.medium{border-left-color:#ef6c00}.finding:target{
box-shadow:0 0 0 3px #1565c0}.finding h4{margin:.2em 0}
.pair{display:flex;gap:1em;margin:.4em 0}.pair div{border:1px solid #ddd;padding:.3em .6em}.pair span{display:block;
font-size:.8em;color:#666}del{color:#555;font-size:1.3em;text-decoration:none}ins{color:#c62828;font-size:1.3em;
text-decoration:none;font-weight:bold}
.figures{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}figure.crop{max-width:100%}
figure.crop .sheet img{width:auto;max-width:100%}figure.heatmap{width:260px}figure.heatmap img{width:100%!important}
.evidence{display:grid;grid-template-columns:max-content 1fr;gap:.1em 1em;font-size:.85em;color:#444}
.evidence dt{font-family:monospace}.evidence dd{margin:0;word-break:break-all}
.scroll{max-height:32em;overflow:auto}.txns td.money{text-align:right;font-family:monospace}
tr.broken{background:#ffcdd2}tr.flagged{background:#fff3e0}
.compare img{max-width:420px}
.chart svg{width:100%;max-width:760px}.chart .bar{fill:#78909c}.chart .bar.flagged{fill:#c62828}
.chart .band{fill:#90caf9;fill-opacity:.45}.chart .axis{stroke:#333}.chart .grid{stroke:#e0e0e0}
.chart text{font-size:12px;text-anchor:middle}.chart .tick{text-anchor:end;fill:#777}
.chart .missing{fill:#c62828;font-weight:bold}
details{margin:.4em 0}summary{cursor:pointer;color:#1565c0}tr.error td{background:#ffebee}
.filters{margin:1em 0}#jobs td{font-size:.9em}
"""


def _page(title: str, content: str) -> str:
    return (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width,initial-scale=1'><title>{escape(title)}</title>"
            f"<style>{_CSS}</style></head><body>{content}</body></html>")
