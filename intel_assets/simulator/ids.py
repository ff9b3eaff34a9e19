"""Identifiers and paging tokens of the simulated world, in the shapes the real APIs use.

Video and channel ids are not stored anywhere: they encode what they identify (which pool, day
and upload of the day; which channel) through a keyed 64-bit Feistel permutation with a check
field, so any id can be resolved without a lookup table and ids of another seed are unknown.
"""

import base64
import hashlib
import json
import string

_MASK32 = 0xFFFFFFFF
_YOUTUBE_ID_CHARS = frozenset(string.ascii_letters + string.digits + "-_")


def stable_hash(*parts: object, bits: int = 64) -> int:
    """A hash of the parts that is the same in every process (unlike `hash()`), `bits` wide."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=16).digest()
    return int.from_bytes(digest, "big") >> (128 - bits)


class BlockCodec:
    """A keyed permutation of 64-bit blocks carrying a payload and a check field.

    The payload (`payload_bits` wide) is packed with a check derived from it and the key, then
    permuted, so encoded blocks look random and a block this codec did not produce is rejected.
    """

    def __init__(self, key: str, payload_bits: int = 40) -> None:
        if not 1 <= payload_bits <= 56:
            raise ValueError("payload_bits must be within 1..56 to leave a useful check field")
        self._keys = [
            hashlib.blake2b(f"{key}/{r}".encode(), digest_size=16).digest() for r in range(4)
        ]
        self._payload_bits = payload_bits
        self._check_bits = 64 - payload_bits
        self._key = key

    def _round(self, r: int, half: int) -> int:
        digest = hashlib.blake2b(half.to_bytes(4, "big"), key=self._keys[r], digest_size=4)
        return int.from_bytes(digest.digest(), "big")

    def _check(self, payload: int) -> int:
        return stable_hash(self._key, "check", payload, bits=self._check_bits)

    def encode(self, payload: int) -> int:
        """The 64-bit block of a payload."""
        if not 0 <= payload < 1 << self._payload_bits:
            raise ValueError(f"payload {payload} does not fit in {self._payload_bits} bits")
        block = (payload << self._check_bits) | self._check(payload)
        left, right = block >> 32, block & _MASK32
        for r in range(4):
            left, right = right, left ^ self._round(r, right)
        return (left << 32) | right

    def decode(self, block: int) -> int | None:
        """The payload of a block this codec produced, or None for any other block."""
        left, right = block >> 32, block & _MASK32
        for r in reversed(range(4)):
            left, right = right ^ self._round(r, left), left
        plain = (left << 32) | right
        payload = plain >> self._check_bits
        if plain & ((1 << self._check_bits) - 1) != self._check(payload):
            return None
        return payload


def block_to_video_id(block: int) -> str:
    """An 11-character YouTube video id (base64url of 64 bits, as YouTube's ids are)."""
    return base64.urlsafe_b64encode(block.to_bytes(8, "big")).decode()[:11]


def video_id_to_block(video_id: str) -> int | None:
    """The 64-bit block behind a video id, or None when it is not shaped like one."""
    if len(video_id) != 11 or not set(video_id) <= _YOUTUBE_ID_CHARS:
        return None
    try:
        raw = base64.urlsafe_b64decode(video_id + "=")
    except ValueError:
        return None
    return int.from_bytes(raw, "big")


def block_to_channel_id(block: int) -> str:
    """A 24-character channel id: `UC` and 22 base64url characters (128 bits)."""
    head = block.to_bytes(8, "big")
    tail = hashlib.blake2b(head, digest_size=8).digest()
    return "UC" + base64.urlsafe_b64encode(head + tail).decode()[:22]


def channel_id_to_block(channel_id: str) -> int | None:
    """The block behind a channel id, or None when it is not one of ours."""
    body = channel_id[2:]
    if not channel_id.startswith("UC") or len(body) != 22 or not set(body) <= _YOUTUBE_ID_CHARS:
        return None
    try:
        raw = base64.urlsafe_b64decode(body + "==")
    except ValueError:
        return None
    head = raw[:8]
    if raw[8:] != hashlib.blake2b(head, digest_size=8).digest():
        return None
    return int.from_bytes(head, "big")


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_page_token(offset: int, backwards: bool = False) -> str:
    """A YouTube page token: the protobuf YouTube uses (`CDIQAA` is offset 50, forwards)."""
    raw = b"\x08" + _varint(offset) + b"\x10" + (b"\x01" if backwards else b"\x00")
    return base64.b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> tuple[int, bool] | None:
    """Offset and direction of a YouTube page token, or None for a token we never issued."""
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
    except ValueError:
        return None
    if len(raw) < 4 or raw[0] != 0x08:
        return None
    offset, shift, i = 0, 0, 1
    while i < len(raw) and raw[i] & 0x80:
        offset |= (raw[i] & 0x7F) << shift
        shift += 7
        i += 1
    if i >= len(raw):
        return None
    offset |= raw[i] << shift
    rest = raw[i + 1 :]
    if rest not in (b"\x10\x00", b"\x10\x01"):
        return None
    return offset, rest == b"\x10\x01"


def encode_twitch_cursor(offset: int, before: bool = False) -> str:
    """A Helix cursor in Twitch's own shape (`{"b":null,"a":{"Offset":20}}`, base64)."""
    body = {"b": {"Offset": offset}, "a": None} if before else {"b": None, "a": {"Offset": offset}}
    return base64.b64encode(json.dumps(body, separators=(",", ":")).encode()).decode()


def decode_twitch_cursor(cursor: str) -> int | None:
    """The offset a Helix cursor points at, or None for a cursor we never issued."""
    try:
        body = json.loads(base64.b64decode(cursor + "=" * (-len(cursor) % 4), validate=True))
        part = body.get("a") or body.get("b")
        offset = part["Offset"]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return offset if isinstance(offset, int) and offset >= 0 else None
