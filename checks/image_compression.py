"""Compression history of images and scanned pages: a region of a JPEG compressed otherwise than the rest.

A picture of a document saved as JPEG carries its history in every 8x8 block: each block's DCT coefficients were
rounded to multiples of the quantization table's steps. Open the file, paint new digits or paste a patch, save
again, and the untouched blocks have now been quantized twice on one grid while the painted ones were quantized
once, or on another grid (a patch cut from another JPEG). Recompressing the page with the first save's table
barely changes the untouched blocks — their coefficients still sit near that table's multiples (the "JPEG
ghost") — and changes the new ones as much as any fresh content. With one save, or when the edit was saved with
the same table as before, recompressing with the file's own table (error level analysis) shows the same
difference more weakly.

Entry point: `check(doc) -> list[Finding]`.

The JPEG is read as stored (an image upload, or the DCTDecode image a scanned PDF page is made of): the luma as
the decoder produces it, and its quantization table. Absolute error levels mean nothing across pages: they follow
the content (every sharp glyph has a high error level, white paper clips). So each block's recompression error
is divided by the error of the same pixels recompressed on a grid moved by half a block — where every earlier
save's blocks are met off their grid and the pixels behave like fresh content of the same kind — and the log
ratio is compared only with blocks of the same content class (energy and sharpness) on the same page. Blank
paper, table rules alone and the image's border say nothing and are left out. A region is reported when a
cluster of blocks agrees: each block's robust z-score is capped, the scores are pooled (Stouffer) over the
cluster, and small, weak or diffuse clusters are dropped. Recompressing, resizing or photographing a genuine page
changes every block alike and leaves no cluster. The earlier save's quality is the one whose table the middle of
the page still sits on; the file's own table (error level analysis) is tried too, at a higher bar.

A patch pasted from another JPEG keeps that file's 8x8 blocks wherever it lands. Every OCR'd number is tested on
the 64 possible grids: blocks that round to a coarser table's lattice on a grid other than the page's, far better
than on the other grids and better than fresh content, are such a patch.
"""
from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import cv2
import numpy as np
import pikepdf
from PIL import Image, ImageOps

from checks import reading
from checks.catalog import finding
from checks.image_provenance import standard_tables
from checks.model import Document, Finding, Page

NAME = "image_compression"

B = 8  # JPEG block size, px
QUALITIES = range(50, 99, 2)  # libjpeg qualities tried as the first save's
HALF = B // 2
EDGE = 40  # px along the image's border left out: the paper's edge, the lid or desk around it
MIN_AC = 64 * 4  # AC energy of a block (sum of squared coefficients) below which it is blank paper
ACROSS = 0.1  # share of the AC energy a textured block has off the first row and column of coefficients
ENERGY_BINS, SHARPNESS_BINS = 4, 3  # content classes compared within
Z_CAP = 5.0  # one block's evidence is worth at most this much
DIP = -0.3  # median log ratio under which the page was saved before with that quality's table
SEED_Z = 3.0  # pooled z of a 3x3-block neighbourhood that seeds a region
# Pooled z of a whole region that is reported, by the map it shows in. Recompressing with the file's own table
# (error level analysis) sees every history at once and its regions follow resampling and content more than
# edits: on the evaluation set's genuine chat re-sends and scans its clusters reach 10, on edits no higher.
REGION_Z = {"earlier": 7.5, "own": 12.0}
REGION_MEAN_Z = 1.5  # and its blocks' mean z: a mild bias over a large area is content, not an edit
STRONG_Z = 14.0
MIN_BLOCKS = 6  # textured blocks a reported region must hold
MAX_FINDINGS = 3  # per page: beyond a few, the page is better read as a whole
GRID_QUALITIES = (50, 65, 75, 85)  # tables a pasted patch's earlier save is tried against (neighbours fit too)
COARSER = 5  # a patch's earlier table is looked for this much coarser than the file's own
MIN_DIGITS = 2  # OCR words with this many digits are tested: the figures, dates and numbers forgers change
GRID_MARGIN = 8  # px around a word, so that a patch's blocks are inside the region tested
MIN_GRID_BLOCKS = 3  # textured blocks each grid needs in a region
GRID_Z = 7.5  # robust z of the best other grid among all 63
GRID_GAIN = 0.02  # and its blocks must round better than fresh content would
MOSAIC = 64  # blocks side by side in the image they are recompressed in
HEATMAP_SIDE = 256  # px, longest side of the heatmap PNG in the evidence
SCAN_COVER = 0.5  # share of a scanned PDF page its image must cover to be the page


def applies(doc: Document) -> bool:
    return (doc.format == "image" and doc.data.startswith(b"\xff\xd8")) or any(p.scanned and p.images
                                                                               for p in doc.pages)


def check(doc: Document) -> list[Finding]:
    out = []
    for page in doc.pages:
        stored = _stored(doc, page)
        if stored is not None:
            out.extend(_page_findings(page, stored))
            out.extend(_off_grid_findings(page, stored))
    return out


# --- the page's pixels as stored ------------------------------------------------------------------

@dataclass
class _Stored:
    """A page's JPEG as the file stores it: the luma as the decoder produced it (no round trip through RGB), its
    luma quantization table, its EXIF orientation, and where its pixels lie on the page (page units per pixel and
    the image's top-left corner, for a scan placed on a PDF page)."""

    luma: np.ndarray
    table: list[int]
    orientation: int = 1
    scale: float = 1.0
    origin: tuple[float, float] = (0.0, 0.0)

    def to_page(self, box) -> tuple[float, float, float, float]:
        x0, top, x1, bottom = box
        return (self.origin[0] + x0 * self.scale, self.origin[1] + top * self.scale,
                self.origin[0] + x1 * self.scale, self.origin[1] + bottom * self.scale)

    def to_pixels(self, box) -> list[int]:
        x0, top, x1, bottom = box
        return [int(round((x0 - self.origin[0]) / self.scale)), int(round((top - self.origin[1]) / self.scale)),
                int(round((x1 - self.origin[0]) / self.scale)), int(round((bottom - self.origin[1]) / self.scale))]


def _stored(doc: Document, page: Page) -> _Stored | None:
    """The JPEG behind an image document, or behind a scanned PDF page (its one image covering most of the
    page, stored with DCTDecode); None for lossless images and everything else."""
    if doc.format == "image":
        data, scale, origin = doc.data, 1.0, (0.0, 0.0)
    elif page.scanned and (scan := _scan_image(doc, page)) is not None:
        data, placed = scan
        x0, top, x1, _ = placed["bbox"]
        scale, origin = (x1 - x0) / placed["size"][0], (x0, top)
    else:
        return None
    with Image.open(io.BytesIO(data)) as image:
        if image.format != "JPEG" or image.mode not in ("L", "RGB", "YCbCr") or min(image.size) < B:
            return None  # (narrower than one 8x8 block: there is no grid to read)
        orientation = image.getexif().get(0x0112, 1) if doc.format == "image" else 1
        table = image.quantization[0]
        image.draft("YCbCr" if image.mode != "L" else "L", image.size)
        return _Stored(np.asarray(image.getchannel(0)), table, orientation, scale, origin)


def _scan_image(doc: Document, page: Page) -> tuple[bytes, dict] | None:
    """(JPEG bytes, placement) of the image a scanned page is made of."""
    if not page.images:
        return None
    placed = max(page.images, key=lambda i: (i["bbox"][2] - i["bbox"][0]) * (i["bbox"][3] - i["bbox"][1]))
    x0, top, x1, bottom = placed["bbox"]
    if (x1 - x0) * (bottom - top) < SCAN_COVER * page.width * page.height:
        return None
    for stream in doc.pdf.pages[page.number - 1].get_images().values():
        image = pikepdf.PdfImage(stream)
        # Only a DCTDecode image has a JPEG history; asking for any other (JBIG2, CCITT, 1-bit Flate) would
        # decode it, which needs decoders a scan without one does not deserve to fail on.
        if (image.width, image.height) != tuple(placed["size"]) or "/DCTDecode" not in image.filters:
            continue
        out = io.BytesIO()
        # The JPEG as stored (other filters before DCTDecode undone).
        if image.extract_to(stream=out) == ".jpg":
            return out.getvalue(), placed
    return None


# --- error levels against fresh content ---------------------------------------------------------------

_DCT = cv2.dct(np.eye(B, dtype=np.float32), flags=cv2.DCT_ROWS).T
# The 2-D DCT of a block flattened row by row, as one matrix: thousands of blocks then take one matrix product
# instead of thousands of small ones.
_DCT2 = np.kron(_DCT, _DCT)


def _blocks(a: np.ndarray) -> np.ndarray:
    """The whole 8x8 blocks of `a`, shaped (rows, cols, 8, 8)."""
    h, w = a.shape[0] // B * B, a.shape[1] // B * B
    return a[:h, :w].reshape(h // B, B, w // B, B).swapaxes(1, 2)


def _dct(blocks: np.ndarray) -> np.ndarray:
    """DCT coefficients of 8x8 blocks given as (..., 8, 8) or flattened as (..., 64), in the same shape."""
    return (blocks.reshape(-1, B * B) @ _DCT2.T).reshape(blocks.shape)


def _table(quality: int) -> np.ndarray:
    """libjpeg's luma table at `quality`, flat, as Pillow reports a file's."""
    return standard_tables()[quality][0].ravel().astype(np.float32)


def _squared_error(tiles: np.ndarray, quality: int | np.ndarray) -> np.ndarray:
    """Per pixel of each 8x8 tile (n, 8, 8), the squared change of recompressing it at a libjpeg quality or with a
    luma table. A baseline JPEG quantizes every block on its own, so the tiles are recompressed side by side in one
    mosaic, and only the blocks that are asked about cost time."""
    n = len(tiles)
    padded = np.zeros((-(-n // MOSAIC) * MOSAIC, B, B), np.uint8)
    padded[:n] = tiles
    mosaic = padded.reshape(-1, MOSAIC, B, B).swapaxes(1, 2).reshape(-1, MOSAIC * B)
    buf = io.BytesIO()
    if isinstance(quality, np.ndarray):
        Image.fromarray(mosaic).save(buf, "JPEG", qtables=[[int(v) for v in quality]])
    else:
        Image.fromarray(mosaic).save(buf, "JPEG", quality=quality)
    error = (mosaic.astype(np.float32) - np.asarray(Image.open(buf), np.float32)) ** 2
    return _blocks(error).reshape(-1, B, B)[:n]


def _log_ratio(luma: np.ndarray, quality: int | np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Per `wanted` block (0 for the others), log of the recompression error over the error of the same pixels
    recompressed on a grid moved by half a block. The moved grid meets every earlier save's blocks off their grid,
    where the pixels behave like fresh content of the same kind (white paper clips the same way, a glyph's edges
    cost the same), so the ratio is about 1 for fresh content and below 1 where the page still sits on an earlier
    save's grid and table. Blocks at the image's edge are not to be wanted: they have no moved blocks around them."""
    rows, cols = wanted.shape
    aligned = np.zeros(wanted.shape, np.float32)
    aligned[wanted] = _squared_error(_blocks(luma)[wanted], quality).sum(axis=(1, 2))
    # Block (r, c) of the moved grid (luma[4:, 4:]) covers a quarter of each of the blocks (r, c) to (r + 1, c + 1).
    moved_blocks = _blocks(luma[HALF:, HALF:])
    around = np.zeros((rows + 1, cols + 1), bool)
    around[:rows, :cols] = wanted
    around = (around[:-1, :-1] | around[1:, :-1] | around[:-1, 1:] | around[1:, 1:])[:moved_blocks.shape[0],
                                                                                     :moved_blocks.shape[1]]
    quarters = np.zeros((rows + 1, cols + 1, 2, 2), np.float32)  # [r + 1, c + 1]: moved block (r, c)'s quarters
    quarters[1:around.shape[0] + 1, 1:around.shape[1] + 1][around] = _squared_error(
        moved_blocks[around], quality).reshape(-1, 2, HALF, 2, HALF).sum(axis=(2, 4))
    moved = quarters[:-1, :-1, 1, 1] + quarters[:-1, 1:, 1, 0] + quarters[1:, :-1, 0, 1] + quarters[1:, 1:, 0, 0]
    # A block's worth of rounding (1/8 level squared a pixel) keeps near-blank blocks from dividing noise by noise.
    return np.where(wanted, np.log((aligned + B) / (moved + B)), 0)


def _zscores(ratio: np.ndarray, textured: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Robust z of each textured block's log ratio among the textured blocks of its content class; 0 elsewhere."""
    z = np.zeros(ratio.shape, np.float32)
    for c in np.unique(classes[textured]):
        members = textured & (classes == c)
        if members.sum() < 2 * MIN_BLOCKS:
            continue
        values = ratio[members]
        centre = np.median(values)
        spread = max(1.4826 * float(np.median(np.abs(values - centre))), 0.05)
        z[members] = np.clip((values - centre) / spread, -Z_CAP, Z_CAP)
    return z


def _content_classes(coefficients: np.ndarray, textured: np.ndarray) -> np.ndarray:
    """Each block's content class: quantiles of its AC energy times quantiles of the share of that energy in the
    upper half of the frequencies (small sharp glyphs against the broad strokes of a title)."""
    squared = coefficients ** 2
    energy = squared.sum(axis=(2, 3)) - squared[..., 0, 0]
    u, v = np.meshgrid(np.arange(B), np.arange(B))
    fine = (squared * (u + v >= B)).sum(axis=(2, 3)) / np.maximum(energy, 1)
    classes = np.zeros(energy.shape, int)
    for values, bins, weight in ((energy, ENERGY_BINS, SHARPNESS_BINS), (fine, SHARPNESS_BINS, 1)):
        edges = np.quantile(values[textured], np.linspace(0, 1, bins + 1)[1:-1])
        classes += weight * np.digitize(values, edges)
    return classes


def _page_findings(page: Page, stored: _Stored) -> list[Finding]:
    luma, orientation = stored.luma, stored.orientation
    coefficients = _dct(_blocks(luma.astype(np.float32) - 128))
    squared = coefficients ** 2
    energy = squared.sum(axis=(2, 3)) - squared[..., 0, 0]
    # Textured blocks: not blank paper, and not a table rule alone, whose energy lies in one row or column of
    # coefficients and whose error swings with the rule's phase in the block. Blocks at the image's border have
    # no reference on the moved grid, and hold the paper's edge on scans and photos.
    textured = (energy >= MIN_AC) & (squared[..., 1:, 1:].sum(axis=(2, 3)) >= ACROSS * energy)
    margin = -(-EDGE // B)
    textured[:margin, :] = textured[-margin:, :] = textured[:, :margin] = textured[:, -margin:] = False
    if textured.sum() < 4 * ENERGY_BINS * SHARPNESS_BINS * MIN_BLOCKS:
        return []
    classes = _content_classes(coefficients, textured)
    own = np.array(stored.table, np.float32)
    own_quality = _quality(own)
    maps = {"own": ("recompressed with the file's own table", _log_ratio(luma, own, textured))}
    first = _earlier_quality(luma, textured, own_quality)
    if first is not None:
        maps["earlier"] = (f"recompressed at quality {first}, the earlier save's", _log_ratio(luma, first, textured))
    out = []
    for kind, (method, ratio) in maps.items():
        z = _oriented(_zscores(ratio, textured, classes), orientation)
        mask = _oriented(textured.astype(np.float32), orientation) > 0
        for score, box in _regions(z, mask, REGION_Z[kind]):
            severity = "high" if score >= STRONG_Z and kind == "earlier" else "medium"
            out.append(finding("IMG_COMPRESSION_INCONSISTENT", page=page.number,
                               bbox=stored.to_page([v * B for v in box]),
                               units=page.units, severity=severity, method=method, score=round(score, 1),
                               file_quality=own_quality, heatmap_png=_heatmap(z)))
    out.sort(key=lambda f: -f.evidence["score"])
    return out[:MAX_FINDINGS]


def _earlier_quality(luma: np.ndarray, textured: np.ndarray, own_quality: int) -> int | None:
    """The quality of an earlier save: the one whose table the page's blocks still sit on, clearly below fresh
    content. Looked for in the middle of the page (a quarter of its area) to save time."""
    rows, cols = textured.shape
    r0, c0 = rows // 4, cols // 4
    inside = np.zeros(textured.shape, bool)
    inside[r0:rows - r0, c0:cols - c0] = textured[r0:rows - r0, c0:cols - c0]
    if inside.sum() < MIN_BLOCKS * ENERGY_BINS * SHARPNESS_BINS:
        return None
    levels = {q: float(np.median(_log_ratio(luma, q, inside)[inside])) for q in QUALITIES if q < own_quality - 1}
    if not levels or min(levels.values()) > DIP:
        return None
    return min(levels, key=levels.get)


def _quality(table: np.ndarray) -> int:
    """The libjpeg quality whose luma table is nearest `table` (other encoders' tables land on their equivalent)."""
    return min(range(1, 101), key=lambda q: float(np.abs(_table(q) - table).sum()))


def _oriented(block_map: np.ndarray, orientation: int) -> np.ndarray:
    """A map of the stored image's blocks turned the way the document was delivered (EXIF orientation)."""
    image = Image.fromarray(block_map.astype(np.float32), mode="F")
    image.getexif()[0x0112] = orientation
    return np.asarray(ImageOps.exif_transpose(image))


def _regions(z: np.ndarray, textured: np.ndarray, least: float) -> list[tuple[float, tuple[int, int, int, int]]]:
    """(pooled z, block box [x0, top, x1, bottom)) of each cluster of blocks that compress unlike their page."""
    kernel = np.ones((3, 3), np.float32)
    # Stouffer over each 3x3 neighbourhood's textured blocks: single odd blocks do not seed a region.
    pooled = cv2.filter2D(z, -1, kernel, borderType=cv2.BORDER_CONSTANT) / np.sqrt(
        np.maximum(cv2.filter2D(textured.astype(np.float32), -1, kernel, borderType=cv2.BORDER_CONSTANT), 1))
    seeds = (pooled >= SEED_Z).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(seeds, np.ones((3, 3), np.uint8)))
    out = []
    for i in range(1, count):
        members = (labels == i) & textured
        n = int(members.sum())
        if n < MIN_BLOCKS:
            continue
        score = float(z[members].sum()) / np.sqrt(n)
        if score >= least and score / np.sqrt(n) >= REGION_MEAN_Z:
            x, y, w, h = stats[i, :4]
            out.append((score, (x, y, x + w, y + h)))
    return out


# --- patches on another grid ---------------------------------------------------------------------

def _off_grid_findings(page: Page, stored: _Stored) -> list[Finding]:
    """Words whose pixels sit on the lattice of a coarser JPEG table on an 8x8 grid other than the page's: a
    patch pasted from another JPEG (or moved within this one) keeps its old blocks where it lands."""
    delivered = _oriented(stored.luma, stored.orientation)
    aligned = _aligned_phase(stored.luma.shape, stored.orientation)
    own_quality = _quality(np.array(stored.table, np.float32))
    coarser = [q for q in GRID_QUALITIES if q <= own_quality - COARSER]
    if not coarser:
        return []
    tables = np.stack([_table(q).reshape(B, B)[_AC] for q in coarser])
    out = []
    for word in page.words:
        if sum(c.isdigit() for c in word.text) < MIN_DIGITS:
            continue
        x0, top, x1, bottom = stored.to_pixels(reading.delivered_box(page, list(word.bbox)))
        x0, top = max(0, x0 - GRID_MARGIN), max(0, top - GRID_MARGIN)
        region = delivered[top:bottom + GRID_MARGIN, x0:x1 + GRID_MARGIN]
        if min(region.shape) < 3 * B:
            continue
        fit = _lattice_fit(region, ((aligned[0] - top) % B, (aligned[1] - x0) % B), tables)
        if fit is None:
            continue
        z, gain, q = fit
        if z >= GRID_Z and gain >= GRID_GAIN:
            out.append((z, word, (x0, top, x0 + region.shape[1], top + region.shape[0]), coarser[q]))
    out.sort(key=lambda item: -item[0])
    return [finding("IMG_GRID_MISALIGNED", page=page.number, units=page.units, bbox=stored.to_page(box),
                    severity="high" if z >= 2 * GRID_Z else "medium", text=word.text, quality=quality,
                    score=round(float(z), 1))
            for z, word, box, quality in out[:MAX_FINDINGS]]


_AC = np.arange(B * B).reshape(B, B) > 0


def _lattice_fit(region: np.ndarray, aligned: tuple[int, int], tables: np.ndarray) -> tuple[float, float, int] | None:
    """How much better the region's blocks sit on one of `tables` on its best grid other than the page's: the
    robust z of that grid's fit among the 63 others, the fit itself (log of fresh over actual rounding error,
    above 0 when the blocks sit on the lattice), and the table's index. None for a blank region."""
    # Each window's AC energy is its pixels' energy less their mean's (Parseval), from the integral images, so
    # that only textured windows are transformed.
    sums, squares = cv2.integral2(region, sdepth=cv2.CV_64F, sqdepth=cv2.CV_64F)
    window_sum, window_squares = (a[B:, B:] - a[:-B, B:] - a[B:, :-B] + a[:-B, :-B] for a in (sums, squares))
    textured = window_squares - window_sum ** 2 / (B * B) >= MIN_AC
    rows, cols = textured.shape
    phase = (np.arange(rows)[:, None] % B) * B + np.arange(cols)[None, :] % B
    if np.bincount(phase[textured], minlength=B * B).min() < MIN_GRID_BLOCKS:
        return None
    windows = np.lib.stride_tricks.sliding_window_view(region, (B, B))[textured].astype(np.float32) - 128
    ac, phase = _dct(windows.reshape(-1, B * B))[:, 1:], phase[textured]  # a flat block's coefficient 0 is its DC
    # Per table, the coefficients in steps: the rounding error is the distance to the nearest whole step, fresh
    # content's is 1/12 of a step squared (or the coefficient's own square when smaller), both scaled back by the
    # steps' squares in one product.
    fresh, rounding = np.empty((2, len(tables), len(ac)), np.float32)
    for i, table in enumerate(tables):
        units = ac / table
        squared = np.square(units)
        fresh[i] = np.minimum(squared, 1 / 12, out=squared) @ table ** 2
        units -= np.rint(units)
        rounding[i] = np.square(units, out=units) @ table ** 2
    fit = np.log(np.stack([np.bincount(phase, weights=f, minlength=B * B) for f in fresh]) /
                 np.maximum(np.stack([np.bincount(phase, weights=r, minlength=B * B) for r in rounding]), 1e-6))
    fit = np.delete(fit, aligned[0] * B + aligned[1], axis=1)  # the page's own grid sits on its own tables
    best = fit.max(axis=1)
    centre = np.median(fit, axis=1)
    spread = 1.4826 * np.median(np.abs(fit - centre[:, None]), axis=1) + 1e-3
    z = (best - centre) / spread
    q = int(np.argmax(z))
    return float(z[q]), float(best[q]), q


def _aligned_phase(stored: tuple[int, int], orientation: int) -> tuple[int, int]:
    """(row, column) phase of the stored image's 8x8 grid in the delivered image: turning or flipping a picture
    whose size is not a multiple of 8 moves its grid."""
    corners = np.zeros(stored, np.float32)
    corners[::B, ::B] = 1  # each block's first pixel
    corners[B - 1::B, B - 1::B] = 2  # and its last
    turned = _oriented(corners, orientation)
    first, last = (np.argwhere(turned == v)[0] for v in (1, 2))
    return int(min(first[0], last[0]) % B), int(min(first[1], last[1]) % B)


def _heatmap(z: np.ndarray) -> str:
    """The page's block z-scores as a small gray PNG (white: compresses unlike the page), base64."""
    image = Image.fromarray((np.clip(z, 0, Z_CAP) / Z_CAP * 255).astype(np.uint8))
    image.thumbnail((HEATMAP_SIDE, HEATMAP_SIDE))
    buf = io.BytesIO()
    image.save(buf, "PNG", optimize=True)
    return base64.b64encode(buf.getvalue()).decode()
