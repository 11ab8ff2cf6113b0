"""Regex text -> syntax tree, with ECMA-262 semantics (the dialect of JSON Schema's ``pattern``).

The tree is built from a handful of node classes (:class:`Chars`, :class:`Concat`, :class:`Alt`,
:class:`Repeat`, :class:`Anchor`). Characters are kept as sorted, disjoint ranges of Unicode code
points; the automaton builder turns them into UTF-8 byte sequences.

Dialect notes (documented in the README):

* ``\\d`` is ``[0-9]``, ``\\w`` is ``[A-Za-z0-9_]``, ``\\s`` is ECMA-262 white space plus line
  terminators (it includes non-ASCII spaces such as U+00A0 and U+3000).
* ``.`` matches any code point except the line terminators ``\\n``, ``\\r``, U+2028 and U+2029.
* Lazy quantifiers (``*?``, ``+?``, ``??``, ``{m,n}?``) match the same language as greedy ones.
* Named groups may be written ``(?<name>...)`` or ``(?P<name>...)``.
* A ``{`` that does not start a valid quantifier is a literal, as in ECMA-262 Annex B and Python.
* Backreferences, lookaround, word boundaries, inline flags and ``\\p{...}`` properties raise
  :class:`~constrain.errors.UnsupportedRegexError` naming the construct and its position.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ..errors import InvalidRegexError, UnsupportedRegexError

MAX_CODE_POINT = 0x10FFFF

# Ranges are tuples of (low, high) code points, inclusive, sorted and disjoint.
Ranges = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Chars:
    """One character from a set of code point ranges."""

    ranges: Ranges


@dataclass(frozen=True)
class Concat:
    items: tuple["Node", ...]


@dataclass(frozen=True)
class Alt:
    options: tuple["Node", ...]


@dataclass(frozen=True)
class Repeat:
    item: "Node"
    min: int
    max: int | None  # None: unbounded


@dataclass(frozen=True)
class Anchor:
    """``^`` (kind "start") or ``$`` (kind "end"); position is its offset in the pattern."""

    kind: str
    position: int


Node = Chars | Concat | Alt | Repeat | Anchor
EMPTY = Concat(())


def normalize_ranges(ranges: list[tuple[int, int]] | tuple[tuple[int, int], ...]) -> Ranges:
    """Sort and merge overlapping or adjacent ranges."""
    merged: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return tuple((lo, hi) for lo, hi in merged)


def negate_ranges(ranges: Ranges) -> Ranges:
    """All code points not in ``ranges``."""
    out = []
    nxt = 0
    for lo, hi in ranges:
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= MAX_CODE_POINT:
        out.append((nxt, MAX_CODE_POINT))
    return tuple(out)


DIGIT: Ranges = ((0x30, 0x39),)
WORD: Ranges = normalize_ranges([(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)])
# ECMA-262 WhiteSpace and LineTerminator code points.
SPACE: Ranges = normalize_ranges(
    [(0x09, 0x0D), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
     (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000), (0xFEFF, 0xFEFF)]
)
LINE_TERMINATORS: Ranges = ((0x0A, 0x0A), (0x0D, 0x0D), (0x2028, 0x2029))
DOT: Ranges = negate_ranges(LINE_TERMINATORS)
ANY: Ranges = ((0, MAX_CODE_POINT),)

CLASS_ESCAPES: dict[str, Ranges] = {
    "d": DIGIT, "D": negate_ranges(DIGIT),
    "w": WORD, "W": negate_ranges(WORD),
    "s": SPACE, "S": negate_ranges(SPACE),
}
CONTROL_ESCAPES = {"n": 0x0A, "r": 0x0D, "t": 0x09, "f": 0x0C, "v": 0x0B, "0": 0x00}
SYNTAX_CHARS = set("^$\\.*+?()[]{}|/")


class _Parser:
    """Recursive-descent parser over the pattern text."""

    def __init__(self, pattern: str, portable: bool = False, wide: bool = False) -> None:
        self.pattern = pattern
        self.pos = 0
        self.group_depth = 0
        self.wide = wide
        self.class_escapes = wide_class_escapes() if wide else portable_class_escapes() if portable else CLASS_ESCAPES

    # -- helpers ---------------------------------------------------------------------------
    def error(self, message: str, position: int | None = None) -> InvalidRegexError:
        return InvalidRegexError(message, self.pattern, self.pos if position is None else position)

    def unsupported(self, construct: str, position: int) -> UnsupportedRegexError:
        return UnsupportedRegexError(
            f"unsupported regex construct: {construct} (a finite automaton cannot enforce it)",
            self.pattern,
            position,
        )

    def peek(self, offset: int = 0) -> str:
        i = self.pos + offset
        return self.pattern[i] if i < len(self.pattern) else ""

    def at_end(self) -> bool:
        return self.pos >= len(self.pattern)

    # -- grammar ---------------------------------------------------------------------------
    def parse(self) -> Node:
        node = self.parse_alternation()
        if not self.at_end():
            # Only an unbalanced ')' can stop the top-level alternation early.
            raise self.error("unbalanced ')'")
        return node

    def parse_alternation(self) -> Node:
        options = [self.parse_concat()]
        while self.peek() == "|":
            self.pos += 1
            options.append(self.parse_concat())
        return options[0] if len(options) == 1 else Alt(tuple(options))

    def parse_concat(self) -> Node:
        items: list[Node] = []
        while not self.at_end() and self.peek() not in "|)":
            atom = self.parse_atom()
            atom = self.parse_quantifiers(atom)
            items.append(atom)
        if len(items) == 1:
            return items[0]
        return Concat(tuple(items))

    def parse_quantifiers(self, atom: Node) -> Node:
        quantified = False
        while True:
            start = self.pos
            c = self.peek()
            if c in ("*", "+", "?"):
                self.pos += 1
                lo, hi = {"*": (0, None), "+": (1, None), "?": (0, 1)}[c]
            elif c == "{":
                bounds = self.try_parse_braces()
                if bounds is None:
                    return atom  # a literal '{', handled by the next parse_atom
                lo, hi = bounds
            else:
                return atom
            if isinstance(atom, Anchor):
                raise self.error("nothing to repeat (quantifier after an anchor)", start)
            if quantified:
                raise self.error("multiple repeat: a quantifier follows another quantifier", start)
            if self.peek() == "?":  # lazy: same language as greedy
                self.pos += 1
            elif self.peek() == "+":
                raise self.unsupported("possessive quantifier", self.pos)
            atom = Repeat(atom, lo, hi)
            quantified = True

    def try_parse_braces(self) -> tuple[int, int | None] | None:
        """Parse ``{m}``, ``{m,}`` or ``{m,n}`` at the cursor; None (cursor unmoved) if it is a literal."""
        text = self.pattern
        i = self.pos + 1
        j = i
        while j < len(text) and text[j].isdigit() and text[j].isascii():
            j += 1
        if j == i:
            if self.wide and text.startswith(",", i):
                # "{,n}" is literal text in ECMA-262 but a quantifier in Python: no wide reading.
                raise self.unsupported("'{,n}' (a quantifier in Python, literal text in ECMA-262)", self.pos)
            return None
        lo = int(text[i:j])
        hi: int | None = lo
        if j < len(text) and text[j] == ",":
            k = j + 1
            while k < len(text) and text[k].isdigit() and text[k].isascii():
                k += 1
            hi = int(text[j + 1:k]) if k > j + 1 else None
            j = k
        if j >= len(text) or text[j] != "}":
            return None
        if hi is not None and hi < lo:
            raise self.error(f"numbers out of order in {{{lo},{hi}}} quantifier", self.pos)
        self.pos = j + 1
        return lo, hi

    def parse_atom(self) -> Node:
        start = self.pos
        c = self.peek()
        if c == "(":
            return self.parse_group()
        if c == "[":
            return Chars(self.parse_class())
        if c == ".":
            self.pos += 1
            # Wide: Python's "." excludes only the line feed.
            return Chars(negate_ranges(((0x0A, 0x0A),)) if self.wide else DOT)
        if c == "^":
            self.pos += 1
            return Anchor("start", start)
        if c == "$":
            self.pos += 1
            if self.wide:  # Python's "$" also matches before a final line feed
                return Concat((Repeat(Chars(((0x0A, 0x0A),)), 0, 1), Anchor("end", start)))
            return Anchor("end", start)
        if c == "\\":
            return self.parse_escape_atom()
        if c in "*+?":
            raise self.error(f"nothing to repeat before {c!r}")
        if c == "{" and self.try_parse_braces_peek():
            raise self.error("nothing to repeat before '{'")
        self.pos += 1
        return Chars(((ord(c), ord(c)),))

    def try_parse_braces_peek(self) -> bool:
        saved = self.pos
        try:
            return self.try_parse_braces() is not None
        finally:
            self.pos = saved

    def parse_group(self) -> Node:
        start = self.pos
        self.pos += 1  # '('
        if self.peek() == "?":
            nxt = self.peek(1)
            if nxt == ":":
                self.pos += 2
            elif nxt in ("=", "!"):
                raise self.unsupported("lookahead assertion", start)
            elif nxt == "<" and self.peek(2) in ("=", "!"):
                raise self.unsupported("lookbehind assertion", start)
            elif nxt == "<" or (nxt == "P" and self.peek(2) == "<"):
                self.pos += 3 if nxt == "P" else 2
                name_start = self.pos
                while not self.at_end() and self.peek() != ">":
                    self.pos += 1
                name = self.pattern[name_start:self.pos]
                if self.at_end() or not name or not (name[0].isalpha() or name[0] == "_") or not all(
                    ch.isalnum() or ch == "_" for ch in name
                ):
                    raise self.error("invalid group name", name_start)
                self.pos += 1  # '>'
            elif nxt == "P" and self.peek(2) == "=":
                raise self.unsupported("named backreference", start)
            else:
                raise self.unsupported("inline flags or extension group '(?'", start)
        self.group_depth += 1
        inner = self.parse_alternation()
        self.group_depth -= 1
        if self.peek() != ")":
            raise self.error("missing ')' to close the group opened", start)
        self.pos += 1
        # A group is quantifiable even when it holds only an anchor: '(^)*b' is valid ECMA-262.
        return Concat((inner,)) if isinstance(inner, Anchor) else inner

    def parse_escape_atom(self) -> Node:
        start = self.pos
        self.pos += 1  # '\\'
        c = self.peek()
        if c == "":
            raise self.error("pattern ends with a lone backslash", start)
        if c in ("b", "B"):
            raise self.unsupported(f"word boundary '\\{c}'", start)
        if c.isdigit() and c != "0":
            raise self.unsupported(f"backreference '\\{c}'", start)
        if c == "k" and self.peek(1) == "<":
            raise self.unsupported("named backreference '\\k<...>'", start)
        if c in "AzZG":
            raise self.unsupported(f"anchor '\\{c}'", start)
        return Chars(self.parse_escape_body(start, in_class=False))

    def parse_escape_body(self, start: int, in_class: bool) -> Ranges:
        """Parse what follows a backslash (cursor on the char after it); return its ranges."""
        c = self.peek()
        self.pos += 1
        if c in CLASS_ESCAPES:
            return self.class_escapes[c]
        if c in CONTROL_ESCAPES:
            if c == "0" and self.peek() and self.peek() in "01234567":  # peek() is "" at the end
                # "\0" and octal digits: a legacy octal escape. Python's re and ECMA-262 Annex B
                # read it the same way ("\0" and up to two more octal digits, value < 0o100),
                # so it is accepted; only ECMA's Unicode mode rejects it. Before "8" or "9" "\0"
                # is NUL and that digit in every reading.
                digits = ""
                while len(digits) < 2 and self.peek() and self.peek() in "01234567":
                    digits += self.peek()
                    self.pos += 1
                cp = int(digits, 8)
                return ((cp, cp),)
            cp = CONTROL_ESCAPES[c]
            return ((cp, cp),)
        if c == "b" and in_class:
            return ((0x08, 0x08),)
        if c == "x":
            cp = self.parse_hex(2, start)
            return ((cp, cp),)
        if c == "u":
            if self.peek() == "{":
                end = self.pattern.find("}", self.pos)
                digits = self.pattern[self.pos + 1:end] if end > 0 else ""
                if not digits or any(ch not in "0123456789abcdefABCDEF" for ch in digits):
                    raise self.error("invalid \\u{...} escape", start)
                cp = int(digits, 16)
                if cp > MAX_CODE_POINT:
                    raise self.error("code point out of range in \\u{...} escape", start)
                self.pos = end + 1
                return ((cp, cp),)
            cp = self.parse_hex(4, start)
            # A surrogate pair written as two \\u escapes denotes one astral code point.
            if 0xD800 <= cp <= 0xDBFF and self.pattern.startswith("\\u", self.pos):
                saved = self.pos
                self.pos += 2
                try:
                    low = self.parse_hex(4, saved)
                except InvalidRegexError:
                    low = -1
                if 0xDC00 <= low <= 0xDFFF:
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00)
                else:
                    self.pos = saved
            return ((cp, cp),)
        if c == "c":
            letter = self.peek()
            if letter.isascii() and letter.isalpha():
                self.pos += 1
                cp = ord(letter) % 32
                return ((cp, cp),)
            raise self.error("invalid control escape '\\c'", start)
        if c in ("p", "P"):
            raise self.unsupported(f"Unicode property escape '\\{c}{{...}}'", start)
        if c.isalnum():
            raise self.error(f"unknown escape '\\{c}'", start)
        # Identity escape of punctuation and other non-alphanumerics.
        return ((ord(c), ord(c)),)

    def parse_hex(self, n: int, start: int) -> int:
        digits = self.pattern[self.pos:self.pos + n]
        if len(digits) != n or any(ch not in "0123456789abcdefABCDEF" for ch in digits):
            raise self.error(f"invalid hexadecimal escape (expected {n} hex digits)", start)
        self.pos += n
        return int(digits, 16)

    def parse_class(self) -> Ranges:
        start = self.pos
        self.pos += 1  # '['
        negated = False
        if self.peek() == "^":
            negated = True
            self.pos += 1
        saved_escapes = self.class_escapes
        if negated and self.wide:
            # The complement of the narrowest reading is the widest one.
            self.class_escapes = portable_class_escapes()
        try:
            ranges = self._class_members(start)
        finally:
            self.class_escapes = saved_escapes
        result = normalize_ranges(ranges)
        return negate_ranges(result) if negated else result

    def _class_members(self, start: int) -> list[tuple[int, int]]:
        ranges: list[tuple[int, int]] = []
        first = True
        while True:
            if self.at_end():
                raise self.error("missing ']' to close the character class opened", start)
            c = self.peek()
            if c == "]" and not first:
                self.pos += 1
                break
            if c == "]" and first:
                # ECMA-262: '[]' is the empty class and '[^]' matches any character.
                self.pos += 1
                break
            first = False
            lo_ranges, lo_single = self.parse_class_atom()
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                dash = self.pos
                self.pos += 1
                hi_ranges, hi_single = self.parse_class_atom()
                if lo_single is None or hi_single is None:
                    raise self.error("a class escape such as \\d cannot bound a range", dash)
                if hi_single < lo_single:
                    raise self.error(
                        f"range out of order in character class ({chr(lo_single)!r}-{chr(hi_single)!r})", dash
                    )
                ranges.append((lo_single, hi_single))
            else:
                ranges.extend(lo_ranges)
        return ranges

    def parse_class_atom(self) -> tuple[Ranges, int | None]:
        """One class member: returns its ranges and, if it is a single code point, that point."""
        start = self.pos
        c = self.peek()
        if c == "\\":
            self.pos += 1
            if self.at_end():
                raise self.error("pattern ends with a lone backslash", start)
            nxt = self.peek()
            if nxt.isdigit() and nxt != "0":
                raise self.unsupported(f"backreference or octal escape '\\{nxt}' in a class", start)
            ranges = self.parse_escape_body(start, in_class=True)
            if nxt in CLASS_ESCAPES:
                return ranges, None
            return ranges, ranges[0][0]
        if c == "[" and self.peek(1) == ":":
            end = self.pattern.find(":]", self.pos + 2)
            if end > 0:
                raise self.unsupported("POSIX character class '[:...:]'", start)
        self.pos += 1
        return ((ord(c), ord(c)),), ord(c)


def parse(pattern: str, *, portable: bool = False, wide: bool = False) -> Node:
    """Parse ``pattern`` into a syntax tree; raises InvalidRegexError / UnsupportedRegexError.

    ``portable=True`` reads the class escapes so that every match is a match under both ECMA-262
    and Python's ``re`` (see :func:`portable_class_escapes`). ``wide=True`` is the opposite: every
    string that matches under either dialect matches (see :func:`wide_class_escapes`); it is the
    reading to subtract when a pattern is negated (JSON Schema ``not: {pattern}``).
    """
    if not isinstance(pattern, str):
        raise InvalidRegexError(f"a regex must be a string, not {type(pattern).__name__}", repr(pattern))
    return _Parser(pattern, portable, wide).parse()


@functools.lru_cache(maxsize=1)
def portable_class_escapes() -> dict[str, Ranges]:
    """Class escapes read as the intersection of their ECMA-262 and Python ``re`` meanings.

    JSON Schema's ``pattern`` is ECMA-262, but validators written in Python (the ``jsonschema``
    package) run Python's ``re``, where ``\\w``, ``\\d`` and ``\\s`` are Unicode-aware. A string
    matched through these sets satisfies both readings: ``\\d``/``\\w`` stay ASCII, ``\\s`` drops
    U+FEFF (not Python white space), and ``\\D``/``\\W``/``\\S`` leave out every character that
    either dialect counts as a digit / word character / space. Built once, in about 50 ms (the
    runs of each class in a string of every code point but the surrogates).
    """
    import re

    import numpy as np

    gap = 0xE000 - 0xD800  # surrogates cannot be in a str; text index i >= 0xD800 is code point i + gap
    points = np.concatenate([np.arange(0, 0xD800), np.arange(0xE000, MAX_CODE_POINT + 1)])
    text = points.astype("<u4").tobytes().decode("utf-32-le")

    def python_ranges(regex: str) -> Ranges:
        ranges = []
        for m in re.finditer(regex + "+", text):
            start, end = m.start(), m.end() - 1
            if start < 0xD800 <= end:  # a run across the surrogate gap: two ranges
                ranges += [(start, 0xD7FF), (0xE000, end + gap)]
            else:
                ranges.append((start + gap if start >= 0xD800 else start, end + gap if end >= 0xD800 else end))
        return tuple(ranges)

    py_digit, py_word, py_space = python_ranges(r"\d"), python_ranges(r"\w"), python_ranges(r"\s")
    space_both = _intersect_ranges(SPACE, py_space)
    return {
        "d": DIGIT,
        "w": WORD,
        "s": space_both,
        "D": negate_ranges(normalize_ranges(list(DIGIT) + list(py_digit))),
        "W": negate_ranges(normalize_ranges(list(WORD) + list(py_word))),
        "S": negate_ranges(normalize_ranges(list(SPACE) + list(py_space))),
    }


@functools.lru_cache(maxsize=1)
def wide_class_escapes() -> dict[str, Ranges]:
    """Class escapes read as the union of their ECMA-262 and Python ``re`` meanings.

    The counterpart of :func:`portable_class_escapes`: a string that matches under either
    dialect matches this reading. Inside a negated class the portable reading is used instead,
    so the negation is wide too.
    """
    narrow = portable_class_escapes()
    return {
        "d": negate_ranges(narrow["D"]),
        "w": negate_ranges(narrow["W"]),
        "s": negate_ranges(narrow["S"]),
        "D": negate_ranges(narrow["d"]),
        "W": negate_ranges(narrow["w"]),
        "S": negate_ranges(narrow["s"]),
    }


def _intersect_ranges(a: Ranges, b: Ranges) -> Ranges:
    out = []
    for lo, hi in a:
        for blo, bhi in b:
            x, y = max(lo, blo), min(hi, bhi)
            if x <= y:
                out.append((x, y))
    return normalize_ranges(out)
