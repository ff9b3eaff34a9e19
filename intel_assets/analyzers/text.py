r"""Unicode-aware text pieces the title, description and regional analyzers share.

Titles and descriptions come in every script. Python's `\w` drops combining marks, so Thai,
Hindi or Arabic words would fall apart at their vowel signs; words here are runs of letters,
marks and numbers by Unicode general category instead. Scripts written without spaces between
words (Chinese, Japanese, Thai, ...) cannot be split into words without a dictionary, so
callers treat their runs as characters (see `title.py`).
"""

import re
import unicodedata
from functools import cache
from urllib.parse import SplitResult, urlsplit

# Name prefixes (Unicode character names) of scripts that put no spaces between words, or, for
# Hangul, attach particles to words so tightly that whole space-separated words rarely repeat.
_UNSPACED_SCRIPT_PREFIXES = (
    "CJK UNIFIED IDEOGRAPH",
    "CJK COMPATIBILITY IDEOGRAPH",
    "HIRAGANA",
    "KATAKANA",
    "HANGUL",
    "THAI",
    "LAO",
    "KHMER",
    "MYANMAR",
)

# Candidates only: where a link starts and where whitespace or a quote/bracket ends it. What the
# link means (scheme, host, path, query) is left to urllib.parse.
_LINK_CANDIDATE = re.compile(r"(?:https?://|www\.)[^\s<>\"'\[\]{}|\\^`]+", re.IGNORECASE)
# Sentence punctuation that ends a sentence after a link: ASCII, typographic quotes, CJK.
_TRAILING_PUNCTUATION = ".,;:!?)'\"\u00bb\u201d\u2019\u3002\u3001\uff0c\uff01\uff1f\uff09"


def fold(text: str) -> str:
    """Text folded for comparison: NFKC (full-width, ligatures) then case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def is_word_char(ch: str) -> bool:
    """Whether the character belongs inside a word: a letter, a combining mark or a number."""
    return unicodedata.category(ch)[0] in "LMN"


@cache
def is_unspaced_script(ch: str) -> bool:
    """Whether the character is of a script written without spaces between words."""
    return unicodedata.name(ch, "").startswith(_UNSPACED_SCRIPT_PREFIXES)


def word_spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) offsets of each maximal run of word characters in the text."""
    spans: list[tuple[int, int]] = []
    start: int | None = None
    for index, ch in enumerate(text):
        if is_word_char(ch):
            if start is None:
                start = index
        elif start is not None:
            spans.append((start, index))
            start = None
    if start is not None:
        spans.append((start, len(text)))
    return spans


def hashtags(text: str) -> list[str]:
    """The hashtags in the text (folded, without '#', in order of appearance, repeats kept).

    A hashtag is '#' not preceded by a word character, followed by a run of word characters.
    """
    folded = fold(text)
    found = []
    position = folded.find("#")
    while position != -1:
        end = position + 1
        while end < len(folded) and is_word_char(folded[end]):
            end += 1
        if end > position + 1 and (position == 0 or not is_word_char(folded[position - 1])):
            found.append(folded[position + 1 : end])
        position = folded.find("#", end)
    return found


def find_links(text: str) -> list[str]:
    """The http(s) links written in the text, as written (trailing punctuation removed)."""
    links = []
    for match in _LINK_CANDIDATE.finditer(text):
        link = match.group(0)
        while link and link[-1] in _TRAILING_PUNCTUATION:
            # A closing parenthesis belongs to the link when the link opened one.
            if link[-1] == ")" and link.count("(") >= link.count(")"):
                break
            link = link[:-1]
        if "://" not in link or link.split("://", 1)[1]:
            links.append(link)
    return links


def parse_link(link: str) -> SplitResult | None:
    """The link's parts (scheme added where it starts with www.), None if it is not a URL."""
    try:
        parts = urlsplit(link if "://" in link else "https://" + link)
        host = parts.hostname
    except ValueError:
        return None
    if not host or "." not in host:
        return None
    return parts


def link_domain(parts: SplitResult) -> str:
    """The site a link points to: its host, lower-cased, without `www.` or `m.` in front."""
    host = (parts.hostname or "").rstrip(".")
    for prefix in ("www.", "m."):
        if host.startswith(prefix):
            return host[len(prefix) :]
    return host


def domain_matches(domain: str, sites: tuple[str, ...]) -> bool:
    """Whether the domain is one of the sites or a subdomain of one."""
    return any(domain == site or domain.endswith("." + site) for site in sites)
