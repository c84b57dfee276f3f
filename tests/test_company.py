"""Company names: legitimate ways of writing one company agree, one different part makes another company."""
import random
import sys
from pathlib import Path

import opencc
import pytest
from hypothesis import assume, given, settings, strategies as st

from checks.company import parse, same_company

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fixtures"))
from people import make_uscc  # noqa: E402

S2T = opencc.OpenCC("s2t")


@pytest.mark.parametrize("a, b", [
    ("上海星辰科技有限公司", "星辰科技（上海）有限公司"),
    ("上海星辰科技有限公司", "星辰科技(上海)有限公司"),
    ("上海星辰科技有限公司", "上海市星辰科技有限公司"),
    ("上海星辰科技有限公司", "上海星辰科技有限责任公司"),
    ("上海云帆网络科技有限公司", "上海雲帆網絡科技有限公司"),
    ("上海星辰科技有限公司", " 上海 星辰科技 有限公司 "),
    ("上海星辰科技有限公司", "上海星辰科技有限公司"),
    ("北京星辰科技有限公司", "北京市海淀区星辰科技有限公司"),  # a district named as well
    ("星辰科技有限公司", "上海星辰科技有限公司"),  # the region left out on one side
    ("中国工商银行股份有限公司上海市分行", "中国工商银行股份有限公司上海分行"),
    ("支付宝（中国）网络技术有限公司", "支付宝(中国)网络技术有限公司"),
])
def test_variants_of_one_company_match(a, b):
    assert same_company(a, b).same, same_company(a, b)


@pytest.mark.parametrize("a, b, reason", [
    ("上海星辰科技有限公司", "上海星展科技有限公司", "different trade name"),  # one character, an OCR-like slip
    ("上海星辰科技有限公司", "上海云帆科技有限公司", "different trade name"),
    ("上海星辰科技有限公司", "上海星辰网络科技有限公司", "sister company"),
    ("上海星辰科技有限公司", "北京星辰科技有限公司", "different region"),
    ("上海星辰科技有限公司", "星辰科技（北京）有限公司", "different region"),
    ("上海星辰科技有限公司", "上海星辰科技股份有限公司", "different legal form"),
    ("上海星辰科技有限公司", "上海星辰科技有限公司杭州分公司", "branch"),
    ("上海星辰科技有限公司北京分公司", "上海星辰科技有限公司杭州分公司", "different branches"),
])
def test_different_companies_do_not_match(a, b, reason):
    result = same_company(a, b)
    assert not result.same
    assert reason in result.reason


def test_similarity_is_reported_but_never_decides():
    # DOMAIN.md's example: one wrong character scores higher than the same company written the other way round.
    ocr_like = same_company("上海星辰科技有限公司", "上海星展科技有限公司")
    assert not ocr_like.same and ocr_like.similarity > 0.9
    assert same_company("上海星辰科技有限公司", "星辰科技（上海）有限公司").same


def test_credit_codes_decide():
    rng = random.Random(1)
    code, other = make_uscc(rng, "310115"), make_uscc(rng, "310115")
    renamed = same_company("上海星辰科技有限公司", "上海辰星智能科技有限公司", code, code)
    assert renamed.same and renamed.reason == "same credit code"
    twins = same_company("上海星辰科技有限公司", "上海星辰科技有限公司", code, other)
    assert not twins.same and twins.reason.startswith("different credit codes")
    # A code whose check characters fail says nothing: the names decide.
    broken = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert same_company("上海星辰科技有限公司", "星辰科技(上海)有限公司", code, broken).same


def test_parts():
    name = parse("中国工商银行股份有限公司上海市分行")
    assert (name.form, name.branch) == ("股份有限公司", "上海分行")
    name = parse("上海市浦东新区星辰网络科技有限责任公司")
    assert (name.region, name.trade, name.industry, name.form) == (("上海", "浦东新区"), "星辰", "网络科技", "有限公司")
    # A short county name is an ordinary word, and a region is kept when no trade name would remain.
    assert parse("东方明珠科技有限公司").region == ()
    assert (parse("上海科技有限公司").region, parse("上海科技有限公司").trade) == ((), "上海")


# --- properties -------------------------------------------------------------------------------------------

TRADES = ("星辰", "云帆", "锦程", "恒泰", "博远", "启明", "华信", "瑞丰", "卓越", "嘉禾", "汇智", "联创", "天宇", "蓝海")
INDUSTRIES = ("科技", "网络科技", "信息技术", "电子商务", "商务咨询", "贸易", "实业", "")
REGIONS = ("上海", "北京", "杭州", "深圳", "浙江", "")
FORMS = ("有限公司", "有限责任公司", "股份有限公司")
BRANCHES = ("", "杭州分公司", "北京分公司", "张江支行")


@st.composite
def names(draw) -> dict:
    return {"region": draw(st.sampled_from(REGIONS)), "trade": draw(st.sampled_from(TRADES)),
            "industry": draw(st.sampled_from(INDUSTRIES)), "form": draw(st.sampled_from(FORMS)),
            "branch": draw(st.sampled_from(BRANCHES))}


def written(n: dict, *, bracketed=False, city_suffix=False, full_width=False, liability=False) -> str:
    region = n["region"] + ("市" if city_suffix and n["region"] in ("上海", "北京", "杭州", "深圳") else "")
    form = "有限责任公司" if liability and n["form"] == "有限公司" else n["form"]
    if bracketed and region:
        left, right = ("（", "）") if full_width else ("(", ")")
        return f"{n['trade']}{n['industry']}{left}{region}{right}{form}{n['branch']}"
    return f"{region}{n['trade']}{n['industry']}{form}{n['branch']}"


variants = st.fixed_dictionaries({"bracketed": st.booleans(), "city_suffix": st.booleans(),
                                  "full_width": st.booleans(), "liability": st.booleans()})


@given(names(), variants)
@settings(max_examples=300, deadline=None)
def test_normalising_is_idempotent(n, how):
    once = parse(written(n, **how))
    assert parse(str(once)) == once


@given(st.text(alphabet="上海市北京星辰展科技网络有限责任公司股份分行支()（） 浦东新区中国杭州", max_size=25))
@settings(max_examples=300, deadline=None)
def test_normalising_any_text_is_idempotent(text):
    assert parse(str(parse(text))) == parse(text)


@given(names(), variants, st.booleans(), st.booleans())
@settings(max_examples=300, deadline=None)
def test_written_variants_match(n, how, traditional, spaced):
    text = written(n, **how)
    if traditional:
        text = S2T.convert(text)
    if spaced:
        text = " ".join(text)
    assert same_company(written(n), text).same


@given(names(), names())
@settings(max_examples=300, deadline=None)
def test_comparison_is_symmetric(n, m):
    a, b = written(n), written(m, bracketed=True)
    ab, ba = same_company(a, b), same_company(b, a)
    assert ab.same == ba.same and ab.similarity == ba.similarity


@given(names(), st.sampled_from(TRADES), st.sampled_from(INDUSTRIES))
@settings(max_examples=200, deadline=None)
def test_another_trade_name_or_industry_word_is_another_company(n, trade, industry):
    assume((trade, industry) != (n["trade"], n["industry"]))
    assert not same_company(written(n), written(n | {"trade": trade, "industry": industry}, bracketed=True)).same
