"""OCR engines behind one small interface: a page image in, `Line`s of `Word`s with pixel boxes out.

    from checks import ocr
    lines = ocr.engine().read(image)    # the default engine; image: gray or BGR uint8 ndarray
    ocr.engine("tesseract")             # or by name: "rapidocr" | "tesseract"
    ocr.engine("rapidocr", threads=2)   # a read that may use two cores
    ocr.available()                     # {"tesseract": "ok", "rapidocr": "pip install …"}

Every box is in pixels of the image given to `read`, from its top-left corner; `conf` is 0..1 (a word's is its
weakest character's). A `Word` is a run of text that reads as one unit: a table cell, a label with its value
("户名：曾婷梅"), an amount; a space, a gap about a character wide, or a narrower one after an amount's cents starts
a new word. Both engines read a colour image through its red channel, so red seals fade out of the text they are
stamped across.

`Word.chars` holds one `Word` per character. How good those boxes are depends on the engine:

- rapidocr (the default): PP-OCR detection and recognition, ONNX models shipped inside the `rapidocr` wheel
  (nothing is downloaded). Character boxes come from the recogniser's CTC column positions laid across the
  detected line box: centres are right, widths are an average. A line returned without character positions
  gets its characters split evenly. Watermark text, which the detector finds turned across the page, is left out.
  Lines much shorter than the recogniser's input are recognised two or three to one input and cut apart again
  (`_Stitched`), which halves the recogniser's work on a statement.
- tesseract: Tesseract 5 (LSTM) with `chi_sim` in sparse-text mode, after the page is cleaned (even background,
  deskew up to 6°, table rules removed, small text scaled up); boxes are mapped back through the deskew and
  scaling. Tesseract reports Chinese mostly as one "word" per character, with its own box: those boxes are
  Tesseract's. Its multi-character words (amounts, dates, the odd Chinese pair) are split evenly across the
  word box: within a few pixels for the tabular digits of statements, rougher for proportional Latin text.

`engine(name, threads)` builds an engine once per process and thread count and reuses it; a missing engine raises
`EngineUnavailable` naming the command that installs it, never an empty result. `threads` is how many cores one
read may use: RapidOCR detects with that many ONNX Runtime threads and recognises that many parts of each batch
of lines at once (its threads sleep while they wait, so a busy machine loses little); Tesseract runs on one.
"""
from __future__ import annotations

import functools
import os
import re
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import pytesseract
from omegaconf import flag_override

from checks.model import Line, Word

DEFAULT_ENGINE = "rapidocr"
READY = "ok"
TESSERACT_INSTALL = "apt-get install tesseract-ocr tesseract-ocr-chi-sim"
RAPIDOCR_INSTALL = "pip install rapidocr==3.10.0 onnxruntime==1.32.0"

# A gap wider than this many line heights separates two words (or table cells): about one character. Tesseract's
# boxes hug the ink (gaps inside a Chinese word reach 0.9 of their height); RapidOCR's line boxes are padded.
TESSERACT_WORD_GAP = 1.0
RAPIDOCR_WORD_GAP = 0.6
# Watermark text is not part of the page's lines. Left in, the box of a diagonal watermark spans several table
# rows (and merges them), and its letters land in cells ("消费考"). It is told apart by its turn (pages arrive
# upright, turned by a few degrees at most; watermarks cross them at 20–45°) or, for a letter the detector did
# not chain into a line, by its size: a lone character this many times the height of the page's lines.
MAX_TEXT_TILT = 12.0
WATERMARK_LETTER = 1.5
# An amount ends at its cents: what follows it across a gap of this many line heights is another cell. Cells of a
# dense table nearly touch, and the engines then read a balance and the counterparty beside it as one line
# ("24,141.81财付通…", with gaps of 0.38–0.54 line heights on the evaluation captures).
AMOUNT_END_GAP = 0.3
_AMOUNT_END = re.compile(r"\d[.,]\d{2}$")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


class EngineUnavailable(RuntimeError):
    """An OCR engine cannot run on this machine; `fix` is the command that installs what it lacks."""

    def __init__(self, name: str, reason: str, fix: str):
        super().__init__(f"OCR engine {name!r} cannot run here: {reason}. Install it with: {fix}")
        self.fix = fix


class Engine(Protocol):
    name: str

    def read(self, image: np.ndarray) -> list[Line]: ...


def engine(name: str = DEFAULT_ENGINE, threads: int = 1) -> Engine:
    """The engine called `name` reading with `threads` threads, built on first use and shared by every later
    call in this process."""
    if name not in _ENGINES:
        raise ValueError(f"unknown OCR engine {name!r}; choose one of {', '.join(_ENGINES)}")
    if threads < 1:
        raise ValueError(f"an OCR engine needs at least one thread, not {threads}")
    return _built(name, threads)


@functools.cache
def _built(name: str, threads: int) -> Engine:
    return _ENGINES[name](threads)


def available() -> dict[str, str]:
    """Every engine name → `READY` ("ok") if it can run here, else the command that installs what it lacks."""
    status = {}
    for name, cls in _ENGINES.items():
        try:
            cls.check()
        except EngineUnavailable as exc:
            status[name] = exc.fix
        else:
            status[name] = READY
    return status


# ---------------------------------------------------------------------------------------------------------------
# Page cleaning for Tesseract. Each step is public so it can be tested and reused on its own.

def even_background(gray: np.ndarray) -> np.ndarray:
    """Divide out paper tone, shading and uneven light: a grey closing wider than any stroke is the background."""
    k = max(31, min(gray.shape) // 40) | 1
    background = cv2.morphologyEx(gray, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    return cv2.divide(gray, background, scale=255)


def skew_angle(gray: np.ndarray, limit: float = 6.0) -> float:
    """Degrees the content is turned counter-clockwise (OpenCV's sign for `getRotationMatrix2D`), within ±limit.

    Text lines and rules are sharpest in the ink's row profile when they lie level: the angle that turned back
    makes the profile change most from row to row wins, first in quarter degrees, then in 0.02°. (Fitting
    minimum-area rectangles to smeared text lines was tried first: on table cells a few characters long it
    missed by up to 0.7°.)"""
    ink = _ink(gray)
    f = min(1.0, 1000 / max(ink.shape))  # enough rows for a 0.1° answer, at a tenth of the cost
    small = cv2.resize(ink, None, fx=f, fy=f, interpolation=cv2.INTER_AREA).astype(np.float32)
    h, w = small.shape

    def sharpness(angle: float) -> float:
        rows = cv2.warpAffine(small, cv2.getRotationMatrix2D((w / 2, h / 2), -angle, 1), (w, h)).sum(axis=1)
        return float(np.sum(np.diff(rows) ** 2))

    def best(angles: np.ndarray) -> float:
        return float(max(angles, key=lambda a: (sharpness(a), -abs(a))))  # a blank page stays as it is

    coarse = best(np.arange(-4 * limit, 4 * limit + 1) / 4)
    return round(best(coarse + np.arange(-12, 13) * 0.02), 2)


def remove_rulings(gray: np.ndarray) -> np.ndarray:
    """Paint table rules white. A rule is long and thin: a run of ink longer than any character (4 text heights
    down; 12 across, since a blurred word in a phone photo smears into one long run) and on average thinner
    than a third of a text height (the smeared words are as thick as the text)."""
    otsu, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    height = _text_height(ink)
    # Thin grey rules of a scan are lighter than Otsu's cut for text: catch anything clearly darker than paper.
    faint = cv2.threshold(gray, (otsu + 255) / 2, 255, cv2.THRESH_BINARY_INV)[1]
    rules = np.zeros(gray.shape, bool)
    for bar, along in (((12 * height, 1), cv2.CC_STAT_WIDTH), ((1, 4 * height), cv2.CC_STAT_HEIGHT)):
        runs = cv2.morphologyEx(faint, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, bar))
        _, labels, stats, _ = cv2.connectedComponentsWithStats(runs)
        thin = stats[:, cv2.CC_STAT_AREA] / np.maximum(stats[:, along], 1) <= height / 3
        thin[0] = False  # the background
        rules |= thin[labels]
    out = gray.copy()
    out[cv2.dilate(rules.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0] = 255  # with the anti-aliased fringe
    return out


def prepare(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The page as Tesseract reads it best, and the 2×3 affine matrix from input pixels to its pixels.

    Gray (red seals faded), even background, then one warp that turns the page straight and scales small text up
    to about `_TESSERACT_TEXT_PX` (Tesseract loses punctuation and digits below that), then rules removed."""
    flat = even_background(_gray(image))
    angle = skew_angle(flat)
    scale = min(3.0, max(1.0, _TESSERACT_TEXT_PX / _text_height(_ink(flat))))
    h, w = flat.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), -angle, scale)
    # Grow the canvas so the turned corners stay on it.
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    size = (int(np.ceil(w * cos + h * sin)), int(np.ceil(w * sin + h * cos)))
    matrix[:, 2] += (size[0] / 2 - w / 2, size[1] / 2 - h / 2)
    straight = cv2.warpAffine(flat, matrix, size, flags=cv2.INTER_CUBIC, borderValue=255)
    return remove_rulings(straight), matrix


def _ink(gray: np.ndarray) -> np.ndarray:
    return cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)[1]


def _text_height(ink: np.ndarray) -> int:
    """Median height of the ink blobs that can be glyphs or glyph parts (not rules, not specks); 20 if none."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(ink)
    w, h, area = stats[1:, 2], stats[1:, 3], stats[1:, 4]
    glyphs = h[(h >= 3) & (w < 4 * h) & (h < 200) & (area >= 6)]
    return int(np.median(glyphs)) if glyphs.size else 20


# ---------------------------------------------------------------------------------------------------------------
# Tesseract

TESSERACT_LANG = "chi_sim"  # not chi_sim+eng: the English model turns Chinese into Latin look-alikes
# Sparse text (psm 11), not one uniform block (psm 6): in statement tables the two-line date/time cells beside
# one-line cells break psm 6's line finding (page-1 dates read exactly: 11/26 on a clean render and 7/26 on the
# scan with psm 6, 26/26 on both with psm 11).
TESSERACT_CONFIG = "--psm 11"
_TESSERACT_TEXT_PX = 20


class TesseractEngine:
    name = "tesseract"

    @staticmethod
    def check() -> None:
        try:
            languages = pytesseract.get_languages()
        except pytesseract.TesseractNotFoundError:
            raise EngineUnavailable("tesseract", "the tesseract program is not installed", TESSERACT_INSTALL) from None
        if TESSERACT_LANG not in languages:
            raise EngineUnavailable("tesseract", f"Tesseract has no {TESSERACT_LANG} language data",
                                    TESSERACT_INSTALL)

    def __init__(self, threads: int = 1) -> None:
        self.check()
        # One thread per Tesseract, whatever `threads` says: the caller runs pages in parallel. pytesseract starts
        # tesseract with this process's environment and takes no other, so the limit has to go there, for every
        # read at once (an operator's value wins).
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")

    def read(self, image: np.ndarray) -> list[Line]:
        page, matrix = prepare(image)
        data = pytesseract.image_to_data(page, lang=TESSERACT_LANG, config=TESSERACT_CONFIG,
                                         output_type=pytesseract.Output.DICT)
        tesseract_lines: dict[tuple[int, int, int], list[Word]] = {}
        for i, text in enumerate(data["text"]):
            if data["level"][i] != 5 or not text.strip():
                continue
            x0, top = data["left"][i], data["top"][i]
            token = Word(text.strip(), x0, top, x0 + data["width"][i], top + data["height"][i],
                         conf=min(max(float(data["conf"][i]) / 100, 0.0), 1.0))
            key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
            tesseract_lines.setdefault(key, []).append(replace(token, chars=_even_chars(token)))
        # Words within Tesseract's own lines (its character boxes overlap too erratically to be ordered across
        # them); in sparse mode those are table cells and phrases, which geometry then puts into lines.
        words = [w for tokens in tesseract_lines.values() for w in _join_tokens(tokens)]
        back = cv2.invertAffineTransform(matrix)
        return [Line(tuple(_transform(w, back, image.shape) for w in line)) for line in _group_lines(words)]


def _join_tokens(tokens: list[Word]) -> list[Word]:
    """Tesseract's words of one line, joined into our words. It splits Chinese into characters but Latin and
    digits only at real spaces, so two tokens join when the gap between them is narrow and at least one of them
    is Chinese, unless the first ends an amount."""
    tokens = sorted(tokens, key=lambda t: t.x0)
    height = statistics.median(t.bottom - t.top for t in tokens)
    runs = [[tokens[0]]]
    for token in tokens[1:]:
        previous, gap = runs[-1][-1], token.x0 - runs[-1][-1].x1
        if gap <= TESSERACT_WORD_GAP * height and (_CJK.search(previous.text) or _CJK.search(token.text)) \
                and not _after_amount(runs[-1], gap, height):
            runs[-1].append(token)
        else:
            runs.append([token])
    return [_word(run) for run in runs]


# ---------------------------------------------------------------------------------------------------------------
# RapidOCR

# The PP-OCR models the pinned rapidocr wheel ships. Naming them means rapidocr never takes its download path.
_RAPIDOCR_MODELS = {"Det.model_path": "PP-OCRv6_det_small.onnx", "Rec.model_path": "PP-OCRv6_rec_small.onnx"}


RAPIDOCR_LONG_SIDE = 1600  # px; why: see the engine's parameters below


class RapidOcrEngine:
    name = "rapidocr"

    @staticmethod
    def check() -> dict[str, str]:
        """The model paths to load; raises EngineUnavailable when the package, its runtime or a model is missing."""
        try:
            import onnxruntime  # noqa: F401  (rapidocr only imports it once a model loads)
            import rapidocr
        except ImportError as exc:
            raise EngineUnavailable("rapidocr", f"the Python package {exc.name} is not installed",
                                    RAPIDOCR_INSTALL) from None
        models = Path(rapidocr.__file__).parent / "models"
        paths = {key: models / file for key, file in _RAPIDOCR_MODELS.items()}
        missing = [p.name for p in paths.values() if not p.is_file()]
        if missing:
            raise EngineUnavailable("rapidocr", f"the rapidocr package lacks its models {', '.join(missing)}",
                                    RAPIDOCR_INSTALL)
        return {key: str(path) for key, path in paths.items()}

    def __init__(self, threads: int = 1) -> None:
        self._models = self.check()
        self._threads = threads
        from rapidocr import RapidOCR

        self._ocr = RapidOCR(params={
            **self._models,
            # No per-line 0°/180° classifier: pages arrive upright (ingest applies EXIF orientation), so it
            # would only cost time.
            "Global.use_cls": False,
            "Global.log_level": "error",  # not a warning per blank page
            # Shrink pages to 1600 px on their long side (A4 at about 140 dpi; 8-pt text still reads at 100 dpi):
            # the recogniser scales each line to 48 px anyway, and the detector's memory grows with the area
            # (peak RSS about 900 MB at the default 2000 px, 700 MB at 1600; the samples read as well or better).
            # And never blow a small image up: the default stretches its short side to 736 px, so reading one
            # amount cell took 1 s instead of 0.05.
            "Global.max_side_len": RAPIDOCR_LONG_SIDE,
            "Det.limit_type": "max",
            "Det.limit_side_len": RAPIDOCR_LONG_SIDE,
        })
        self._loading = threading.Lock()
        self._loaded = False

    def _load_models(self) -> None:
        """On the first read, not when the engine is made: a worker makes its engine before it forks work horses,
        and models loaded there would sit in every horse's address space (which DOCVERIFY_MEMORY_LIMIT_MB
        counts), PDF jobs included.

        rapidocr's own sessions cannot be told not to spin: ONNX Runtime's pool threads then burn a core while
        they wait, so two threads cost a third more CPU than one and lose on a busy machine. It takes sessions of
        the caller's through the `session` key of its config (which needs OmegaConf's flag for objects); these
        sleep, and recognition runs each batch of lines as `threads` one-thread runs side by side, which keeps
        the cores busier than one run's pool (the readings are the same either way)."""
        with self._loading:
            if self._loaded:
                return
            recognition = _onnx_session(self._models["Rec.model_path"], 1)
            with flag_override(self._ocr.cfg, "allow_objects", True):
                self._ocr.cfg.Det.session = _onnx_session(self._models["Det.model_path"], self._threads)
                self._ocr.cfg.Rec.session = recognition
            recognizer = self._ocr._load_rec_model()
            if self._threads > 1:  # the recogniser checks its session is ONNX Runtime's, so the split comes after
                recognizer.session.session = _SplitBatches(recognition, self._threads)
            self._ocr.text_rec = _Stitched(recognizer)
            self._loaded = True

    def read(self, image: np.ndarray) -> list[Line]:
        if min(image.shape[:2]) * RAPIDOCR_LONG_SIDE < max(image.shape[:2]):
            return []  # a strip thinner than one pixel once shrunk holds no text, and rapidocr raises on it
        self._load_models()
        result = self._ocr(cv2.cvtColor(_gray(image), cv2.COLOR_GRAY2BGR), return_word_box=True,
                           return_single_char_box=True)
        if not result.txts:
            return []
        # rapidocr leaves out the character list of a line it could not place, so the lists are matched to
        # the lines in order, by text and position, rather than by index.
        pending = list(result.word_results)
        height = statistics.median(float(np.ptp(quad[:, 1])) for quad in result.boxes)
        words = []
        for quad, text, score in zip(result.boxes, result.txts, result.scores, strict=True):
            xs, ys = quad[:, 0], quad[:, 1]
            line = Word(text, float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()), conf=float(score))
            chars = pending.pop(0) if pending and _places(pending[0], line) else None
            if not _watermark(quad, text, height):
                words.extend(_rapid_words(line, chars) if chars else _split_spaces(line))
        return [Line(tuple(line)) for line in _group_lines(words)]


def _onnx_session(path: str, threads: int):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.enable_cpu_mem_arena = False  # as rapidocr sets it: the arena keeps the largest page's memory
    options.log_severity_level = 4
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


class _SplitBatches:
    """An ONNX Runtime session (as rapidocr calls it: `run(outputs, {input: batch})`) that splits each batch
    into `threads` parts run at once, one of them on the caller's thread. ONNX Runtime lets one session run
    on several threads at a time."""

    def __init__(self, session, threads: int):
        self._session = session
        self._pool = ThreadPoolExecutor(threads - 1, thread_name_prefix="rapidocr-rec")
        self._threads = threads

    def run(self, outputs, feed: dict) -> list[np.ndarray]:
        (name, batch), = feed.items()
        first, *rest = np.array_split(batch, min(self._threads, len(batch)))
        later = [self._pool.submit(self._session.run, outputs, {name: part}) for part in rest]
        parts = [self._session.run(outputs, {name: first})] + [f.result() for f in later]
        return [np.concatenate(column) for column in zip(*parts)]

    def __getattr__(self, attribute: str):
        return getattr(self._session, attribute)  # inputs, outputs and metadata (the character list)


class _Stitched:
    """rapidocr's recogniser, called as rapidocr calls it, that reads lines short enough to share one input side
    by side and cuts the model's output columns back into each line's own: every line gets its text, score and
    character columns as if it had been read alone.

    The recogniser pads each line to its input width (320 px at 48 px high; narrower input reads worse), and
    most lines of a statement are one cell, under half that wide: a phone photo's 167 lines spent most of the
    recogniser's time on padding. Between two lines goes the padding's own value, so each line ends as it does
    when read alone (gaps of paper colour made the model read a cell's ruling at a line's end as "☑")."""

    def __init__(self, recognizer):
        self._rec = recognizer

    def __call__(self, args):
        from rapidocr.ch_ppocr_rec import TextRecOutput

        started = time.perf_counter()
        rec = self._rec
        _, height, width = rec.rec_image_shape
        lines = [args.img] if isinstance(args.img, np.ndarray) else list(args.img)
        if not lines:
            return rec(args)
        # Each line scaled and normalised as the recogniser takes it, to its own width.
        inputs = [rec.resize_norm_img(line, max(line.shape[1] / line.shape[0], 1 / height)) for line in lines]
        widths = [i.shape[2] for i in inputs]
        strips = sorted((_placed(members, widths) for members in _pack(widths, width)), key=lambda p: p[-1][2])
        results: list = [None] * len(lines)
        for start in range(0, len(strips), rec.rec_batch_num):
            batch = strips[start:start + rec.rec_batch_num]
            wide = max(width, batch[-1][-1][2])
            feed = np.zeros((len(batch), 3, height, wide), np.float32)  # 0 is the padding's value
            for row, strip in enumerate(batch):
                for index, x0, x1 in strip:
                    feed[row, :, :, x0:x1] = inputs[index]
            preds = rec.session(feed)
            step = wide / preds.shape[1]  # input pixels per output column
            for row, strip in enumerate(batch):
                for (index, x0, x1), (cut, end) in zip(strip, _cuts(strip, step, preds.shape[1])):
                    results[index] = _cut(rec.postprocess_op, preds[row:row + 1, cut:end], x0 / step - cut,
                                          (x1 - x0) / step, args.return_word_box)
        txts, scores, words = zip(*results)
        return TextRecOutput(lines, txts, scores, words, time.perf_counter() - started)


# px between two lines read side by side, as high as the recogniser's input: at half that, a screenshot's "2025-03-23"
# read as "2025-08-23" beside its strip's other line; the wider gap costs 2 inputs in 90 on a phone photo.
STITCH_GAP = 48


def _pack(widths: list[int], room: int) -> list[list[int]]:
    """Lines (by width) into strips no wider than `room` with STITCH_GAP between them, widest first, each into the
    first strip it fits (a line wider than `room` has a strip of its own)."""
    strips: list[list[int]] = []
    used: list[int] = []
    for index in sorted(range(len(widths)), key=lambda i: -widths[i]):
        fit = next((s for s, u in enumerate(used) if u + STITCH_GAP + widths[index] <= room), None)
        if fit is None:
            strips.append([index])
            used.append(widths[index])
        else:
            strips[fit].append(index)
            used[fit] += STITCH_GAP + widths[index]
    return strips


def _placed(members: list[int], widths: list[int]) -> list[tuple[int, int, int]]:
    """Where each line of a strip lies: (index, x0, x1)."""
    placed, x = [], 0
    for index in members:
        placed.append((index, x, x + widths[index]))
        x += widths[index] + STITCH_GAP
    return placed


def _cuts(placed, step: float, columns: int) -> list[tuple[int, int]]:
    """The output columns of each placed line: from the middle of the gap before it to the middle of the gap
    after it (the strip's ends for the first and last)."""
    bounds = [0] + [round((placed[i][2] + placed[i + 1][1]) / 2 / step) for i in range(len(placed) - 1)] + [columns]
    return list(zip(bounds[:-1], bounds[1:]))


def _cut(decode, columns: np.ndarray, start: float, length: float, boxes: bool):
    """One line's text, score and character columns from its output columns, whose first `start` lie before the
    line. A gap may read as a space, which goes: the line read alone has none there."""
    ((text, _),), (info,) = decode(columns, True)
    lead, trail = len(text) - len(text.lstrip()), len(text) - len(text.rstrip())
    info.confs = info.confs[lead:len(info.confs) - trail]
    info.word_cols = [[col - start for col in cols] for cols in info.word_cols]
    info.line_txt_len = length
    score = round(float(np.mean(info.confs)), 5) if info.confs else 0.0
    return text.strip(), score, info if boxes else None


def _watermark(quad: np.ndarray, text: str, height: float) -> bool:
    """Whether a detected line is watermark (or stamp) text rather than a line of the page: turned away from
    the page's lines, or a lone character well above the size of the text around it (a watermark's letters
    that the detector did not chain into a line come one by one, in upright boxes)."""
    dx, dy = max((quad[1] - quad[0], quad[2] - quad[1]), key=lambda v: float(np.hypot(*v)))
    angle = abs(np.degrees(np.arctan2(dy, dx))) % 90
    lone = len(text.strip()) == 1 and np.ptp(quad[:, 1]) > WATERMARK_LETTER * height
    return min(angle, 90 - angle) > MAX_TEXT_TILT or bool(lone)


def _places(chars, line: Word) -> bool:
    """Whether rapidocr's character list (text, conf, quad) belongs to `line`: one entry per character of its
    text, the first one inside its box."""
    if [c for c, _, _ in chars] != list("".join(line.text.split())):
        return False
    x, y = np.mean(chars[0][2], axis=0)
    return line.x0 <= x <= line.x1 and line.top <= y <= line.bottom


def _rapid_words(line: Word, chars) -> list[Word]:
    """One detected line's characters (text, conf, quad) cut into words at spaces, wide gaps and amounts' ends."""
    boxes = iter(chars)
    runs: list[list[Word]] = []
    height = line.bottom - line.top
    for part in line.text.split():
        run: list[Word] = []
        for _ in part:
            text, conf, quad = next(boxes)
            xs, ys = [p[0] for p in quad], [p[1] for p in quad]
            char = Word(text, min(xs), min(ys), max(xs), max(ys), conf=float(conf))
            if run and ((gap := char.x0 - run[-1].x1) > RAPIDOCR_WORD_GAP * height or _after_amount(run, gap, height)):
                runs.append(run)
                run = []
            run.append(char)
        runs.append(run)
    return [_word([replace(c, chars=(c,)) for c in run]) for run in runs]


def _after_amount(run: list[Word], gap: float, height: float) -> bool:
    """Whether a gap this wide after `run` (tokens or characters) parts an amount from the next cell."""
    return gap > AMOUNT_END_GAP * height and bool(_AMOUNT_END.search("".join(t.text for t in run)))


def _split_spaces(line: Word) -> list[Word]:
    """A line without character positions: a word per space-separated part, characters split evenly."""
    step = (line.x1 - line.x0) / max(len(line.text), 1)
    words, start = [], 0
    for part in line.text.split(" "):
        if part:
            word = replace(line, text=part, x0=line.x0 + start * step, x1=line.x0 + (start + len(part)) * step)
            words.append(replace(word, chars=_even_chars(word)))
        start += len(part) + 1
    return words


_ENGINES = {"tesseract": TesseractEngine, "rapidocr": RapidOcrEngine}
NAMES = tuple(_ENGINES)


# ---------------------------------------------------------------------------------------------------------------
# Shared geometry

def _gray(image: np.ndarray) -> np.ndarray:
    """The image as text-on-paper gray. Of a colour image, the red channel: red seals, stamped across the very
    fields that matter (the employer's name, its credit code), turn as light as the paper, while black and blue
    text stay dark."""
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError(f"expected a gray or BGR uint8 image, got {image.dtype} of shape {image.shape}")
    return image if image.ndim == 2 else np.ascontiguousarray(image[:, :, 2])


def _word(tokens: list[Word]) -> Word:
    """Tokens (each with its `chars`) side by side on one line, as one word."""
    chars = tuple(c for t in tokens for c in t.chars)
    return Word("".join(t.text for t in tokens), min(t.x0 for t in tokens), min(t.top for t in tokens),
                max(t.x1 for t in tokens), max(t.bottom for t in tokens), conf=min(c.conf for c in chars),
                chars=chars)


def _even_chars(word: Word) -> tuple[Word, ...]:
    step = (word.x1 - word.x0) / len(word.text)
    return tuple(Word(ch, word.x0 + i * step, word.top, word.x0 + (i + 1) * step, word.bottom, conf=word.conf)
                 for i, ch in enumerate(word.text))


def _group_lines(words: list[Word]) -> list[list[Word]]:
    """Words into lines, left to right. A word continues the line whose last word it overlaps vertically by
    half the smaller height, so a slanted line (a photo) still chains, while the small second line of a table
    cell (a time under a date) stays apart from the row beside it."""
    lines: list[list[Word]] = []
    for word in sorted(words, key=lambda w: w.x0):
        best, best_overlap = None, 0.0
        for line in lines:
            last = line[-1]
            overlap = min(last.bottom, word.bottom) - max(last.top, word.top)
            enough = 0.5 * min(last.bottom - last.top, word.bottom - word.top)
            if overlap >= enough and overlap > best_overlap and last.x1 <= word.x0 + enough:
                best, best_overlap = line, overlap
        if best is None:
            lines.append([word])
        else:
            best.append(word)
    return sorted(lines, key=lambda line: (line[0].top + line[0].bottom) / 2)


def _transform(word: Word, matrix: np.ndarray, shape: tuple[int, ...]) -> Word:
    """`word` (and its characters) through a 2×3 affine matrix: the box around the moved corners, on the image."""
    corners = np.array([[word.x0, word.top], [word.x1, word.top], [word.x1, word.bottom], [word.x0, word.bottom]])
    moved = corners @ matrix[:, :2].T + matrix[:, 2]
    (x0, top), (x1, bottom) = moved.min(axis=0), moved.max(axis=0)
    h, w = shape[:2]
    return replace(word, x0=float(np.clip(x0, 0, w)), top=float(np.clip(top, 0, h)), x1=float(np.clip(x1, 0, w)),
                   bottom=float(np.clip(bottom, 0, h)), chars=tuple(_transform(c, matrix, shape) for c in word.chars))
