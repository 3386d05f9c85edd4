"""GSM 03.38 encoding, segment counting and smart encoding of an SMS Body (DESIGN.md section 9).

Library check (PyPI): gsm0338 is a codec only (no segment counting); smspdudecoder decodes PDUs (needs bitstring,
pytz); smsutil (2020, needs `future`) and sms-counter 0.0.1 (pydantic v1) both treat ESC as a user character
and ignore the escape-pair boundary rule. None is both correct and small enough for the Lambda, so this is written here.

Rules (3GPP TS 23.038 section 6.2.1 for the tables, TS 23.040 section 9.2.3.24.1 for the 6-octet concatenation
header that leaves 153 septets / 67 UTF-16 units per part):

- GSM-7 when every character is in the default alphabet or its extension table; an extension character is
  sent as ESC + code and costs two septets. ESC (0x1B) itself is not a character a user can write: a Body
  containing U+001B is UCS-2.
- Otherwise UCS-2, counted in UTF-16 code units (what handsets and carriers actually send): a character outside
  the Basic Multilingual Plane, such as an emoji, costs two units.
- One segment when the Body fits 160 septets / 70 units. Otherwise parts of 153 septets / 67 units, packed
  character by character: an escape pair is never split across parts (a part that would end in a lone ESC
  carries 152 septets), nor is a UTF-16 surrogate pair (a part that would end in a high surrogate carries 66
  units). So the count can exceed ceil(units / 153) or ceil(units / 67); this is how handsets, Twilio's segment
  calculator and the vendors split, and what is billed.
- An empty Body is GSM-7, 0 units, 1 segment: a message with no text still travels as one SMS PDU and is billed
  as one, and 1 keeps "segments >= 1" true for every message that may be sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final, Literal

Encoding = Literal["GSM-7", "UCS-2"]
GSM_7: Final = "GSM-7"
UCS_2: Final = "UCS-2"

# The GSM 03.38 default alphabet in code order 0x00..0x7F (3GPP TS 23.038 table 6.2.1), with 0x1B (ESC, the
# escape to the extension table) left out: it is a control code, never a user character.
GSM_BASIC_CHARS: Final = (
    "@£$¥èéùìòÇ\nØø\rÅå"  # 0x00-0x0F
    "Δ_ΦΓΛΩΠΨΣΘΞ"
    "ÆæßÉ"  # 0x10-0x1F (0x1B ESC omitted)
    " !\"#¤%&'()*+,-./"  # 0x20-0x2F
    "0123456789:;<=>?"  # 0x30-0x3F
    "¡ABCDEFGHIJKLMNO"  # 0x40-0x4F
    "PQRSTUVWXYZÄÖÑÜ§"  # 0x50-0x5F
    "¿abcdefghijklmno"  # 0x60-0x6F
    "pqrstuvwxyzäöñüà"  # 0x70-0x7F
)
# The default alphabet extension table (3GPP TS 23.038 table 6.2.1.1): form feed, ^ { } \ [ ~ ] | and the euro sign.
GSM_EXTENSION_CHARS: Final = "\f^{}\\[~]|€"

GSM_BASIC: Final = frozenset(GSM_BASIC_CHARS)
GSM_EXTENSION: Final = frozenset(GSM_EXTENSION_CHARS)

GSM_7_SINGLE: Final = 160
GSM_7_PART: Final = 153
UCS_2_SINGLE: Final = 70
UCS_2_PART: Final = 67


@dataclass(frozen=True)
class SegmentInfo:
    """What a Body costs: its encoding, its length in that encoding's units and its number of segments.

    `units` are septets for GSM-7 (an extension character counts two) and UTF-16 code units for UCS-2.
    """

    encoding: Encoding
    units: int
    segments: int


def is_gsm7(body: str) -> bool:
    """True when every character of `body` is in the GSM 03.38 default alphabet or its extension table."""
    return all(char in GSM_BASIC or char in GSM_EXTENSION for char in body)


def encoding_of(body: str) -> Encoding:
    """ "GSM-7" when the whole Body can be sent in the GSM 03.38 alphabet, else "UCS-2"."""
    return GSM_7 if is_gsm7(body) else UCS_2


def gsm7_septets(body: str) -> int:
    """Septets `body` takes in GSM-7 (extension characters count two); ValueError if it is not GSM-7."""
    return sum(_gsm7_costs(body))


def utf16_units(body: str) -> int:
    """UTF-16 code units `body` takes (a character outside the BMP, such as an emoji, counts two)."""
    return sum(_utf16_costs(body))


def count_segments(body: str) -> SegmentInfo:
    """Encoding, units and segments of `body`, with the boundary rules of the module docstring."""
    encoding: Encoding
    if is_gsm7(body):
        costs = list(_gsm7_costs(body))
        single, part, encoding = GSM_7_SINGLE, GSM_7_PART, GSM_7
    else:
        costs = list(_utf16_costs(body))
        single, part, encoding = UCS_2_SINGLE, UCS_2_PART, UCS_2
    units = sum(costs)
    if units <= single:
        return SegmentInfo(encoding, units, 1)
    return SegmentInfo(encoding, units, sum(1 for _ in _pack(costs, part)))


def split_segments(body: str) -> list[str]:
    """The Body cut into the texts of its segments, exactly as `count_segments` counts them.

    One element (the whole Body, possibly empty) when it fits a single segment.
    """
    if is_gsm7(body):
        costs = list(_gsm7_costs(body))
        single, part = GSM_7_SINGLE, GSM_7_PART
    else:
        costs = list(_utf16_costs(body))
        single, part = UCS_2_SINGLE, UCS_2_PART
    if sum(costs) <= single:
        return [body]
    return [body[start:end] for start, end in _pack(costs, part)]


def _gsm7_costs(body: str) -> Iterator[int]:
    for char in body:
        if char in GSM_BASIC:
            yield 1
        elif char in GSM_EXTENSION:
            yield 2
        else:
            raise ValueError(f"character U+{ord(char):04X} is not in the GSM 03.38 alphabet")


def _utf16_costs(body: str) -> Iterator[int]:
    # A lone surrogate (possible in a str decoded from JSON) is still one code unit on the wire.
    return (2 if ord(char) > 0xFFFF else 1 for char in body)


def _pack(costs: Iterable[int], capacity: int) -> Iterator[tuple[int, int]]:
    """(start, end) character ranges of consecutive parts holding at most `capacity` units each.

    A character is never split: one that does not fit whole in the current part starts the next one.
    """
    start = used = 0
    index = -1
    for index, cost in enumerate(costs):
        if used + cost > capacity:
            yield start, index
            start, used = index, 0
        used += cost
    if index >= start:
        yield start, index + 1


# Smart encoding: typographic characters and their GSM-7 equivalents. Applied only when the whole Body is GSM-7
# afterwards (there is no gain otherwise, and the producer's text should then go out exactly as written).
SMART_REPLACEMENTS: Final[dict[str, str]] = {
    # single quotes, apostrophes and primes
    "\u2018": "'",  # left single quotation mark
    "\u2019": "'",  # right single quotation mark / typographic apostrophe
    "\u201a": "'",  # single low-9 quotation mark
    "\u201b": "'",  # single high-reversed-9 quotation mark
    "\u2032": "'",  # prime
    "\u2035": "'",  # reversed prime
    "\u2039": "'",  # single left-pointing angle quotation mark
    "\u203a": "'",  # single right-pointing angle quotation mark
    # double quotes, double primes and guillemets
    "\u201c": '"',  # left double quotation mark
    "\u201d": '"',  # right double quotation mark
    "\u201e": '"',  # double low-9 quotation mark
    "\u201f": '"',  # double high-reversed-9 quotation mark
    "\u2033": '"',  # double prime
    "\u2036": '"',  # reversed double prime
    "\u00ab": '"',  # left-pointing double angle quotation mark
    "\u00bb": '"',  # right-pointing double angle quotation mark
    # hyphens, dashes and minus
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2015": "-",  # horizontal bar
    "\u2212": "-",  # minus sign
    # ellipsis and bullets
    "\u2026": "...",  # horizontal ellipsis
    "\u2022": "-",  # bullet
    "\u2043": "-",  # hyphen bullet
    # spaces
    "\u00a0": " ",  # no-break space
    **{chr(code): " " for code in range(0x2000, 0x200B)},  # en quad .. hair space
    "\u202f": " ",  # narrow no-break space
    "\u205f": " ",  # medium mathematical space
    "\u3000": " ",  # ideographic space
    # invisible characters: removed
    "\u00ad": "",  # soft hyphen
    "\u200b": "",  # zero-width space
    "\u200c": "",  # zero-width non-joiner
    "\u200d": "",  # zero-width joiner
    "\u2060": "",  # word joiner
    "\ufeff": "",  # zero-width no-break space / byte order mark
}
_SMART_TABLE: Final = str.maketrans(SMART_REPLACEMENTS)


def smart_encode(body: str) -> str:
    """`body` with typographic characters replaced by GSM-7 equivalents, if that makes it all GSM-7.

    Otherwise (some other character still needs UCS-2, e.g. an emoji) the Body is returned unchanged, since
    replacing would alter the producer's text and save nothing.
    """
    replaced = body.translate(_SMART_TABLE)
    return replaced if is_gsm7(replaced) else body
