"""GSM 03.38 encoding, segment counts and smart encoding (DESIGN.md section 9).

Where the numbers come from:
- Character tables: 3GPP TS 23.038, section 6.2.1 (default alphabet, table 6.2.1; extension table 6.2.1.1).
- 160 septets / 70 UCS-2 characters in one SMS, 153 / 67 per part of a concatenated message (6-octet User Data
  Header, 3GPP TS 23.040 section 9.2.3.24.1): Twilio, "What is the SMS character limit?" and the Twilio Message
  Segment Calculator (https://twiliodeved.github.io/message-segment-calculator/, source
  github.com/TwilioDevEd/message-segment-calculator, which also packs whole escape pairs into one segment).
"""

from __future__ import annotations

import pytest

from messaging.segments import (
    GSM_BASIC_CHARS,
    GSM_EXTENSION_CHARS,
    SMART_REPLACEMENTS,
    SegmentInfo,
    count_segments,
    encoding_of,
    gsm7_septets,
    is_gsm7,
    smart_encode,
    split_segments,
    utf16_units,
)

EMOJI = "\U0001f600"  # 😀, outside the BMP: a surrogate pair in UTF-16
CYRILLIC = "Привет"
UCS = "ж"  # any BMP character outside GSM 03.38: one UTF-16 unit

# (label, body, encoding, units, segments) — the published boundary cases.
PUBLISHED = [
    ("empty", "", "GSM-7", 0, 1),
    ("one char", "a", "GSM-7", 1, 1),
    ("GSM 160", "a" * 160, "GSM-7", 160, 1),
    ("GSM 161", "a" * 161, "GSM-7", 161, 2),
    ("GSM 306", "a" * 306, "GSM-7", 306, 2),
    ("GSM 307", "a" * 307, "GSM-7", 307, 3),
    ("GSM 459", "a" * 459, "GSM-7", 459, 3),
    ("GSM 460", "a" * 460, "GSM-7", 460, 4),
    ("GSM 158 + euro = 160 septets", "a" * 158 + "€", "GSM-7", 160, 1),
    ("GSM 159 + euro = 161 septets", "a" * 159 + "€", "GSM-7", 161, 2),
    ("80 euro = 160 septets", "€" * 80, "GSM-7", 160, 1),
    ("81 euro = 162 septets", "€" * 81, "GSM-7", 162, 2),
    ("UCS-2 70", UCS * 70, "UCS-2", 70, 1),
    ("UCS-2 71", UCS * 71, "UCS-2", 71, 2),
    ("UCS-2 134", UCS * 134, "UCS-2", 134, 2),
    ("UCS-2 135", UCS * 135, "UCS-2", 135, 3),
    ("UCS-2 201", UCS * 201, "UCS-2", 201, 3),
    ("UCS-2 202", UCS * 202, "UCS-2", 202, 4),
    ("one emoji", EMOJI, "UCS-2", 2, 1),
    ("GSM text + one emoji", "Hello " + EMOJI, "UCS-2", 8, 1),
    ("35 emoji = 70 units", EMOJI * 35, "UCS-2", 70, 1),
    ("36 emoji = 72 units", EMOJI * 36, "UCS-2", 72, 2),
    ("GSM 69 + emoji = 71 units", "a" * 69 + EMOJI, "UCS-2", 71, 2),
    ("Greek capitals in GSM", "ΔΦΓΛΩΠΨΣΘΞ", "GSM-7", 10, 1),
    ("lowercase Greek", "ΔΦ \u03b1", "UCS-2", 4, 1),
    ("Cyrillic", CYRILLIC, "UCS-2", 6, 1),
    ("Latin + Cyrillic", "Order " + CYRILLIC, "UCS-2", 12, 1),
    ("euro in UCS-2 is one unit", "€" + UCS, "UCS-2", 2, 1),
    ("GSM accents", "Ça coûte 5€? Señor Müller", "UCS-2", 25, 1),  # û is not in GSM 03.38
    ("GSM accents only", "Ça va? Señor Müller, 5€ à Zürich", "GSM-7", 33, 1),
]


@pytest.mark.parametrize(
    ("body", "encoding", "units", "segments"),
    [case[1:] for case in PUBLISHED],
    ids=[case[0] for case in PUBLISHED],
)
def test_published_cases(body: str, encoding: str, units: int, segments: int) -> None:
    assert count_segments(body) == SegmentInfo(encoding, units, segments)  # type: ignore[arg-type]
    assert encoding_of(body) == encoding
    assert len(split_segments(body)) == segments
    assert "".join(split_segments(body)) == body


def test_the_tables_are_the_3gpp_tables() -> None:
    # 128 code points of the default alphabet minus ESC (0x1B), all distinct.
    assert len(GSM_BASIC_CHARS) == 127
    assert len(set(GSM_BASIC_CHARS)) == 127
    assert GSM_BASIC_CHARS[0x00] == "@"
    assert GSM_BASIC_CHARS[0x09] == "Ç"  # capital C cedilla (TS 23.038); lowercase ç is not GSM
    assert GSM_BASIC_CHARS[0x1B] == "Æ"  # shifted by one: ESC left out
    assert GSM_BASIC_CHARS[0x24 - 1] == "¤"  # currency sign, not dollar (that is 0x02)
    assert GSM_BASIC_CHARS[0x40 - 1] == "¡"
    assert GSM_BASIC_CHARS[0x60 - 1] == "¿"
    assert GSM_BASIC_CHARS[-1] == "à"
    assert sorted(GSM_EXTENSION_CHARS) == sorted("\f^{}\\[~]|€")
    assert not set(GSM_BASIC_CHARS) & set(GSM_EXTENSION_CHARS)
    for char in "ABCXYZabcxyz0189 \n\r@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà":
        assert is_gsm7(char), repr(char)


@pytest.mark.parametrize(
    "char",
    [
        "\x1b",  # ESC is the escape code itself, not a character a user writes
        "\t",
        "`",
        "ç",
        "á",
        "í",
        "ó",
        "ú",
        "â",
        "ê",
        "û",
        "ã",
        "õ",
        "\u03b1",  # greek small alpha
        "\u0391",  # GREEK CAPITAL ALPHA: looks like A, is not in the table
        "\u2019",
        "\u201c",
        "\u2013",
        "\u2026",
        "\u00a0",
        "ж",
        "中",
        EMOJI,
    ],
)
def test_characters_outside_gsm(char: str) -> None:
    assert encoding_of("abc" + char) == "UCS-2"


def test_extension_characters_cost_two_septets() -> None:
    for char in GSM_EXTENSION_CHARS:
        assert gsm7_septets(char) == 2
        assert count_segments(char) == SegmentInfo("GSM-7", 2, 1)
    assert gsm7_septets("a{b}") == 6


def test_gsm7_septets_refuses_a_non_gsm_body() -> None:
    with pytest.raises(ValueError, match="U\\+03B1"):
        gsm7_septets("\u03b1")


def test_utf16_units() -> None:
    assert utf16_units("") == 0
    assert utf16_units("abc") == 3
    assert utf16_units(EMOJI) == 2
    assert utf16_units("👍🏽") == 4  # emoji + skin-tone modifier: two astral code points
    assert utf16_units("\ud83d") == 1  # a lone surrogate, as a JSON decoder can produce


def test_an_escape_pair_never_straddles_two_gsm_segments() -> None:
    # 152 plain septets then "€": the pair would take septets 153-154, so it opens part 2 and part 1 carries 152.
    body = "a" * 152 + "€" + "b" * 10
    parts = split_segments(body)
    assert [gsm7_septets(part) for part in parts] == [152, 12]
    assert parts[1].startswith("€")
    # Naive arithmetic would say ceil(306 / 153) = 2; packed, the escape pair pushes one septet into part 3.
    body = "a" * 152 + "€" + "b" * 152
    assert gsm7_septets(body) == 306
    assert count_segments(body) == SegmentInfo("GSM-7", 306, 3)
    # 151 plain + "€" fits exactly 153.
    body = "a" * 151 + "€" + "b" * 153
    assert [gsm7_septets(part) for part in split_segments(body)] == [153, 153]
    assert count_segments(body).segments == 2


def test_all_extension_characters_pack_76_per_part() -> None:
    # 153 septets hold 76 escape pairs (152 septets); the 77th would be split, so it starts the next part.
    body = "€" * 154
    assert [len(part) for part in split_segments(body)] == [76, 76, 2]
    assert count_segments(body) == SegmentInfo("GSM-7", 308, 3)  # ceil(308 / 153) would say 3 as well
    body = "€" * 152
    assert count_segments(body) == SegmentInfo("GSM-7", 304, 2)
    body = "€" * 153  # 306 septets: ceil says 2, packing needs 3
    assert count_segments(body) == SegmentInfo("GSM-7", 306, 3)


def test_a_surrogate_pair_never_straddles_two_ucs2_segments() -> None:
    body = UCS * 66 + EMOJI + UCS * 5
    parts = split_segments(body)
    assert [utf16_units(part) for part in parts] == [66, 7]
    assert parts[1].startswith(EMOJI)
    # 134 units: ceil(134 / 67) = 2, but the emoji cannot sit across the first boundary.
    body = UCS * 66 + EMOJI + UCS * 66
    assert count_segments(body) == SegmentInfo("UCS-2", 134, 3)
    body = UCS * 65 + EMOJI + UCS * 67
    assert count_segments(body) == SegmentInfo("UCS-2", 134, 2)
    # Only emoji: 33 per part (66 units).
    assert [len(part) for part in split_segments(EMOJI * 36)] == [33, 3]


def test_extension_characters_are_single_units_once_the_body_is_ucs2() -> None:
    body = "€" * 70 + "ж"
    assert count_segments(body) == SegmentInfo("UCS-2", 71, 2)


def test_single_segment_bodies_are_not_split() -> None:
    assert split_segments("") == [""]
    assert split_segments("a" * 160) == ["a" * 160]
    assert split_segments(EMOJI * 35) == [EMOJI * 35]


def test_long_bodies_split_and_rejoin() -> None:
    body = ("Grüße, {name}! Your code: 1234 € " * 40)[:1500]
    info = count_segments(body)
    parts = split_segments(body)
    assert "".join(parts) == body
    assert len(parts) == info.segments
    assert all(gsm7_septets(part) <= 153 for part in parts)
    assert info.units == sum(gsm7_septets(part) for part in parts)


def test_segment_info_is_frozen() -> None:
    info = count_segments("hi")
    with pytest.raises(AttributeError):
        info.segments = 2  # type: ignore[misc]


# ---- smart encoding ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("\u201cHello\u201d \u2014 it\u2019s\u2026", '"Hello" - it\'s...'),
        ("It\u2019s 5\u2032 10\u2033", "It's 5' 10\""),
        ("\u00abBonjour\u00bb \u2039x\u203a", "\"Bonjour\" 'x'"),
        ("\u201eGuten Tag\u201c", '"Guten Tag"'),
        ("9\u201317 \u2212 2 \u2010 a\u2011b \u2012 \u2015", "9-17 - 2 - a-b - -"),
        ("\u2022 milk\n\u2022 eggs", "- milk\n- eggs"),
        ("10\u00a0000\u202f\u20ac", "10 000 €"),
        ("a\u2000b\u2005c\u200ad\u205fe\u3000f", "a b c d e f"),
        ("zero\u200bwidth\u200c\u200d\u2060\ufeff", "zerowidth"),
        ("co\u00adoperate", "cooperate"),
        ("Plain text stays", "Plain text stays"),
        ("", ""),
    ],
)
def test_smart_encoding_makes_gsm7(body: str, expected: str) -> None:
    assert encoding_of(body) == ("GSM-7" if body == expected else "UCS-2")
    result = smart_encode(body)
    assert result == expected
    assert encoding_of(result) == "GSM-7"


@pytest.mark.parametrize(
    "body",
    [
        "\u201cHello\u201d " + EMOJI,  # curly quotes and an emoji: UCS-2 anyway, text left as written
        "It\u2019s \u043f\u0440\u0438\u0432\u0435\u0442",  # Cyrillic
        "\u2014 \u03b1",  # lowercase Greek
        "caf\u00e9 \u2014 cr\u00e8me br\u00fbl\u00e9e",  # û is not GSM
        "\u201ca\u201d\t",  # a tab is not GSM and is not typographic
    ],
)
def test_smart_encoding_leaves_ucs2_bodies_unchanged(body: str) -> None:
    assert smart_encode(body) is body


def test_smart_encoding_saves_segments() -> None:
    body = "\u201cYour order\u201d \u2014 " + "x" * 140  # 155 chars: UCS-2 (3 parts), GSM-7 after (1 part)
    assert count_segments(body) == SegmentInfo("UCS-2", 155, 3)
    assert count_segments(smart_encode(body)) == SegmentInfo("GSM-7", 155, 1)


def test_every_replacement_is_gsm7_and_every_source_is_not() -> None:
    for source, target in SMART_REPLACEMENTS.items():
        assert len(source) == 1
        assert not is_gsm7(source), f"U+{ord(source):04X} is already GSM-7"
        assert is_gsm7(target), f"U+{ord(source):04X} maps to non-GSM {target!r}"
    for code in [0x00A0, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000]:
        assert SMART_REPLACEMENTS[chr(code)] == " "
