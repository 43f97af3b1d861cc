"""Normalised keys for the duplicate check (查重): what two spellings of one customer share.

``name_key("深圳市腾讯计算机系统有限公司")`` and ``name_key("深圳市腾讯计算机系统 有限责任公司")``
agree, as do "ACME Co., Ltd." and "acme"; full-width and half-width forms, case, spaces and
punctuation do not matter. Phones go to E.164 with +86 by default, e-mails are lower-cased.
These are pure functions: the import normalises 100,000 rows with them.
"""

from __future__ import annotations

import re
import unicodedata

from bridgecrm.customers import phones

# Longest first, so "股份有限公司" goes before "有限公司"; applied repeatedly at the end of the name.
_LEGAL_SUFFIXES_ZH = (
    "集团股份有限公司",
    "股份合作公司",
    "有限合伙企业",
    "集团有限责任公司",
    "集团有限公司",
    "股份有限公司",
    "有限责任公司",
    "股份公司",
    "有限合伙",
    "有限公司",
    "分公司",
    "总公司",
    "集团",
    "公司",
)
_LEGAL_SUFFIXES_EN = (
    "limited liability company",
    "public limited company",
    "co ltd",
    "company ltd",
    "corp ltd",
    "pvt ltd",
    "co limited",
    "company limited",
    "pte ltd",
    "pty ltd",
    "private limited",
    "limited",
    "ltd",
    "incorporated",
    "inc",
    "llc",
    "l l c",
    "llp",
    "lp",
    "s a",
    "holdings",
    "corporation",
    "corp",
    "company",
    "co",
    "gmbh",
    "plc",
    "ag",
    "sa",
    "group",
)
_PUNCTUATION = re.compile(r"[\W_]+", re.UNICODE)
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """NFKC (full-width to half-width), case-folded, whitespace collapsed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


_EN_SUFFIX_WORDS = tuple(tuple(suffix.split()) for suffix in _LEGAL_SUFFIXES_EN)
_EN_LAST_WORDS = frozenset(words[-1] for words in _EN_SUFFIX_WORDS)


def _strip_english(words: list[str]) -> list[str]:
    """Drop a leading "the" and, repeatedly, the first legal suffix (in the order above) that ends
    the words, keeping at least one word."""
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    while len(words) > 1 and words[-1] in _EN_LAST_WORDS:  # most names end in no suffix word at all
        for parts in _EN_SUFFIX_WORDS:
            if len(words) > len(parts) and tuple(words[-len(parts) :]) == parts:
                words = words[: -len(parts)]
                break
        else:
            break
    return words


def name_words(name: str) -> list[str]:
    """The folded name's words without punctuation and English legal suffixes (for the fuzzy index)."""
    text = fold(name)
    # Brackets around a place ("（深圳）") are kept as text: branches in two cities are two customers.
    words = [w for w in _PUNCTUATION.sub(" ", text.replace("&", " and ")).split() if w]
    return _strip_english(words)


def name_key(name: str) -> str:
    """The company or person name without legal suffixes, width, case, spaces or punctuation."""
    key = "".join(name_words(name))
    changed = key.endswith(_LEGAL_SUFFIXES_ZH)  # one C call rules out most names
    while changed:
        changed = False
        for suffix in _LEGAL_SUFFIXES_ZH:
            if key.endswith(suffix) and len(key) > len(suffix):
                key = key[: -len(suffix)]
                changed = True
                break
    return key[:200]


def phone_key(raw: str, region: str = phones.DEFAULT_REGION) -> str | None:
    """E.164, or None when it is not a valid number."""
    found = phones.normalise(raw, region)
    return found.e164 if found is not None else None


def email_key(raw: str) -> str:
    return raw.strip().lower()
