"""A corpus of realistic regexes (ECMA-262 dialect) and an independent Python ``re`` oracle.

``REGEX_CORPUS`` is a list of ``(name, pattern)`` pairs used by the regex tests, the fuzzer and the
benchmark. ``python_oracle(pattern)`` rewrites one of these ECMA-262 patterns into a Python ``re``
pattern with the same language, meant to be compiled with ``re.ASCII``. Every class escape is spelled
out as an explicit class (``\\d`` -> ``[0-9]``, ``\\w`` -> ``[0-9A-Z_a-z]``, ``\\s`` -> the ECMA
white-space set, and their complements), so the result means the same with or without the flag;
tests pass ``re.ASCII`` anyway, and hand the flag-free compiled pattern to hypothesis'
``from_regex`` (which reads ``re.ASCII`` as "generate ASCII text only").

The oracle is deliberately written from scratch: it does not import anything from ``constrain``.
Its ECMA white-space set is derived from the Unicode database (category Zs) plus the code points
the ECMA-262 specification lists by name, not copied from ``constrain.regex.parser``.
"""

from __future__ import annotations

import re
import unicodedata

REGEX_CORPUS: list[tuple[str, str]] = [
    # -- dates and times ------------------------------------------------------------------
    ("iso_date", r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"),
    ("time_24h", r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?"),
    ("time_12h", r"(0?[1-9]|1[0-2]):[0-5]\d ?(AM|PM|am|pm)"),
    ("iso_datetime", r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})"),
    ("date_dmy_named", r"(?<day>0[1-9]|[12]\d|3[01])/(?<month>0[1-9]|1[0-2])/(?<year>(19|20)\d{2})"),
    # -- contact ----------------------------------------------------------------------------
    ("email", r"[a-zA-Z0-9._%+-]{1,20}@[a-zA-Z0-9-]{1,15}(\.[a-zA-Z0-9-]{1,10}){0,2}\.[a-zA-Z]{2,6}"),
    ("email_anchored", r"^\w+([.-]\w+){0,2}@\w+\.(com|org|net|fr)$"),
    ("phone_us", r"\(\d{3}\) \d{3}-\d{4}"),
    ("phone_e164", r"\+[1-9]\d{6,14}"),
    ("phone_fr", r"0[1-9]( \d{2}){4}"),
    ("phone_uk_mobile", r"(\+44 ?|0)7\d{3} ?\d{6}"),
    ("phone_de", r"\+49 \d{2,4} \d{4,8}"),
    ("phone_in", r"(\+91[- ]?)?[6-9]\d{9}"),
    # -- network and ids --------------------------------------------------------------------
    ("ipv4", r"((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"),
    ("ipv6_full", r"([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}"),
    ("ipv6_compressed", r"([0-9a-f]{1,4}:){1,4}(:[0-9a-f]{1,4}){1,3}"),
    ("mac_address", r"([0-9A-F]{2}:){5}[0-9A-F]{2}"),
    ("uuid", r"[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"),
    ("hex_color", r"#([0-9a-fA-F]{3}){1,2}"),
    ("identifier", r"[A-Za-z_]\w{0,30}"),
    ("semver", r"(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})(-[0-9A-Za-z-]{1,10}(\.[0-9A-Za-z-]{1,10}){0,2})?(\+[0-9A-Za-z-]{1,10})?"),
    ("url_simple", r"https?://([a-z0-9-]{1,20}\.){1,3}[a-z]{2,6}(/[A-Za-z0-9._~-]{0,15}){0,4}(\?[a-z]{1,8}=[A-Za-z0-9]{0,8})?"),
    ("unix_path", r"(/[a-z0-9_.-]{1,8}){1,4}/?"),
    ("isbn13", r"97[89]-\d{1,5}-\d{1,7}-\d{1,7}-\d"),
    # -- tabular and numbers ----------------------------------------------------------------
    ("csv_line", r"[^,\n\"]{0,10}(,[^,\n\"]{0,10}){2,4}"),
    ("csv_numbers", r"-?\d{1,5}(\.\d{1,3})?(,-?\d{1,5}(\.\d{1,3})?){0,5}"),
    ("zip_us", r"\d{5}(-\d{4})?"),
    ("postcode_uk", r"[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}"),
    ("postcode_ca", r"[A-Z]\d[A-Z] \d[A-Z]\d"),
    ("credit_card", r"\d{4}([ -]?\d{4}){3}"),
    ("money_usd", r"\$(0|[1-9]\d{0,2}(,\d{3}){0,3})(\.\d{2})?"),
    ("money_eur", r"\d{1,3}(\.\d{3}){0,2},\d{2} ?€"),
    ("float_sci", r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?"),
    # -- non-ASCII scripts ------------------------------------------------------------------
    ("hangul", r"[가-힣]+"),
    ("cyrillic_words", r"[А-Яа-яЁё]{1,12}( [А-Яа-яЁё]{1,12}){0,3}"),
    ("cjk", r"[\u4e00-\u9fff]{1,8}"),
    ("greek", r"[α-ωΑ-Ω]{2,10}"),
    ("emoji_escapes", r"(\u{1F600}|\u{1F680}|\u2764\uFE0F){1,3}"),
    ("emoji_literal", r"[😀-😏]{1,4} ?🚀"),
    ("surrogate_pair_escape", r"\uD83D\uDE00x?"),
    ("greetings_scripts", r"(こんにちは|안녕하세요|Привет|Γειά σου|hello)!?"),
    # -- alternation, repeats, groups ------------------------------------------------------
    ("color_word", r"(red|green|blue)"),
    ("color_list", r"(red|green|blue)(, (red|green|blue)){0,3}"),
    ("bounded_repeats", r"a{2,5}b{0,3}c{3}"),
    ("lazy_tag", r"<[a-z]{1,5}?>[^<>]{0,12}?</[a-z]{1,5}>"),
    ("lazy_mixed", r"\d{2,4}?-\w*?x"),
    ("non_capturing", r"(?:ab|cd)+(?:ef)?"),
    ("optional_empty", r"(ab)?"),
    # -- classes, escapes, dot, anchors -----------------------------------------------------
    ("negated_class", r"[^aeiou\s\d]{3,6}"),
    ("escapes_all", r"\d\D\w\W\s\S"),
    ("class_escapes_in_class", r"[\s\d]{1,4}[\S]{2}[\W_]"),
    ("control_escapes", r"\t[\x41-\x5A]\x2d\u00e9\cJ\/"),
    ("dot_bounded", r".{1,5}"),
    ("whitespace_words", r"\w+(\s+\w+){0,3}"),
    ("anchored_alt", r"^(yes|no)$|^maybe$"),
    ("hex_bytes_literal_backslash", r"(\\x[0-9a-f]{2}){1,4}"),
    ("json_like", r"\{\"id\": \d{1,6}, \"name\": \"[A-Za-z ]{1,20}\"\}"),
    ("markdown_heading", r"#{1,6} [^\n]{1,30}"),
    ("sql_select", r"SELECT [a-z_]+ FROM [a-z_]+( WHERE [a-z_]+ ?= ?\d+)?;"),
]


# --------------------------------------------------------------------------------------------
# The oracle: ECMA-262 pattern -> Python re pattern (compile with re.ASCII)
# --------------------------------------------------------------------------------------------

def _ecma_space_code_points() -> list[int]:
    """ECMA-262 WhiteSpace + LineTerminator, from the spec's list and Unicode category Zs."""
    named = [0x09, 0x0B, 0x0C, 0xFEFF]  # TAB, VT, FF, ZWNBSP
    line_terminators = [0x0A, 0x0D, 0x2028, 0x2029]  # LF, CR, LS, PS
    usp = [cp for cp in range(0x110000) if unicodedata.category(chr(cp)) == "Zs"]
    return sorted(set(named + line_terminators + usp))


def _to_ranges(points: list[int]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for p in sorted(set(points)):
        if out and p == out[-1][1] + 1:
            out[-1][1] = p
        else:
            out.append([p, p])
    return [(a, b) for a, b in out]


def _complement(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    nxt = 0
    for a, b in ranges:
        if a > nxt:
            out.append((nxt, a - 1))
        nxt = b + 1
    if nxt <= 0x10FFFF:
        out.append((nxt, 0x10FFFF))
    return out


def _cp(cp: int) -> str:
    """A code point as an unambiguous Python re escape (valid inside and outside classes)."""
    if cp < 0x100:
        return f"\\x{cp:02x}"
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def _body(ranges: list[tuple[int, int]]) -> str:
    return "".join(_cp(a) if a == b else f"{_cp(a)}-{_cp(b)}" for a, b in ranges)


ECMA_SPACE_RANGES = _to_ranges(_ecma_space_code_points())
ECMA_DIGIT_RANGES = [(ord("0"), ord("9"))]
ECMA_WORD_RANGES = _to_ranges([ord(c) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"])
# ECMA '.': anything but LF, CR, LS, PS.
_DOT = "[^\\x0a\\x0d\\u2028\\u2029]"
_HEX = set("0123456789abcdefABCDEF")


def _read_escape(p: str, i: int, in_class: bool) -> tuple[object, int]:
    """Parse the escape starting at ``p[i] == '\\\\'``; return (code point int or class letter, next index)."""
    e = p[i + 1]
    j = i + 2
    if e in "dDwWsS":
        return e, j
    if e == "0":
        # "\0" and up to two more octal digits: the legacy octal escape (Python re, ECMA Annex B)
        k = j
        while k < j + 2 and k < len(p) and p[k] in "01234567":
            k += 1
        return int("0" + p[j:k], 8), k
    simple = {"n": 0x0A, "r": 0x0D, "t": 0x09, "f": 0x0C, "v": 0x0B}
    if e in simple:
        return simple[e], j
    if e == "b" and in_class:
        return 0x08, j
    if e == "x":
        return int(p[j:j + 2], 16), j + 2
    if e == "c":
        return ord(p[j]) % 32, j + 1
    if e == "u":
        if p[j] == "{":
            end = p.index("}", j)
            return int(p[j + 1:end], 16), end + 1
        cp = int(p[j:j + 4], 16)
        j += 4
        if 0xD800 <= cp <= 0xDBFF and p[j:j + 2] == "\\u" and all(ch in _HEX for ch in p[j + 2:j + 6]):
            low = int(p[j + 2:j + 6], 16)
            if 0xDC00 <= low <= 0xDFFF:
                return 0x10000 + (cp - 0xD800) * 0x400 + (low - 0xDC00), j + 6
        return cp, j
    if e.isalnum():
        raise ValueError(f"oracle: unsupported escape \\{e} in {p!r}")
    return ord(e), j  # identity escape


def _normalize(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def _emit_class(ranges: list[tuple[int, int]]) -> str:
    """A Python class for ``ranges``, written as its complement when that is shorter.

    (hypothesis enumerates every code point of a positive range, so ``[\\x00-\\U0010ffff]``-like
    classes would take seconds to build; the negated form is cheap.)
    """
    size = sum(b - a + 1 for a, b in ranges)
    if size == 0x110000:
        return "(?s:.)"  # every code point ('[^]' is not valid Python)
    if size > 0x110000 // 2:
        return "[^" + _body(_complement(ranges)) + "]"
    if not ranges:
        return "(?:(?!))"  # the empty class: never matches (hypothesis chokes on an empty set)
    return "[" + _body(ranges) + "]"


_ESCAPE_RANGES = {
    "d": ECMA_DIGIT_RANGES, "D": _complement(ECMA_DIGIT_RANGES),
    "w": ECMA_WORD_RANGES, "W": _complement(ECMA_WORD_RANGES),
    "s": ECMA_SPACE_RANGES, "S": _complement(ECMA_SPACE_RANGES),
}


def _read_class(p: str, i: int) -> tuple[list[tuple[int, int]], int]:
    """Parse the class starting at ``p[i] == '['``; return its code point ranges and the next index."""
    i += 1
    negate = p[i:i + 1] == "^"
    if negate:
        i += 1
    if p[i:i + 1] == "]":
        raise ValueError(f"oracle: empty class [] / [^] not supported in {p!r}")
    ranges: list[tuple[int, int]] = []

    def item(k: int) -> tuple[object, int]:
        if k >= len(p):
            raise ValueError(f"oracle: unterminated class in {p!r}")
        if p[k] == "\\":
            return _read_escape(p, k, in_class=True)
        return ord(p[k]), k + 1

    while True:
        if i >= len(p):
            raise ValueError(f"oracle: unterminated class in {p!r}")
        if p[i] == "]":
            i += 1
            break
        val, i = item(i)
        if isinstance(val, str):
            ranges.extend(_ESCAPE_RANGES[val])
            continue
        if p[i:i + 1] == "-" and p[i + 1:i + 2] not in ("]", ""):
            hi, i = item(i + 1)
            if isinstance(hi, str) or hi < val:
                raise ValueError(f"oracle: bad class range in {p!r}")
            ranges.append((val, hi))
        else:
            ranges.append((val, val))
    ranges = _normalize(ranges)
    return (_complement(ranges) if negate else ranges), i


def python_oracle(pattern: str) -> str:
    """Rewrite an ECMA-262 pattern (as accepted by constrain) into an equivalent Python re pattern.

    Use the result with ``re.ASCII``. Every character class is parsed here into explicit code point
    ranges (``\\d \\D \\w \\W \\s \\S`` included, also inside classes) and written out as a
    Python class; ``.`` becomes ECMA's "anything but LF, CR, U+2028, U+2029", ``^``/``$`` become
    ``\\A``/``\\Z``, ``\\u{...}`` and ``\\uXXXX`` surrogate pairs become the code point, ``\\cX`` its
    control character, ``(?<name>`` becomes ``(?P<name>``, and ECMA's literal ``{,`` is escaped.
    Not handled (not used by the corpus or the fuzzer): ``[]``/``[^]``, class escapes as range
    bounds, backreferences and lookaround.
    """
    out: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            val, i = _read_escape(pattern, i, in_class=False)
            out.append(_emit_class(_ESCAPE_RANGES[val]) if isinstance(val, str) else _cp(val))
            continue
        if c == "[":
            ranges, i = _read_class(pattern, i)
            out.append(_emit_class(ranges))
            continue
        if c == ".":
            out.append(_DOT)
        elif c == "^":
            out.append("\\A")
        elif c == "$":
            out.append("\\Z")
        elif c == "(" and pattern.startswith("(?<", i) and pattern[i + 3:i + 4] not in ("=", "!"):
            out.append("(?P<")
            i += 3
            continue
        elif c == "{" and pattern[i + 1:i + 2] == ",":
            out.append("\\{")  # ECMA: '{,n}' is literal text; Python would read {0,n}
        else:
            out.append(c)
        i += 1
    return "".join(out)


def oracle_regex(pattern: str) -> re.Pattern[str]:
    """``re.compile(python_oracle(pattern), re.ASCII)``: the oracle for fullmatch/search checks."""
    return re.compile(python_oracle(pattern), re.ASCII)


def generator_regex(pattern: str) -> re.Pattern[str]:
    """The oracle compiled without flags, for ``hypothesis.strategies.from_regex``."""
    return re.compile(python_oracle(pattern))


CORPUS_IDS = [name for name, _ in REGEX_CORPUS]
