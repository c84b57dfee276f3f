"""Company names: read a name into its parts and tell whether two names denote the same company.

Entry points: `parse(name) -> CompanyName` and `same_company(a, b, uscc_a, uscc_b) -> Comparison`.

A registered Chinese company name is region + trade name (字号) + industry word + legal form, optionally followed by
a branch: 上海 星辰 科技 有限公司 杭州分公司. Documents write the same company in several legitimate ways — full- or
half-width brackets, traditional characters, 上海 or 上海市, the region in front or in brackets after the trade
name (星辰科技（上海）有限公司), 有限责任公司 or 有限公司 — and every one of these is undone before comparing. What
remains must then agree part by part: another trade name is another company, however close it looks (星辰 and
星展 differ by one stroke and are unrelated); the same trade name with another industry word is a sister company
(星辰科技 vs 星辰网络科技); a branch is its own employer; 股份有限公司 is a different legal form. A fuzzy ratio is
reported for the reviewer but never decides: one OCR-like character scores higher than a rewritten region does.
An equal 统一社会信用代码 decides whatever the names say (a company can be renamed), and so do two different ones.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

import opencc
from rapidfuzz import fuzz

from checks.normalize import credit_code

_T2S = opencc.OpenCC("t2s")

BRANCH = re.compile(r"^(?P<head>.*(?:有限责任公司|股份有限公司|有限公司|银行))"
                    r"(?P<branch>.+(?:分公司|分行|支行|营业部|分理处|办事处))$")
FORMS = (("股份有限公司", "股份有限公司"), ("有限责任公司", "有限公司"), ("有限公司", "有限公司"))
# Industry words (行业表述), longest first when matched. Names are compared on trade name and industry word together,
# so this list shapes the reason given for a mismatch (another trade name, or a sister company), not whether there is
# one; it also keeps 上海科技有限公司 from losing its only name to the region.
INDUSTRIES = sorted((
    "科技", "网络科技", "信息科技", "电子科技", "智能科技", "数据科技", "数字科技", "生物科技", "医药科技", "环保科技",
    "新能源科技", "教育科技", "健康科技", "技术", "信息技术", "网络技术", "软件技术", "软件", "计算机", "电子",
    "电子商务", "商务咨询", "企业管理咨询", "管理咨询", "咨询", "企业管理", "投资管理", "资产管理", "投资", "贸易",
    "国际贸易", "商贸", "实业", "发展", "控股", "集团", "文化传媒", "文化传播", "传媒", "广告", "教育咨询", "医疗器械",
    "医药", "餐饮管理", "餐饮", "物流", "供应链管理", "建筑工程", "建设工程", "装饰工程", "工程", "房地产开发", "置业",
    "物业管理", "人力资源", "金融信息服务", "汽车服务", "机械设备", "设备", "电器", "食品", "服饰", "制造", "工业",
    "银行", "保险", "证券", "信息", "网络",
), key=len, reverse=True)


def clean(text: str) -> str:
    """NFKC (full-width to half-width), traditional to simplified, one bracket style, no whitespace or dots, Latin
    letters in lower case: the form every comparison of names starts from."""
    text = _T2S.convert(unicodedata.normalize("NFKC", text or ""))
    text = re.sub(r"[\s·•.]", "", text)
    return text.translate(str.maketrans("[]【】〔〕", "()()()")).casefold()


@cache
def _regions() -> dict[str, str]:
    """Administrative names → the form compared: 上海市 and 上海 → 上海, 杭州市 and 杭州 → 杭州; 浦东新区 stays whole.

    From GB/T 2260 as python-stdnum ships it (cn/loc.dat, the codes behind 身份证号). Provinces and prefecture-level
    cities also match without 省/市; districts, counties and county-level cities only in full, since their short
    forms (朝阳, 和平, 东方) are ordinary trade names.
    """
    data = (resources.files("stdnum") / "cn" / "loc.dat").read_text(encoding="utf-8")
    names: dict[str, str] = {}
    for code, raw in re.findall(r'^(?:\d{2}|  (\d{4})) (?:province|county)="([^"]+)"', data, re.M):
        if code == "0000":  # the province again
            continue
        may_shorten = not code or code.endswith("00")
        for name in re.sub(r"\[[^\]]*\]", "", raw).split(","):
            name = clean(name)
            if len(name) < 3 or name.startswith(("市辖", "省直辖")):
                continue
            short = re.sub(r"((壮族|回族|维吾尔)?自治区|特别行政区|省|市)$", "", name) if may_shorten else name
            canonical = short if len(short) >= 2 else name
            names[name] = canonical
            names.setdefault(canonical, canonical)
    return names


_LONGEST_NAME = 15  # 双江拉祜族佤族布朗族傣族自治县, the longest name in GB/T 2260


def leading_region(text: str) -> tuple[str, str] | None:
    """The longest administrative name `text` starts with (canonical form) and the rest, if it starts with one."""
    regions = _regions()
    for k in range(min(_LONGEST_NAME, len(text)), 1, -1):
        if text[:k] in regions:
            return regions[text[:k]], text[k:]
    return None


def _all_regions(text: str) -> tuple[str, ...] | None:
    """`text` read as administrative names only (上海市浦东新区), or None if something else is in it."""
    found = []
    while text:
        step = leading_region(text)
        if step is None:
            return None
        found.append(step[0])
        text = step[1]
    return tuple(found)


@dataclass(frozen=True)
class CompanyName:
    region: tuple[str, ...]  # canonical administrative names, from the front or from brackets
    trade: str  # 字号
    industry: str  # 行业表述, "" when not recognised
    form: str  # 有限公司 (also for 有限责任公司), 股份有限公司 or ""
    branch: str  # 杭州分公司, "" for the company itself

    def __str__(self) -> str:
        """The normalised name, region in brackets: parsing it again gives the same parts."""
        region = f"({''.join(self.region)})" if self.region else ""
        return f"{self.trade}{self.industry}{region}{self.form}{self.branch}"


def _split_industry(core: str) -> tuple[str, str]:
    for word in INDUSTRIES:
        if core.endswith(word) and len(core) > len(word):
            return core[:-len(word)], word
    return core, ""


def parse(name: str) -> CompanyName:
    text = clean(name)
    m = BRANCH.match(text)
    head, branch = (m["head"], m["branch"]) if m else (text, "")
    if branch:  # 上海市分行 and 上海分行 are one branch
        step = leading_region(branch)
        branch = step[0] + step[1] if step else branch
    form = ""
    for written, canonical in FORMS:
        if head.endswith(written):
            head, form = head[:-len(written)], canonical
            break
    region: list[str] = []

    def bracketed(match: re.Match) -> str:
        names = ("中国",) if match[1] == "中国" else _all_regions(match[1])  # 支付宝（中国）: foreign-invested
        if names is None:
            return match[1]
        region.extend(names)
        return ""

    # Brackets around anything but a region carry no meaning of their own: their content stays, they go.
    core = re.sub(r"[()]", "", re.sub(r"\(([^()]*)\)", bracketed, head))
    # A region in front is split off only while a trade name remains: 上海科技有限公司 has no other name.
    front = []
    while (step := leading_region(core)) and step[1] and step[1] not in INDUSTRIES:
        front.append(step[0])
        core = step[1]
    trade, industry = _split_industry(core)
    return CompanyName(tuple(dict.fromkeys(front + region)), trade, industry, form, branch)


@dataclass(frozen=True)
class Comparison:
    same: bool
    reason: str
    similarity: float  # rapidfuzz ratio of the normalised names, 0..1: information, never the decision
    a: CompanyName
    b: CompanyName


def same_company(a: str, b: str, uscc_a: str | None = None, uscc_b: str | None = None) -> Comparison:
    """Whether names `a` and `b` (with their credit codes, when known) denote the same company, and why."""
    pa, pb = parse(a), parse(b)
    similarity = round(fuzz.ratio(str(pa), str(pb)) / 100, 3)
    codes = [credit_code(c) if c else None for c in (uscc_a, uscc_b)]
    reason = _difference(pa, pb)
    if all(codes):  # only codes whose check characters hold
        if codes[0] == codes[1]:
            return Comparison(True, "same credit code", similarity, pa, pb)
        by_name = reason or "same name once normalised"
        return Comparison(False, f"different credit codes; by name: {by_name}", similarity, pa, pb)
    if reason is None:
        one_sided = bool(pa.region) != bool(pb.region)
        return Comparison(True, "same name once normalised" + (" (region on one side only)" if one_sided else ""),
                          similarity, pa, pb)
    return Comparison(False, reason, similarity, pa, pb)


def _difference(a: CompanyName, b: CompanyName) -> str | None:
    if a.trade != b.trade:
        return f"different trade name: {a.trade} vs {b.trade}"
    if a.industry != b.industry:
        return (f"same trade name with another industry word, a sister company: "
                f"{a.industry or '-'} vs {b.industry or '-'}")
    ra, rb = set(a.region), set(b.region)
    if ra and rb and not (ra <= rb or rb <= ra):  # one side may leave the region out, or name a district too
        return f"different region: {''.join(a.region)} vs {''.join(b.region)}"
    if a.form != b.form:
        return f"different legal form: {a.form or '-'} vs {b.form or '-'}"
    if a.branch != b.branch:
        if a.branch and b.branch:
            return f"different branches: {a.branch} vs {b.branch}"
        return f"a branch ({a.branch or b.branch}) is not its head office"
    return None
