"""Typed fields and transactions from a read document. Every value keeps its page and bbox.

Entry point: `extract(doc) -> dict` in the result contract's `extracted` shape:
    {"fields": {name: {"value", "page", "bbox"}}, "transactions": [...], plus kind-specific lists}
"""
from __future__ import annotations

import re
from decimal import Decimal

import cv2
import numpy as np

from checks import render, table
from checks.balances import newest_first
from checks.model import Document, Page, Word
from checks.normalize import credit_code, id_number, nfkc, parse_amount, parse_capitals, parse_date, parse_month

STATEMENT_COLUMNS = {
    "交易日期": "date", "记账日期": "date", "日期": "date", "交易时间": "time", "记账时间": "time",
    "摘要": "description", "交易摘要": "description", "业务摘要": "description", "交易类型": "description",
    "交易名称": "description",
    "收入": "credit", "收入金额": "credit", "贷方发生额": "credit", "存入金额": "credit", "存入": "credit",
    "支出": "debit", "支出金额": "debit", "借方发生额": "debit", "支取金额": "debit", "支取": "debit",
    "交易金额": "amount", "发生额": "amount", "金额": "amount",
    "余额": "balance", "账户余额": "balance", "联机余额": "balance", "本次余额": "balance",
    "对方户名": "counterparty", "对手信息": "counterparty", "对方账号与户名": "counterparty",
    "对方名称": "counterparty", "对方账户名": "counterparty", "货币": "currency", "币种": "currency",
    "币别": "currency", "对方账号": "counterparty_account", "对方账户": "counterparty_account",
    "对方卡号/账号": "counterparty_account",
}
SI_COLUMNS = {
    "费款所属期": "period", "缴费年月": "period", "所属期": "period", "险种": "insurance", "险种类型": "insurance",
    "缴费类别": "category", "缴费类型": "category", "缴费基数": "base", "个人缴费": "personal",
    "个人缴纳": "personal", "单位缴费": "unit", "单位缴纳": "unit", "单位名称": "employer", "参保单位": "employer",
}
HOUSING_COLUMNS = {
    "缴存年月": "period", "汇缴年月": "period", "缴存基数": "base", "单位月缴额": "unit", "个人月缴额": "personal",
    "月缴存额": "deposit", "业务类型": "category",
}

# Header labels, by field; the value follows the label and a colon.
STATEMENT_LABELS = {
    "account_name": ("户名", "客户姓名", "客户名称", "姓名", "账户名称"),
    "account_number": ("账号", "卡号", "账户", "客户账号", "卡号/账号", "借记卡号"),
    "branch": ("开户行", "开户网点", "开户机构"), "currency": ("币种", "币别"),
    "period": ("起止日期", "交易区间", "查询期间", "起止时间"), "period_start": ("起始日期",),
    "period_end": ("结束日期",), "printed_at": ("打印时间", "打印日期", "申请时间"),
    "other": ("钞汇", "账户类型", "验证码"),
}
SI_LABELS = {
    "name": ("姓名",), "id_number": ("身份证号", "公民身份号码", "社会保障号码"), "personal_number": ("个人编号",),
    "employer": ("参保单位", "单位名称"), "employer_uscc": ("统一社会信用代码",), "status": ("缴费状态", "参保状态"),
    "printed_at": ("打印日期", "打印时间"), "verification_code": ("校验码", "验证码"),
}
HOUSING_LABELS = {
    "name": ("姓名",), "id_number": ("身份证号", "证件号码"), "account_number": ("个人账号", "公积金账号"),
    "employer": ("单位名称",), "base": ("缴存基数",), "unit_ratio": ("单位缴存比例",), "personal_ratio": ("个人缴存比例",),
    "monthly_deposit": ("月缴存额",), "status": ("账户状态", "缴存状态"), "employer_uscc": ("统一社会信用代码",),
    "open_date": ("开户日期",), "printed_at": ("打印日期", "打印时间"), "other": ("校验码", "验证码", "单位账号"),
}

BANKS = [  # title words → bank, tried in order
    ("中国工商银行", "ICBC"), ("工商银行", "ICBC"), ("中国建设银行", "CCB"), ("建设银行", "CCB"), ("招商银行", "CMB"),
    ("中国农业银行", "ABC"), ("农业银行", "ABC"), ("中国银行", "BOC"), ("交通银行", "BOCOM"),
    ("中国邮政储蓄银行", "PSBC"), ("邮储银行", "PSBC"), ("微信支付", "WeChat"), ("财付通", "WeChat"), ("支付宝", "Alipay"),
]


def field(value, page: Page, words: list[Word]) -> dict:
    box = (min(w.x0 for w in words), min(w.top for w in words), max(w.x1 for w in words), max(w.bottom for w in words))
    return {"value": value, "page": page.number, "bbox": [round(v, 2) for v in box]}


def extract(doc: Document) -> dict:
    reader = {"bank_statement": _statement, "employment_proof": _proof, "social_insurance": _social_insurance,
              "housing_fund": _housing_fund}.get(doc.kind)
    out = {"fields": {}, "transactions": []}
    if reader and doc.pages:
        out.update(reader(doc))
    return out


def bank_of(title: str) -> str | None:
    return next((code for words, code in BANKS if words in title), None)


# --- labelled header fields ------------------------------------------------------------------------

def labelled(page: Page, labels: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, list[Word]]]:
    """'label：value' pairs on a page, the value running to the next label. Returns field → (text, words).

    Matching runs over each line's text, not word by word: OCR splits labels (起 止日期) and detaches colons.
    """
    known = sorted({lab for labs in labels.values() for lab in labs}, key=len, reverse=True)
    pattern = re.compile("(%s)\\s*[:：]" % "|".join(r"\s*".join(map(re.escape, lab)) for lab in known))
    found: dict[str, tuple[str, list[Word]]] = {}
    for line in page.lines:
        text, owner = "", []
        for w in line.words:
            if text:
                text, owner = text + " ", owner + [None]
            piece = nfkc(w.text)
            text, owner = text + piece, owner + [w] * len(piece)
        matches = list(pattern.finditer(text))
        for m, nxt in zip(matches, matches[1:] + [None]):
            label = re.sub(r"\s", "", m[1])
            name = next(f for f, labs in labels.items() if label in labs)
            end = nxt.start() if nxt else len(text)
            value = text[m.end():end].strip()
            words = list(dict.fromkeys(w for w in owner[m.end():end] if w is not None))
            if value and name not in found:
                found[name] = (value, words)
    return found


def _title(page: Page) -> tuple[str, list[Word]] | None:
    """The first line of the page, usually the largest text: the document's title."""
    if not page.lines:
        return None
    line = page.lines[0]
    return nfkc("".join(w.text for w in line.words)), list(line.words)


# --- bank statements -------------------------------------------------------------------------------

def _statement(doc: Document) -> dict:
    first = doc.pages[0]
    fields: dict = {}
    title = _title(first)
    if title:
        fields["title"] = field(title[0], first, title[1])
        bank = bank_of(title[0])
        if bank:
            fields["bank"] = field(bank, first, title[1])
    found = {name: (text, words, first) for name, (text, words) in labelled(first, STATEMENT_LABELS).items()}
    for page in doc.pages[1:]:  # a few banks state the currency only in the closing notice
        for name, (text, words) in labelled(page, {"currency": STATEMENT_LABELS["currency"]}).items():
            found.setdefault(name, (text, words, page))
    if "period" not in found:  # some banks print the period alone under the title: '2025-03-01 -- 2025-08-31'
        line = next((ln for ln in first.lines[:6] if len(_dates_in(ln.text)) == 2), None)
        if line:
            found["period"] = (line.text, list(line.words), first)
    if "branch" in found:
        found["branch"] = _wrapped(*found["branch"])
    for name, (text, words, page) in found.items():
        if name == "period" and len(_dates_in(text)) == 2:
            start, end = _dates_in(text)
            fields["period_start"] = field(start, page, words)
            fields["period_end"] = field(end, page, words)
        elif name in ("period_start", "period_end") and _dates_in(text):
            fields[name] = field(_dates_in(text)[0], page, words)
        elif name == "printed_at":
            parsed = parse_date(text)
            fields[name] = field(_stamp(parsed) if parsed else text, page, words)
        elif name in ("account_name", "account_number", "branch", "currency"):
            fields[name] = field(re.sub(r"\s", "", text).rstrip("。，,;；"), page, words)
    transactions = statement_rows(doc)
    if "currency" not in fields:  # CMB states it in every row's 货币 cell, in the header only on a later page
        fields.update(_row_currency(doc, transactions))
    fields.update(_balances(transactions))
    fields.update(stated_totals(doc))
    return {"fields": fields, "transactions": transactions}


def _row_currency(doc: Document, transactions: list[dict]) -> dict:
    currencies = {t["currency"] for t in transactions}
    if len(currencies) != 1 or None in currencies:
        return {}
    first = transactions[0]
    return {"currency": {"value": first["currency"], "page": first["page"], "bbox": first["cells"]["currency"]}}


def _balances(transactions: list[dict]) -> dict:
    """Opening and closing balance as the rows give them: before the earliest row, after the latest."""
    rows = [t for t in transactions if t["balance"] is not None]
    if not rows:
        return {}
    if newest_first(rows):
        rows = rows[::-1]
    first, last = rows[0], rows[-1]
    opening = Decimal(first["balance"]) - Decimal(first["credit"] or 0) + Decimal(first["debit"] or 0)
    return {"opening_balance": {"value": _money(opening), "page": first["page"], "bbox": first["cells"].get("balance")},
            "closing_balance": {"value": last["balance"], "page": last["page"], "bbox": last["cells"].get("balance")}}


# '收入合计：11 笔  金额：81,344.82', '收入合计：11笔，金额：139305.76元', '合并统计：收入 10 笔 61776.44，支出 …'
_TOTAL = re.compile(r"(收入|支出)(?:合计)?[:：]?\s*(\d+)\s*笔[，,;；\s]*(?:金额[:：]?)?\s*([\d,]+\.\d{2})")


def stated_totals(doc: Document) -> dict:
    """The totals a statement prints in its footer: counts and sums of credits and debits."""
    out = {}
    for page in doc.pages:
        for line in page.lines:
            for m in _TOTAL.finditer(nfkc(line.text).replace(" ", "")):  # letter-spaced footers too
                side = "income" if m[1] == "收入" else "expense"
                out[f"{side}_count"] = field(int(m[2]), page, list(line.words))
                out[f"{side}_total"] = field(_money(parse_amount(m[3])), page, list(line.words))
    return out


def _wrapped(text: str, words: list[Word], page: Page) -> tuple[str, list[Word], Page]:
    """A branch name that wrapped: the next line holds one word starting under the value and ending the name."""
    last = words[-1]
    h = last.bottom - last.top
    # Centre to centre: OCR boxes are padded, so the wrapped line's box may overlap the value's.
    below = [w for w in page.words if 0.5 * h < (w.top + w.bottom - last.top - last.bottom) / 2 < 2 * h
             and w.x0 >= words[0].x0 - 1 and re.search(r"(支行|分行|营业部|网点|分理处)$", w.text)]
    if len(below) == 1 and not re.search(r"(支行|分行|营业部|网点|分理处)$", text):
        return text + below[0].text, words + below, page
    return text, words, page


def _dates_in(text: str) -> list[str]:
    found = (parse_date(d) for d in re.findall(r"\d{4}[-./年]?\d{1,2}[-./月]?\d{1,2}日?", text))
    return [d[0].isoformat() for d in found if d]


def _stamp(parsed) -> str:
    day, at = parsed
    return f"{day.isoformat()} {at.isoformat()}" if at else day.isoformat()


def _is_date(text: str) -> bool:
    return parse_date(text) is not None


def _is_time(text: str) -> bool:
    return _TIME.fullmatch(text) is not None


def statement_rows(doc: Document) -> list[dict]:
    out = []
    columns = None
    for page in doc.pages:
        found = table.header(page.lines, STATEMENT_COLUMNS)
        if found:
            columns, below = found
        elif columns is None:
            continue
        else:
            below = 0.0  # a page without its own header row carries over the previous page's columns
        for row in table.rows(page.words, columns, below, "date", _is_date, page.number, _is_time):
            out.append(_transaction(row))
    return out


def _transaction(row: table.Row) -> dict:
    date_words = row.words("date")
    parsed = next((p for w in date_words if (p := parse_date(w.text))), None)
    time_text = next((w.text for w in date_words + row.words("time") if _is_time(w.text)), None)
    credit, debit, balance = _amount(row, "credit"), _amount(row, "debit"), _amount(row, "balance")
    signed = _amount(row, "amount")
    if signed is not None:
        credit, debit = (signed, None) if signed >= 0 else (None, -signed)
    counterparty, account = _counterparty(row.text("counterparty", " "))
    return {
        "date": parsed[0].isoformat() if parsed else None,
        "time": _time(time_text) if time_text else None,
        "description": row.text("description") or None,
        "credit": _money(credit), "debit": _money(debit), "balance": _money(balance),
        "counterparty": counterparty,
        "counterparty_account": re.sub(r"\s|/", "", row.text("counterparty_account")) or account,
        "currency": row.text("currency") or None,
        "page": row.page,
        "bbox": [round(v, 2) for v in row.bbox()],
        "cells": {role: [round(v, 2) for v in row.bbox(role)] for role in row.cells if not role.startswith("other:")},
    }


# A colon may come out of OCR as a semicolon ('14:26;31', a watermark's stroke across it).
_TIME = re.compile(r"\d{1,2}[:;]?\d{2}[:;]?\d{2}")
# A counterparty cell may hold the account too: '6228…4859/谢凯' (CCB), '北京某某有限公司 1411…2456' (CMB).
_ACCOUNT_FIRST = re.compile(r"^(?P<account>[\d*]{6,})\s*/\s*(?P<name>.*)$")
_ACCOUNT_LAST = re.compile(r"^(?P<name>.*?)\s*(?P<account>[\d*]{8,})$")


def _counterparty(text: str) -> tuple[str | None, str | None]:
    text = text.strip()
    m = _ACCOUNT_FIRST.match(text) or _ACCOUNT_LAST.match(text)
    if m and m["name"]:
        return _joined(m["name"]), m["account"]
    return (_joined(text) or None), None


def _joined(text: str) -> str:
    """Cell lines joined back: wrapping split the text, not the words (Chinese has no spaces to keep)."""
    return re.sub(r"(?<=[^\x00-\x7f])\s+|\s+(?=[^\x00-\x7f])", "", text).strip()


def _amount(row: table.Row, role: str) -> Decimal | None:
    """The cell's amount; OCR specks beside the number (a stray 二 or ') are not part of it, but a character
    misread inside it ('75k5' for 75.51 under a watermark) makes it unreadable rather than another number."""
    text = row.text(role)
    if not text:
        return None
    value = parse_amount(text)
    if value is None:
        value = parse_amount(re.sub(r"^[^-+0-9]+|[^0-9]+$", "", text))
    return value


def _time(text: str) -> str:
    digits = re.sub(r"\D", "", text)  # what _TIME matched, less its separators
    return f"{digits[:-4]:0>2}:{digits[-4:-2]}:{digits[-2:]}"


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


# --- employment / income proofs ----------------------------------------------------------------------

_PROOF_PATTERNS = {
    "name": r"兹证明\s*([^\s（(，,]{2,4})",
    "id_number": r"身份证[号码]*[:：]?\s*([0-9Xx]{18})",
    "hire_date": r"于\s*(\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)\s*入职",
    "position": r"现任\s*([^\s，,。]+?)\s*职务",
    "monthly_income": r"月收入[^0-9]{0,20}?([0-9][0-9,]*\.?\d*)\s*元",
    "monthly_income_capitals": r"大写[:：]?\s*([零壹贰叁肆伍陆柒捌玖拾佰仟万亿元圆角分整正\s]+)",
    "income_basis": r"(税前|税后)",
    # A long name in the narrow signature block wraps: a next line of its own without a label or digits goes on.
    "employer": r"单位名称[^:：]*[:：]\s*(\S+(?:\n[^\s:：\d]+(?=\n))?)",
    "employer_uscc": r"统一社会信用代码[:：]?\s*([0-9A-Z]{18})",
    "date": r"(\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)\s*$",
}


# Fields printed on a line of their own; the others sit in the letter's body, which wraps anywhere.
_ONE_LINE = ("employer", "employer_uscc", "date")


def _proof(doc: Document) -> dict:
    page = doc.pages[0]
    text, boxes = _characters(page)
    # Lines of the letter wrap anywhere, even inside a number.
    flat, flat_boxes = text.replace("\n", ""), [b for c, b in zip(text, boxes) if c != "\n"]
    fields: dict = {}
    title = _title(page)
    if title:
        fields["title"] = field(re.sub(r"\s", "", title[0]), page, title[1])
    for name, pattern in _PROOF_PATTERNS.items():
        one_line = name in _ONE_LINE
        m = re.search(pattern, text if one_line else flat, re.M)
        if not m:
            continue
        raw = re.sub(r"\s", "", m[1])
        value = {
            "id_number": lambda: id_number(raw) or raw,
            "employer_uscc": lambda: credit_code(raw) or raw,
            "hire_date": lambda: _iso_date(raw),
            "date": lambda: _iso_date(raw),
            "monthly_income": lambda: _money(parse_amount(raw)),
            "monthly_income_capitals": lambda: raw,
        }.get(name, lambda: raw)()
        fields[name] = field(value, page, _box(boxes if one_line else flat_boxes, *m.span(1)) or page.words[:1])
    seal = red_seal(doc)
    fields["seal_present"] = {"value": seal is not None, "page": 1, "bbox": seal}
    figures, capitals = fields.get("monthly_income"), fields.get("monthly_income_capitals")
    if figures and capitals:
        spelled = parse_capitals(capitals["value"])
        fields["income_capitals_agree"] = {**capitals, "value": spelled is not None
                                           and _money(spelled) == figures["value"]}
    return {"fields": fields}


def red_seal(doc: Document) -> list[float] | None:
    """The box of a red round seal (公章) on page 1, if there is one: a red blob about as wide as it is tall."""
    rgb = render.raster(doc, 1, color=True)
    # R more than 50 above both G and B is R - max(G, B) over 50; in uint8 throughout, no signed copy of the page.
    red = ((rgb[..., 0] > 120) & (render.redness(rgb) > 50)).view(np.uint8)  # 0 or 1, not copied
    side = max(red.shape)
    per_px = render.scale(doc)
    for x, y, w, h, area in render.blobs(red, cv2.MORPH_CLOSE, side // 100 + 1):
        # A seal is 3.5–5 cm across: some 6–25% of the page width, round, and its ring and star fill part of it.
        if 0.06 * side < w < 0.3 * side and 0.75 < w / h < 1.33 and area > 0.1 * w * h:
            return [round(float(v) * per_px, 2) for v in (x, y, x + w, y + h)]
    return None


def _iso_date(text: str) -> str:
    parsed = parse_date(text)
    return parsed[0].isoformat() if parsed else text


def _characters(page: Page) -> tuple[str, list]:
    """The page's text as `_proof` reads it (NFKC, lines joined by newlines) and, for each of its characters, the
    box it was drawn in: the character's own where the text layer gives one, else its word's; None for the
    spaces and newlines the join put in."""
    text, boxes = [], []
    for line in page.lines:
        for i, word in enumerate(line.words):
            if i:
                text.append(" ")
                boxes.append(None)
            normal = nfkc(word.text)
            chars = word.chars if len(word.chars) == len(normal) else [word] * len(normal)
            text.append(normal)
            boxes += [c.bbox for c in chars]
        text.append("\n")
        boxes.append(None)
    return "".join(text), boxes


def _box(boxes: list, start: int, end: int) -> list[Word]:
    """The characters from `start` to `end` as words to put a field's box around."""
    return [Word("", *box) for box in boxes[start:end] if box]


# --- social insurance and housing fund ------------------------------------------------------------

def _record(doc: Document, labels, columns, anchor_parser, row_reader) -> tuple[dict, list[dict]]:
    first = doc.pages[0]
    fields: dict = {}
    title = _title(first)
    if title:
        fields["title"] = field(title[0], first, title[1])
    for name, (text, words) in labelled(first, labels).items():
        if name == "other":
            continue
        if name == "id_number":
            text = id_number(text) or text
        elif name == "employer_uscc":
            text = credit_code(text) or text
        fields[name] = field(text, first, words)
    rows = []
    for page in doc.pages:
        found = table.header(page.lines, columns)
        if not found:
            continue
        cols, below = found
        rows += [row_reader(r) for r in table.rows(page.words, cols, below, "period", anchor_parser, page.number)]
    return fields, rows


def _social_insurance(doc: Document) -> dict:
    def read(row: table.Row) -> dict:
        return {"period": parse_month(row.text("period")), "insurance": row.text("insurance") or None,
                "category": row.text("category") or None, "base": _money(parse_amount(row.text("base"))),
                "personal": _money(parse_amount(row.text("personal"))), "unit": _money(parse_amount(row.text("unit"))),
                "employer": row.text("employer") or None, "page": row.page,
                "bbox": [round(v, 2) for v in row.bbox()]}

    fields, rows = _record(doc, SI_LABELS, SI_COLUMNS, lambda t: parse_month(t) is not None, read)
    return {"fields": fields, "contributions": rows}


def _housing_fund(doc: Document) -> dict:
    def read(row: table.Row) -> dict:
        return {"period": parse_month(row.text("period")), "base": _money(parse_amount(row.text("base"))),
                "unit": _money(parse_amount(row.text("unit"))), "personal": _money(parse_amount(row.text("personal"))),
                "deposit": _money(parse_amount(row.text("deposit"))), "category": row.text("category") or None,
                "page": row.page, "bbox": [round(v, 2) for v in row.bbox()]}

    fields, rows = _record(doc, HOUSING_LABELS, HOUSING_COLUMNS, lambda t: parse_month(t) is not None, read)
    for name in ("base", "monthly_deposit"):
        if name in fields:
            fields[name]["value"] = _money(parse_amount(fields[name]["value"])) or fields[name]["value"]
    for name in ("unit_ratio", "personal_ratio"):
        if name in fields and (m := re.fullmatch(r"(\d+(?:\.\d+)?)\s*%", fields[name]["value"])):
            ratio = Decimal(m[1]) / 100
            fields[name]["value"] = f"{ratio:.{max(2, -ratio.normalize().as_tuple().exponent)}f}"  # 10% → 0.10
    for name in ("open_date", "printed_at"):
        if name in fields and (parsed := parse_date(fields[name]["value"])):
            fields[name]["value"] = _stamp(parsed)
    return {"fields": fields, "deposits": rows}
