"""Layer 1: normalisation of the raw command text.

Undoes presentation tricks before anything is parsed: ANSI escape sequences, NUL and
other control characters, zero-width and bidi format characters, fullwidth and other
compatibility forms (NFKC), common Cyrillic/Greek homoglyphs of Latin letters, and runs
of blanks. Newlines are kept because they separate commands. Quote and backslash tricks
inside command words (``r""m``, ``\\rm``, ``$'\\x72m'``) are undone by the tokenizer in
:mod:`teragent_shellguard.parser`, which is the only place that knows the quoting rules.

:func:`normalize` is idempotent: ``normalize(normalize(s)) == normalize(s)``.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize"]

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
# C0 controls except TAB/LF (CR is turned into LF first), DEL and C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BLANKS = re.compile(r"[ \t]+")
_TRAILING = re.compile(r" +\n")
# Lookalikes that NFKC leaves alone. Only letters that render identically to ASCII.
_HOMOGLYPHS = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i",
    "ј": "j", "ѕ": "s", "ԁ": "d", "һ": "h", "ӏ": "l", "ԛ": "q", "ԝ": "w", "к": "k",
    "м": "m", "т": "t", "в": "b", "н": "h", "г": "r",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J",
    "ο": "o", "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "Ο": "O", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H",
    "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ρ": "P", "Τ": "T", "Χ": "X", "Υ": "Y",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    "\u2212": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
})


def _strip_format(text: str) -> str:
    # Category Cf: zero-width space/joiners, BOM, bidi overrides, soft hyphen, ...
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def _once(text: str) -> str:
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
        text = _strip_format(text).translate(_HOMOGLYPHS)
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = _BLANKS.sub(" ", text)
    if " \n" in text:
        text = _TRAILING.sub("\n", text)
    return text.strip(" \n")


def normalize(text: str) -> str:
    """Return ``text`` with presentation tricks removed (layer 1).

    Args:
        text: The command exactly as the model produced it.

    Returns:
        The cleaned command. Applying the function again changes nothing.
    """
    # Each pass can expose a new sequence (removing a NUL may join an escape), so
    # repeat until nothing changes; two passes are almost always enough.
    for _ in range(4):
        new = _once(text)
        if new == text:
            return new
        text = new
    return text
