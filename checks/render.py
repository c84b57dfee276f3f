"""Page rasters: PDF pages rendered with PDFium, image documents as decoded. Cached on the document."""
from __future__ import annotations

import cv2
import numpy as np
import pypdfium2 as pdfium

from checks.model import Document

# 200 dpi reads 8-pt text reliably and keeps an A4 page under 4 megapixels.
DPI = 200


def raster(doc: Document, number: int, dpi: int = DPI, color: bool = False) -> np.ndarray:
    """Gray (or RGB) uint8 array of page `number` (1-based). For images, the image itself, whatever `dpi` says."""
    key = (number, dpi if doc.format == "pdf" else 0, color)
    cache = doc.rasters
    if key not in cache:
        if doc.format == "pdf":
            page = document(doc)[number - 1]
            try:
                bitmap = page.render(scale=dpi / 72, grayscale=not color, rev_byteorder=color)
                # A view, not a copy: pypdfium2 renders into a buffer of Python's (ctypes), which the array keeps
                # alive after the page and bitmap are closed. Without the copies a letter checks in 57.5 ms, not 59.
                cache[key] = bitmap.to_numpy()[..., :3] if color else bitmap.to_numpy()
            finally:
                page.close()
        else:
            cache[key] = np.asarray(doc.image.convert("RGB" if color else "L"))
    return cache[key]


def document(doc: Document) -> pdfium.PdfDocument:
    """`doc` open in PDFium, for every rendering and check of it; `Document.close()` closes it. One document, since
    PDFium keeps the fonts and decoded images it loaded per document: rendering a page again (another dpi, in colour)
    costs about half the first."""
    if doc.pdfium is None:
        doc.pdfium = pdfium.PdfDocument(doc.data)
    return doc.pdfium


def redness(rgb: np.ndarray) -> np.ndarray:
    """How much redder than green and blue each pixel of an RGB array is: R - max(G, B), 0 where that is below 0
    (OpenCV's saturating subtraction). NumPy takes the max from the interleaved pixels as they are, where OpenCV
    would copy each channel out first (0.9 ms against 1.8 on a letter's page at 100 dpi)."""
    return cv2.subtract(np.ascontiguousarray(rgb[..., 0]), np.maximum(rgb[..., 1], rgb[..., 2]))


def blobs(mask: np.ndarray, op: int, size: int) -> np.ndarray:
    """The connected components of a 0/1 uint8 mask after the morphological `op` (cv2.MORPH_DILATE, MORPH_CLOSE)
    with a `size`-pixel square, as rows of x, y, w, h, area in the mask's pixels, background left out. Worked only
    around the mask's set pixels: labelling scans every pixel it is given (4 ms for a letter at 100 dpi), and the
    operation reaches no further than its kernel."""
    if not mask.any():
        return np.empty((0, 5), np.int32)
    x0, y0, w0, h0 = cv2.boundingRect(mask)
    left, top = max(x0 - size, 0), max(y0 - size, 0)
    near = cv2.morphologyEx(mask[top:y0 + h0 + size, left:x0 + w0 + size], op, np.ones((size, size), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(near)
    return stats[1:count] + np.array([left, top, 0, 0, 0], stats.dtype)


def scale(doc: Document, dpi: int = DPI) -> float:
    """Page units per raster pixel: points per pixel for PDFs, 1 for images."""
    return 72 / dpi if doc.format == "pdf" else 1.0
