r"""Values the warehouse can store, made at the model boundary from whatever an API sent.

Real upstream data is messy, and one bad value must not cost the rest of a payload:

- text cannot hold NUL in Postgres, and psycopg cannot encode a lone surrogate (`"\ud800"` is
  valid JSON). Such text is kept with the NULs removed and each lone surrogate replaced by
  U+FFFD, the Unicode replacement character;
- a number beyond its column (BIGINT stops at 9.2e18, INTEGER at 2.1e9), a negative count, a
  duration too long to be real, a time or flag that cannot be read: the field is stored as NULL
  where the column allows it, never as a made-up value; where the column needs a value (a
  stream's viewers, a video's publish time) the item cannot be understood and is rejected.

Each field repaired is noted while an item is parsed (`noting_repairs`), so a collection can say
which items and fields it repaired.
"""

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Annotated, Any, TypeVar

import isodate
from pydantic import Field

BIGINT_MAX = 2**63 - 1
"""Largest value of a Postgres BIGINT column (counts of views, likes, comments)."""
INTEGER_MAX = 2**31 - 1
"""Largest value of a Postgres INTEGER column (durations, viewers, positions)."""

BigCount = Annotated[int, Field(ge=0, le=BIGINT_MAX)]
"""A count stored as BIGINT: 0 up to BIGINT_MAX."""
Count = Annotated[int, Field(ge=0, le=INTEGER_MAX)]
"""A count or a length stored as INTEGER: 0 up to INTEGER_MAX."""

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

T = TypeVar("T")

_repairs: ContextVar[list[str] | None] = ContextVar("intel_repairs", default=None)


def storable_text(text: str) -> str:
    """`text` without NUL characters and with each lone surrogate replaced by U+FFFD.

    Surrogates in a Python string are always lone: JSON's escaped pairs decode to one character.
    """
    if text.isascii() and "\x00" not in text:
        return text
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else REPLACEMENT, text)


def storable(value: Any) -> Any:
    """A text, or a list or tuple of texts, made storable; any other value as it is.

    Returns the same object when nothing needed cleaning, so callers can tell by identity.
    """
    if isinstance(value, str):
        cleaned = storable_text(value)
        return value if cleaned == value else cleaned
    if isinstance(value, list | tuple) and any(isinstance(v, str) for v in value):
        cleaned_items = [storable(v) for v in value]
        if all(new is old for new, old in zip(cleaned_items, value, strict=True)):
            return value
        return type(value)(cleaned_items)
    return value


@contextmanager
def noting_repairs() -> Iterator[list[str]]:
    """Collect the names of the fields repaired while one item is parsed in this block."""
    fields: list[str] = []
    token = _repairs.set(fields)
    try:
        yield fields
    finally:
        _repairs.reset(token)


def note_repair(field: str) -> None:
    """Note that `field` of the item being parsed was repaired (no-op outside `noting_repairs`)."""
    fields = _repairs.get()
    if fields is not None and field not in fields:
        fields.append(field)


def text_or_empty(value: Any, field: str) -> str:
    """Optional text stored as '' when absent; a value that is not text is a repair to ''."""
    if value is None or isinstance(value, str):
        return value or ""
    note_repair(field)
    return ""


def or_null(parse: Callable[[Any], T], value: Any, field: str) -> T | None:
    """`parse(value)`, or None noted as a repair of `field` when the value cannot be read.

    For optional fields whose parser is strict (counts, durations, flags): a value it refuses
    is impossible data, stored as NULL instead of rejecting the whole item.
    """
    try:
        return parse(value)
    except (ValueError, TypeError, OverflowError, isodate.ISO8601Error):
        note_repair(field)
        return None
