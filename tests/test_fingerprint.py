"""Fingerprints for reuse across applicants (checks/fingerprint.py), on documents made by the fixtures and read by
the real ingest and extraction path; the pairing rules of worker/reuse.py that need no Redis."""
from __future__ import annotations

import io
import random
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fixtures"))

from people import make_applicant  # noqa: E402
from proof import make_proof  # noqa: E402
from seal import seal_image  # noqa: E402
from statement import make_statement  # noqa: E402

from checks import classify, extract, render  # noqa: E402
from checks.fingerprint import (MIN_FIGURES, PAGE_DPI, Fingerprints, compute, content_tokens, hamming,  # noqa: E402
                                page_hash, seal_hashes)
from checks.ingest import open_document  # noqa: E402
from worker.reuse import CODES, PAGE_BITS, SEAL_BITS, reused  # noqa: E402

AS_OF = datetime(2025, 6, 2, 9)


def person(i: int):
    return make_applicant(random.Random(f"fp:{i}"), i, AS_OF)


def prints(data: bytes, name: str = "doc.pdf"):
    doc = open_document(name, data)
    doc.kind = classify.classify(doc)
    doc.extracted = extract.extract(doc)
    try:
        return compute(doc), doc
    finally:
        doc.close()


def proof(applicant, seed: int, seal=None) -> bytes:
    return make_proof(applicant, random.Random(seed), np.random.default_rng(seed), seal=seal).pdf


def statement(applicant, seed: int) -> bytes:
    return make_statement(applicant, random.Random(seed), np.random.default_rng(seed)).pdf


@pytest.fixture(scope="module")
def people():
    # 0 and 2 are customers of the same bank (the bank alternates with the index) in the same city.
    return [person(i) for i in range(4)]


def test_a_name_swap_keeps_the_filled_in_figures(people):
    a, b = people[0], people[2]
    original, _ = prints(proof(a, 1))
    swapped, _ = prints(proof(replace(a, name=b.name, id_number=b.id_number), 1))
    assert original.sha256 != swapped.sha256
    assert original.content == swapped.content and len(original.content) >= 4
    # The page image of a letter is mostly its template, so it is no evidence here; the figures and the seal are.
    assert set(reused(swapped, original)) >= {"REUSE_TEMPLATE_FILLED", "REUSE_SEAL"}


def test_identity_numbers_and_names_are_not_part_of_the_content():
    text = "兹证明张伟（身份证号：330106199711207026）月收入 13,000.00 元，卡号 6222021234567890123，2024-05-01 入职"
    other = "兹证明李娜（身份证号：110105198803031234）月收入 13000.00 元，卡号 6217001111222233334，2024-05-01 入职"
    assert content_tokens(text) == content_tokens(other) and len(content_tokens(text)) == 2


def test_another_customer_of_the_same_bank_does_not_match(people):
    a, b = people[0], people[2]
    assert a.bank == b.bank
    first, _ = prints(statement(a, 1))
    second, _ = prints(statement(b, 2))
    assert first.layout == second.layout  # the bank's layout is shared, and is no finding
    assert reused(second, first) == {}


def test_a_colleague_from_the_same_template_does_not_match(people):
    a, b = people[0], replace(people[2], employer=people[0].employer)
    first, _ = prints(proof(a, 1))
    second, _ = prints(proof(b, 2))
    assert reused(second, first) == {}


def test_the_same_statement_under_another_holder_shares_its_rows(people):
    from statement import render as render_statement

    a, b = people[0], people[2]
    st = make_statement(a, random.Random(1), np.random.default_rng(1))
    holder = replace(a, name=b.name, card_number=b.card_number)
    edited = render_statement(holder, st.ledger, st.period, st.verification_code, np.random.default_rng(1))[0]
    original, _ = prints(st.pdf)
    copy, _ = prints(edited)
    assert len(original.rows) >= 20 and copy.rows == original.rows
    assert set(reused(copy, original)) == {"REUSE_TRANSACTIONS", "REUSE_TEMPLATE_FILLED"}


def test_a_rescanned_page_keeps_its_perceptual_hash(people):
    _, doc = prints(statement(people[1], 3))
    doc = open_document("s.pdf", doc.data)
    hashed = page_hash(render.raster(doc, 1, dpi=PAGE_DPI))
    page = Image.fromarray(render.raster(doc, 1, dpi=150))
    doc.close()
    rescanned = page.resize((int(page.width * 0.7), int(page.height * 0.7)))
    buf = io.BytesIO()
    rescanned.save(buf, "JPEG", quality=55)
    again = page_hash(np.asarray(Image.open(buf).convert("L")))
    assert hamming(again, hashed) <= PAGE_BITS


def test_one_seal_pasted_on_two_letters_matches_and_fresh_impressions_do_not(people):
    seal = seal_image(119, people[0].employer.name, "", np.random.default_rng(5))
    first, _ = prints(proof(people[1], 1, seal=seal))
    second, _ = prints(proof(people[3], 2, seal=seal))
    fresh, _ = prints(proof(people[0], 3))
    assert len(first.seals) == len(second.seals) == len(fresh.seals) == 1
    assert hamming(first.seals[0], second.seals[0]) <= SEAL_BITS
    assert hamming(first.seals[0], fresh.seals[0]) > SEAL_BITS
    assert set(reused(second, first)) == {"REUSE_SEAL"}


def test_a_statement_keeps_no_seal_hash_for_its_bank_seal_is_on_every_customers(people):
    fp, doc = prints(statement(people[0], 4))
    assert fp.kind == "bank_statement" and fp.seals == []
    doc = open_document("s.pdf", doc.data)
    seals = [s for p in doc.pages for s in seal_hashes(render.raster(doc, p.number, dpi=100, color=True))]
    doc.close()
    assert seals, "the statement does carry a red seal, so only its kind kept the hash out"


def test_documents_with_figures_keep_no_page_hash_and_photos_do(people, tmp_path):
    letter, _ = prints(proof(people[0], 1))
    assert len(letter.content) >= MIN_FIGURES and letter.pages == []
    doc = open_document("s.pdf", statement(people[1], 3))
    page = Image.fromarray(render.raster(doc, 1, dpi=100))
    doc.close()
    buf = io.BytesIO()
    page.crop((0, 0, page.width, page.height // 8)).save(buf, "JPEG")  # the header: a name, no figures
    photo, _ = prints(buf.getvalue(), "header.jpg")
    assert len(photo.content) < MIN_FIGURES and len(photo.pages) == 1


def test_page_hashes_of_documents_with_figures_never_decide_a_finding():
    """Why compute() leaves them out. A page match needs the figures to agree, and two documents whose figures
    agree are REUSE_TEMPLATE_FILLED, which names the same earlier document first; so over random pairs the code
    that survives (the strongest of a pair) is the same with and without those page hashes."""
    rng = random.Random(3)
    tokens = [f"{i:016x}" for i in range(7)]
    layout = rng.getrandbits(256)

    def document(i: int, like: Fingerprints | None) -> Fingerprints:
        page = layout ^ sum(1 << b for b in rng.sample(range(256), rng.randint(0, 24)))
        content = like.content if like and rng.random() < 0.5 else sorted(rng.sample(tokens, rng.randint(0, 6)))
        return Fingerprints(sha256=str(i), kind="other", pages=[f"{page:064x}"], content=content,
                            template=like.template if like and rng.random() < 0.5 else [str(rng.randint(0, 2))])

    def strongest(codes) -> str | None:
        return min(codes, key=CODES.index, default=None)

    def as_computed(fp: Fingerprints) -> Fingerprints:
        return fp if len(fp.content) < MIN_FIGURES else replace(fp, pages=[])

    decided = set()
    for i in range(3000):
        a = document(2 * i, None)
        b = document(2 * i + 1, a)
        code = strongest(reused(a, b))
        assert strongest(reused(as_computed(a), as_computed(b))) == code
        decided.add(code)
    assert {"REUSE_SAME_PAGE_IMAGE", "REUSE_TEMPLATE_FILLED", None} <= decided  # both kinds of pair were met
