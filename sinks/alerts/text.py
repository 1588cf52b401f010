"""Text normalisation shared by queries and articles, so matching is a substring test.

Both sides are case-folded, stripped of accents and reduced to tokens joined by single spaces,
with a space at each end: the term "S-400" becomes " s 400 ", and it occurs in an article's
normalised text exactly when the article contains S-400 at word boundaries (so "S-400s" or
"XS-400" do not match, while "s-400", "S 400" and "S–400" do). Pure functions, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SEPARATORS = re.compile(r"[\W_]+")
_COMBINING = re.compile(r"[\u0300-\u036f]+")
_WILDCARD_SEPARATORS = re.compile(r"[^\w*?]+|_+")


def fold(value: str) -> str:
    """Case-fold and strip accents ("Erdoğan" -> "erdogan")."""
    folded = value.casefold()
    if folded.isascii():
        return folded
    return _COMBINING.sub("", unicodedata.normalize("NFKD", folded))


def normalize(value: str) -> str:
    """Tokens joined by single spaces, padded with one space each side; "" -> "  "."""
    return " " + _SEPARATORS.sub(" ", fold(value)).strip() + " "


def tokens(value: str) -> list[str]:
    """The normalised tokens of a query value or a text."""
    return normalize(value).split()


def wildcard_tokens(value: str) -> list[str]:
    """Tokens of a wildcard term, keeping `*` and `?` ("Missil*" -> ["missil*"])."""
    return _WILDCARD_SEPARATORS.sub(" ", fold(value)).split()


def wildcard_regex(parts: list[str]) -> re.Pattern[str]:
    """A regex over normalised text: `*` spans any characters of one token, `?` exactly one."""
    body = " ".join(
        "".join("[^ ]*" if ch == "*" else "[^ ]" if ch == "?" else re.escape(ch) for ch in part)
        for part in parts
    )
    return re.compile(" " + body + " ")


def longest_literal(parts: list[str]) -> str:
    """The longest wildcard-free stretch of " part part ", a substring any match must contain."""
    padded = " " + " ".join(parts) + " "
    pieces = re.split(r"[*?]", padded)
    return max(pieces, key=lambda piece: len(piece.strip()))


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    folded = fold(ch)
    return folded[0] if len(folded) >= 1 else ch


@lru_cache(maxsize=256)
def fold_same_length(value: str) -> str:
    """Like `fold`, but one character out per character in, so offsets map back to `value`.

    Cached: every term of every rule that fired on an article folds the same few fields.
    """
    if value.isascii():
        return value.lower()
    return "".join(_fold_char(ch) for ch in value)


@lru_cache(maxsize=16384)
def _locate_pattern(parts: tuple[str, ...]) -> re.Pattern[str]:
    joined = r"[\W_]+".join(
        "".join(
            r"[^\W_]*" if ch == "*" else r"[^\W_]" if ch == "?" else re.escape(ch) for ch in part
        )
        for part in parts
    )
    return re.compile(r"(?<![^\W_])" + joined + r"(?![^\W_])")


def locate(original: str, parts: list[str]) -> tuple[int, int] | None:
    """Offsets of the first word-bounded occurrence of the token sequence in `original`."""
    if not parts:
        return None
    found = _locate_pattern(tuple(parts)).search(fold_same_length(original))
    return (found.start(), found.end()) if found else None


def snippet(original: str, span: tuple[int, int], width: int = 70) -> str:
    """The match marked **like this** with up to `width` characters of context each side."""
    start, end = span
    left = max(0, start - width)
    right = min(len(original), end + width)
    head = ("…" if left > 0 else "") + original[left:start]
    tail = original[end:right] + ("…" if right < len(original) else "")
    clean = " ".join(f"{head}**{original[start:end]}**{tail}".split())
    return clean
