"""Mask personal numbers (ID, account and card numbers, phone numbers) in text shown to people."""
from __future__ import annotations

import re

# 身份证号 (17 digits + digit/X), bank card and account numbers (12–19 digits, maybe spaced in groups of 4),
# mainland mobile numbers. Shorter numbers (amounts, dates) are left alone.
_LONG_NUMBER = re.compile(r"(?<![\dA-Za-z])\d(?:[ -]?\d){10,17}[ -]?[\dXx](?![\dA-Za-z])")
_MOBILE = re.compile(r"(?<![\dA-Za-z])(1[3-9]\d)(\d{4})(\d{4})(?![\dA-Za-z])")
# Identifiers of the result itself are not personal data, and must survive masking intact; nor may a picture's
# base64, whose digit runs look like numbers.
_KEEP = {"job_id", "sha256", "code", "created_at", "engine_version", "schema", "heatmap_png"}


def mask_text(text: str) -> str:
    text = _LONG_NUMBER.sub(_keep_ends, text)
    return _MOBILE.sub(lambda m: m[1] + "****" + m[3], text)


def _keep_ends(match: re.Match) -> str:
    """Keep the first and last four digits, star the rest, keep the spacing."""
    raw = match[0]
    positions = [i for i, ch in enumerate(raw) if ch.isalnum()]
    hidden = set(positions[4:-4])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(raw))


def mask(value):
    """Mask every string inside a JSON-like value."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, list):
        return [mask(v) for v in value]
    if isinstance(value, dict):
        return {k: v if k in _KEEP else mask(v) for k, v in value.items()}
    return value
