"""What every pixel check must let pass: one genuine statement page through the ordinary things that happen to
real uploads — exported and recompressed, scanned, resized, photographed, sent on through a chat app."""
import pytest
from PIL import Image

from checks import image_compression, image_copymove, image_text
from tests.test_image_text import document, jpeg, photographed, reopened, scanned, statement

CHECKS = [image_text, image_compression, image_copymove]


def _resized(image: Image.Image) -> Image.Image:
    return image.resize((image.width * 3 // 4, image.height * 3 // 4), Image.Resampling.LANCZOS)


def _photo(image, seed: int, resent: bool):
    photo, matrix = photographed(image, seed=seed)
    return (jpeg(reopened(jpeg(photo, 92)), 80) if resent else jpeg(photo, 85)), {"matrix": matrix}


VARIANTS = {
    **{f"export recompressed at {q}": (lambda image, q=q: (jpeg(reopened(jpeg(image, 90)), q), {}))
       for q in (70, 80, 92)},
    **{f"scan recompressed at {q}": (lambda image, q=q: (jpeg(reopened(jpeg(scanned(image), 92)), q), {}))
       for q in (70, 92)},
    "scan resized": lambda image: (jpeg(_resized(scanned(image)), 85), {"scale": 0.75}),
    "scan saved, resized and saved again": lambda image: (jpeg(_resized(reopened(jpeg(scanned(image), 92))), 85),
                                                          {"scale": 0.75}),
    **{f"phone photo {seed}": (lambda image, seed=seed: _photo(image, seed, resent=False)) for seed in (2, 4)},
    "phone photo sent on": lambda image: _photo(image, 3, resent=True),
}


@pytest.fixture(scope="module")
def page():
    return statement()


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("check", CHECKS, ids=lambda m: m.NAME)
def test_a_genuine_page_is_not_flagged(page, check, variant):
    image, words = page
    data, frame = VARIANTS[variant](image)  # frame: how the OCR boxes moved (photo's matrix, resize's scale)
    assert check.check(document(data, words, **frame)) == []
