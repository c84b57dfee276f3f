"""The image forensics evaluation set (fixtures/imageset.py): a small set is generated and every label is checked
against the files themselves, so that a detector is measured against what really happened to each image."""
import json
from collections import Counter

import numpy as np
import pytest
from PIL import ExifTags, Image

CHANNELS = {"export", "scan", "photo", "screenshot", "chat"}
METHODS = {"retype", "splice", "copy_move", "software_tag"}
AFTERS = {"none", "resave", "resize"}


@pytest.fixture(scope="module")
def imageset(tmp_path_factory):
    from fixtures.imageset import generate_imageset
    root = tmp_path_factory.mktemp("imageset")
    generate_imageset(root, seed=7, per_cell=1)
    index = json.loads((root / "index.json").read_text(encoding="utf-8"))["documents"]
    truths = {d["file"]: json.loads((root / (d["file"] + ".truth.json")).read_text(encoding="utf-8"))
              for d in index}
    return root, index, truths


def grey(path, size=None) -> np.ndarray:
    with Image.open(path) as im:
        im = im.convert("L")
        return np.asarray(im.resize(size, Image.Resampling.LANCZOS) if size and im.size != size else im, np.float32)


def test_every_cell_is_there(imageset):
    _, index, truths = imageset
    genuine = Counter(d["channel"] for d in index if d["genuine"])
    assert genuine == {c: 4 for c in CHANNELS}
    cells = Counter((d["method"], d["channel"], d["after"]) for d in index if not d["genuine"])
    expected = {(m, c, a) for m in METHODS for c in CHANNELS for a in AFTERS if (m, c) != ("software_tag", "chat")}
    assert set(cells) == expected and set(cells.values()) == {1}
    sources = {d["file"] for d in index if d["genuine"]}
    for d in index:
        t = truths[d["file"]]
        assert t["format"] == "image" and t["channel"] == d["channel"] and t["genuine"] == d["genuine"]
        if not d["genuine"]:
            assert t["source"] in sources
            [edit] = t["tampering"]
            assert edit["type"] == "image_edit" and edit["page"] == 1 and edit["after"] == d["after"]
            if edit["method"] == "software_tag":
                assert edit["bbox"] is None
            else:
                assert edit["units"] == "px" and edit["old_text"] != edit["new_text"]


def test_the_box_is_where_the_image_differs_from_its_source(imageset):
    """Inside the truth box the forgery differs from its genuine source far more than anywhere else (the rest
    differs only by recompression and resampling)."""
    root, index, truths = imageset
    for d in index:
        t = truths[d["file"]]
        if d["genuine"] or d["method"] == "software_tag":
            continue
        forged = grey(root / d["file"])
        source = grey(root / t["source"], size=forged.shape[::-1])
        diff = np.abs(forged - source)
        x0, y0, x1, y1 = t["tampering"][0]["bbox"]
        assert 0 <= x0 < x1 <= forged.shape[1] and 0 <= y0 < y1 <= forged.shape[0], d["file"]
        inside = np.zeros(diff.shape, bool)
        inside[y0:y1, x0:x1] = True
        far = np.ones(diff.shape, bool)
        far[max(0, y0 - 10):y1 + 10, max(0, x0 - 10):x1 + 10] = False
        assert diff[inside].mean() > max(3.0, 4 * diff[far].mean()), d["file"]


def test_software_tag_changes_the_tag_and_not_a_pixel(imageset):
    root, index, truths = imageset
    tagged = [d for d in index if d.get("method") == "software_tag"]
    assert tagged
    for d in tagged:
        t = truths[d["file"]]
        with Image.open(root / d["file"]) as im:
            software = im.getexif()[0x0131]
            pixels = np.asarray(im.convert("RGB"))
        assert software.encode("latin-1").decode("utf-8") == t["tampering"][0]["software"]
        if d["after"] == "none":
            with Image.open(root / t["source"]) as im:
                assert np.array_equal(pixels, np.asarray(im.convert("RGB"))), d["file"]


def test_channels_look_like_their_names(imageset):
    root, index, truths = imageset
    for d in index:
        t = truths[d["file"]]
        with Image.open(root / d["file"]) as im:
            exif, size, fmt = im.getexif(), im.size, im.format
        if d["channel"] == "chat":
            assert max(size) <= 1280 and fmt == "JPEG" and not exif
        if d["genuine"] and d["channel"] == "photo":
            assert (exif[0x010F], exif[0x0110]) == (t["capture"]["exif"]["Make"], t["capture"]["exif"]["Model"])
            assert 0x829A in exif.get_ifd(ExifTags.IFD.Exif) and exif.get_ifd(ExifTags.IFD.IFD1).get(0x0201)
        if d["genuine"] and d["channel"] == "screenshot":
            assert fmt == "PNG"
        if d["genuine"] and d["channel"] == "export":
            assert fmt == "JPEG" and t["capture"]["encoder"] in ("pillow", "opencv")


def test_photoshop_saves_carry_photoshops_tables(imageset):
    from checks.image_provenance import jpeg_tables
    root, index, truths = imageset
    saved = [d for d in index if d.get("saved_by") in ("photoshop_save", "photoshop_export") and d["after"] == "none"
             and d["channel"] != "chat"]
    assert saved
    for d in saved:
        tables = jpeg_tables((root / d["file"]).read_bytes())
        assert tables.editor and tables.editor["software"] == "Adobe Photoshop", d["file"]


def test_same_seed_same_bytes():
    from fixtures.imageset import forgery, genuine
    shots = [genuine(7, "photo", 0), genuine(7, "photo", 0)]
    assert shots[0].data == shots[1].data
    assert forgery(7, shots[0], "retype", "resave", 0)[1] == forgery(7, shots[1], "retype", "resave", 0)[1]
