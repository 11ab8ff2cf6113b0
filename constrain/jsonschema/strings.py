"""JSON text pieces as regex trees: whitespace, strings (with escapes), literals, any value.

Everything here produces *JSON text* (bytes as they appear in the output). Strings are the subtle
part: a schema constrains the *decoded* string (``maxLength`` counts characters, ``pattern`` reads
the decoded text) while the output holds escapes. Two constructions cover it:

* :func:`string_of_length` — any string of ``m..n`` characters; a character is a raw code point
  (not ``"``, ``\\`` or a control character), a short escape (``\\n``, ``\\"``, …), a ``\\uXXXX``
  escape of a non-surrogate, or an escaped surrogate pair (one character).
* :func:`escaped_dfa` — turns a DFA over the *decoded* UTF-8 text (a pattern, a format) into one
  over JSON text: raw bytes pass through, and a decoded ``"``, ``\\``, ``/`` or control character may
  also be written as its escape, and a non-ASCII one as ``\\uXXXX`` (a surrogate pair beyond the
  BMP), as ``json.dumps`` writes it by default.
"""

from __future__ import annotations

import json
from typing import Any

from .. import deadline
from ..regex.automaton import NFA, ByteDFA, DfaMemo, byte_runs, deterministic_to_dfa, determinize
from ..regex.parser import Alt, Chars, Concat, Node, Repeat, normalize_ranges, parse

EMPTY = Concat(())
_RAW = Chars(normalize_ranges([(0x20, 0x21), (0x23, 0x5B), (0x5D, 0x10FFFF)]))
_HEX = "[0-9a-fA-F]"
_ESCAPE = parse(
    r'\\(?:["\\/bfnrt]|u(?:[0-9a-cA-Ce-fE-F]' + _HEX + "{3}|[dD][0-7]" + _HEX + "{2})"
    r"|u[dD][89abAB]" + _HEX + r"{2}\\u[dD][c-fC-F]" + _HEX + "{2})"
)
#: One decoded character of a JSON string, as JSON text.
STRING_CHAR = Alt((_RAW, _ESCAPE))
QUOTE = Chars(((0x22, 0x22),))
#: Any JSON string.
ANY_STRING = Concat((QUOTE, Repeat(STRING_CHAR, 0, None), QUOTE))
#: Any JSON number.
ANY_NUMBER = parse(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
#: Any JSON integer (plain digits; ``1.0`` and ``1e3`` are not generated for integers).
ANY_INTEGER = parse(r"-?(?:0|[1-9][0-9]*)")
LITERALS = parse("true|false|null")


def whitespace(policy: str) -> Node:
    """Optional whitespace between JSON tokens.

    ``"default"``: any run of JSON whitespace (space, tab, CR, LF) — the compiled constraint's
    runaway guard bounds the run length, so the automaton itself stays small. ``"compact"``: none.
    """
    if policy == "compact":
        return EMPTY
    if policy != "default":
        raise ValueError(f"whitespace policy must be 'default' or 'compact', not {policy!r}")
    return Repeat(Chars(((0x09, 0x0A), (0x0D, 0x0D), (0x20, 0x20))), 0, None)


def literal(text: str) -> Node:
    """The exact text."""
    return Concat(tuple(_CHAR[c] for c in text))


class _CharNodes(dict[str, Chars]):
    """One shared ``Chars`` node per character: literal text (every key, every ``const``) is most
    of a schema's tree nodes, and the walks over the trees (byte classes, size estimates,
    productivity) are memoized by node identity, so shared characters are looked at once."""

    def __missing__(self, c: str) -> Chars:
        node = Chars(((ord(c), ord(c)),))
        if len(self) < 4096:
            self[c] = node
        return node


_CHAR = _CharNodes()


def value_literal(value: Any) -> Node:
    """A JSON value as text, in ``json.dumps`` default and compact forms (ASCII-escaped or not).

    Numbers are compared by value in JSON Schema, so an integral float such as ``2.0`` may also be
    written ``2`` (within +-2**53, where both read back equal). Not the other way: ``2.0`` is no
    integer to draft-4 validators. Inside arrays and objects each separator may be written either way.
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        texts = {json.dumps(value), json.dumps(value, ensure_ascii=False)}
        options = tuple(literal(t) for t in sorted(texts))
        return options[0] if len(options) == 1 else Alt(options)
    if isinstance(value, (int, float)):
        texts = {json.dumps(value)}
        if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
            texts.add(str(int(value)))
        options = tuple(literal(t) for t in sorted(texts))
        return options[0] if len(options) == 1 else Alt(options)
    comma, colon = Alt((literal(", "), literal(","))), Alt((literal(": "), literal(":")))
    parts: list[Node] = []
    if isinstance(value, list):
        for i, item in enumerate(value):
            parts.extend(([comma] if i else []) + [value_literal(item)])
        return Concat((literal("["), *parts, literal("]")))
    if isinstance(value, dict):
        for i, (key, item) in enumerate(value.items()):
            parts.extend(([comma] if i else []) + [value_literal(str(key)), colon, value_literal(item)])
        return Concat((literal("{"), *parts, literal("}")))
    raise TypeError(f"not a JSON value: {value!r}")


def string_of_length(min_length: int, max_length: int | None) -> Node:
    """Any JSON string of ``min_length..max_length`` characters."""
    return Concat((QUOTE, Repeat(STRING_CHAR, min_length, max_length), QUOTE))


_SHORT_ESCAPES = {0x22: b'"', 0x5C: b"\\", 0x2F: b"/", 0x08: b"b", 0x0C: b"f", 0x0A: b"n", 0x0D: b"r", 0x09: b"t"}


def escaped(content: ByteDFA) -> ByteDFA:
    """:func:`escaped_dfa`, remembered per content automaton across schemas (formats and common
    patterns recur); the result is read-only."""
    key = (content.start, content.table.shape, content.table.tobytes(), content.accepting.tobytes(),
           content.byte_class.tobytes())
    dfa = _ESCAPED.get(key)
    if dfa is None:
        dfa = escaped_dfa(content)
        _ESCAPED.put(key, dfa, dfa)
    return dfa


_ESCAPED = DfaMemo(max_entries=8_000_000)


def escaped_dfa(content: ByteDFA) -> ByteDFA:
    """JSON string text (with the quotes) whose decoded content ``content`` accepts.

    Every character may be written raw (where JSON allows it) or escaped: the short escapes,
    ``\\u00XX`` for controls, DEL, quote and backslash, and ``\\uXXXX`` (a surrogate pair beyond the
    BMP) for every non-ASCII character, as ``json.dumps`` writes them by default.
    """
    nfa = NFA()
    start = nfa.new_state()
    accept = nfa.new_state()
    states = [nfa.new_state() for _ in range(content.num_states)]
    nfa.edges[start].append((0x22, 0x22, states[content.start]))
    # Per content byte class, once: the raw byte ranges JSON allows inside a string, and the
    # ASCII bytes that may (or must) be escaped.
    raw_of: list[list[tuple[int, int]]] = []
    escapable_of: list[list[int]] = []
    runs = byte_runs(content.byte_class)
    for c in range(content.num_classes):
        raw: list[tuple[int, int]] = []
        escapable: list[int] = []
        for blo, bhi in runs.get(c, ()):
            raw.extend(_split_allowed_raw(blo, bhi))
            escapable.extend(b for b in range(blo, min(bhi, 0x7F) + 1) if b in _SHORT_ESCAPES or b < 0x20 or b == 0x7F)
        raw_of.append(raw)
        escapable_of.append(escapable)
    rows = content.table.tolist()
    non_ascii = _NonAscii(content, rows)
    hex_memo: dict[tuple[Any, ...], int] = {}
    # States after a backslash, shared by the content states whose escapes lead to the same
    # targets (as in a run of states that all loop on the same content).
    backslash_of: dict[tuple[Any, ...], int] = {}
    for s, row in enumerate(rows):
        if not s & 255:
            deadline.check()
        src = states[s]
        escaped: dict[int, int] = {}  # ASCII byte that may (or must) be escaped -> its target
        edges = nfa.edges[src]
        for c, t in enumerate(row):
            if t < 0:
                continue
            dst = states[t]
            edges.extend((rlo, rhi, dst) for rlo, rhi in raw_of[c])
            for b in escapable_of[c]:
                escaped[b] = dst
        wide = tuple((lo, hi, states[t]) for lo, hi, t in non_ascii.targets(s))
        if escaped or wide:
            key = (tuple(sorted(escaped.items())), wide)
            if key not in backslash_of:
                backslash_of[key] = _escape_paths(nfa, key[0], wide, hex_memo)
            nfa.edges[src].append((0x5C, 0x5C, backslash_of[key]))
        if content.accepting[s]:
            nfa.edges[src].append((0x22, 0x22, accept))
    nfa.start, nfa.accept = start, accept
    # This NFA is deterministic (no subset construction needed), and content states that a
    # minimal ``content`` tells apart stay apart once escaped; only the escape-path states
    # might merge, so no refinement pass either (Hopcroft on a long length-counting chain
    # dominated compile time).
    return deterministic_to_dfa(nfa, refine=False)


def _split_allowed_raw(lo: int, hi: int) -> list[tuple[int, int]]:
    out = []
    for a, b in ((0x20, 0x21), (0x23, 0x5B), (0x5D, 0xFF)):
        x, y = max(lo, a), min(hi, b)
        if x <= y:
            out.append((x, y))
    return out


#: Code points each UTF-8 length encodes (surrogates have no encoding).
_UTF8_SPANS = {1: ((0x80, 0x7FF),), 2: ((0x800, 0xD7FF), (0xE000, 0xFFFF)), 3: ((0x10000, 0x10FFFF),)}


class _NonAscii:
    """The non-ASCII characters a content DFA reads from each state, as code-point ranges with
    their target state (read off its UTF-8 transitions)."""

    def __init__(self, content: ByteDFA, rows: list[list[int]]) -> None:
        self.rows = rows
        self.class_of = content.byte_class[:256].tolist()
        # Runs of continuation bytes (0x80..0xBF) in one class.
        self.cont_runs: list[tuple[int, int, int]] = []
        lo = 0x80
        for b in range(0x81, 0xC1):
            if b == 0xC0 or self.class_of[b] != self.class_of[lo]:
                self.cont_runs.append((lo - 0x80, b - 1 - 0x80, self.class_of[lo]))
                lo = b
        # Runs of lead bytes of one length in one class.
        self.lead_runs: list[tuple[int, int, int, int]] = []  # (first, last, class, continuation bytes)
        for lead in range(0xC2, 0xF5):
            k = 1 if lead < 0xE0 else 2 if lead < 0xF0 else 3
            cls = self.class_of[lead]
            last = self.lead_runs[-1] if self.lead_runs else None
            if last is not None and last[1] == lead - 1 and last[2] == cls and last[3] == k:
                self.lead_runs[-1] = (last[0], lead, cls, k)
            else:
                self.lead_runs.append((lead, lead, cls, k))
        self._tails: dict[tuple[int, int], list[tuple[int, int, int]]] = {}

    def _tail(self, state: int, k: int) -> list[tuple[int, int, int]]:
        """(first, last, target) over the values of ``k`` continuation bytes (6 bits each)."""
        if k == 0:
            return [(0, 0, state)]
        got = self._tails.get((state, k))
        if got is None:
            got = []
            width = 1 << (6 * (k - 1))
            row = self.rows[state]
            for vlo, vhi, cls in self.cont_runs:
                t = row[cls]
                if t < 0:
                    continue
                sub = self._tail(t, k - 1)
                if len(sub) == 1 and sub[0][0] == 0 and sub[0][1] == width - 1:
                    got.append((vlo * width, vhi * width + width - 1, sub[0][2]))
                else:
                    got.extend((v * width + a, v * width + b, d) for v in range(vlo, vhi + 1) for a, b, d in sub)
            got = _merged(got)
            self._tails[(state, k)] = got
        return got

    def targets(self, state: int) -> list[tuple[int, int, int]]:
        out: list[tuple[int, int, int]] = []
        row = self.rows[state]
        for first, last, cls, k in self.lead_runs:
            t = row[cls]
            if t < 0:
                continue
            tail = self._tail(t, k)
            width = 1 << (6 * k)
            mask = (0x1F, 0x0F, 0x07)[k - 1]
            if len(tail) == 1 and tail[0][0] == 0 and tail[0][1] == width - 1:
                # Every continuation leads one way: the run covers one range of code points.
                pieces = [((first & mask) * width, (last & mask) * width + width - 1, tail[0][2])]
            else:
                pieces = [((lead & mask) * width + vlo, (lead & mask) * width + vhi, d)
                          for lead in range(first, last + 1) for vlo, vhi, d in tail]
            for plo, phi, d in pieces:
                for span_lo, span_hi in _UTF8_SPANS[k]:  # overlong forms and surrogates are no characters
                    lo, hi = max(plo, span_lo), min(phi, span_hi)
                    if lo <= hi:
                        out.append((lo, hi, d))
        return _merged(out)


def _merged(intervals: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Sorted, with adjacent intervals of one target joined."""
    out: list[tuple[int, int, int]] = []
    for lo, hi, d in sorted(intervals):
        if out and out[-1][2] == d and out[-1][1] + 1 == lo:
            out[-1] = (out[-1][0], hi, d)
        else:
            out.append((lo, hi, d))
    return out


def _escape_paths(nfa: NFA, ascii_targets: tuple[tuple[int, int], ...], wide: tuple[tuple[int, int, int], ...],
                  memo: dict[tuple[Any, ...], int]) -> int:
    """The state after a backslash: short escapes, and ``uXXXX`` (either hex case) of the ASCII
    bytes that need it and of every non-ASCII character in ``wide`` (code-point ranges, their
    targets), characters beyond the BMP as a surrogate pair.

    The hex digits are read through a trie over the 16-bit values whose sub-tries are shared
    (``memo``) wherever they lead to the same targets, so a content state whose non-ASCII
    characters all go one way costs a handful of states.
    """
    backslash = nfa.new_state()
    units: list[tuple[int, int, int]] = []  # (first, last 16-bit value, target) after "\u"
    for byte, dst in ascii_targets:
        short = _SHORT_ESCAPES.get(byte)
        if short is not None:
            nfa.edges[backslash].append((short[0], short[0], dst))
        if byte < 0x20 or byte in (0x22, 0x5C, 0x7F):  # json.dumps writes DEL as \\u007f
            units.append((byte, byte, dst))
    astral: list[tuple[int, int, int]] = []
    for lo, hi, dst in wide:
        if hi <= 0xFFFF:
            units.append((lo, hi, dst))
        else:
            if lo <= 0xFFFF:
                units.append((lo, 0xFFFF, dst))
                lo = 0x10000
            astral.append((lo, hi, dst))
    units.extend(_high_surrogates(nfa, astral, memo))
    if units:
        after_u = _hex_trie(nfa, tuple(_merged(units)), 4, memo)
        nfa.edges[backslash].append((ord("u"), ord("u"), after_u))
    return backslash


def _high_surrogates(nfa: NFA, astral: list[tuple[int, int, int]], memo: dict[tuple[Any, ...], int]) -> list[tuple[int, int, int]]:
    """Code points beyond the BMP as (high surrogate range, state after it): that state reads
    ``\\u`` and the low surrogate."""
    pieces: list[tuple[int, int, int, int, int]] = []  # (high lo, high hi, low lo, low hi, target)
    for lo, hi, dst in astral:
        a, b = lo - 0x10000, hi - 0x10000
        ha, hb = a >> 10, b >> 10
        if ha == hb:
            pieces.append((ha, ha, a & 0x3FF, b & 0x3FF, dst))
            continue
        pieces.append((ha, ha, a & 0x3FF, 0x3FF, dst))
        if hb > ha + 1:
            pieces.append((ha + 1, hb - 1, 0, 0x3FF, dst))
        pieces.append((hb, hb, 0, b & 0x3FF, dst))
    if not pieces:
        return []
    # Elementary ranges of high surrogates, each with the low surrogates the pieces give it.
    cuts = sorted({p[0] for p in pieces} | {p[1] + 1 for p in pieces})
    out: list[tuple[int, int, int]] = []
    for first, end in zip(cuts, cuts[1:]):
        lows = _merged([(0xDC00 + llo, 0xDC00 + lhi, d) for hlo, hhi, llo, lhi, d in pieces if hlo <= first <= hhi])
        if not lows:
            continue
        key = ("pair", tuple(lows))
        after_high = memo.get(key)
        if after_high is None:
            after_high = memo[key] = nfa.new_state()
            slash = nfa.new_state()
            nfa.edges[after_high].append((0x5C, 0x5C, slash))
            nfa.edges[slash].append((ord("u"), ord("u"), _hex_trie(nfa, tuple(lows), 4, memo)))
        out.append((0xD800 + first, 0xD800 + end - 1, after_high))
    return _merged(out)


def _hex_digit_bytes(first: int, last: int) -> list[tuple[int, int]]:
    """Byte ranges of the hex digits ``first..last`` (values 0..15), in both cases."""
    out = []
    if first <= 9:
        out.append((0x30 + first, 0x30 + min(last, 9)))
    if last >= 10:
        lo = max(first, 10) - 10
        out.extend(((0x61 + lo, 0x61 + last - 10), (0x41 + lo, 0x41 + last - 10)))
    return out


def _hex_trie(nfa: NFA, intervals: tuple[tuple[int, int, int], ...], level: int, memo: dict[tuple[Any, ...], int]) -> int:
    """A state reading ``level`` hex digits (either case) whose value falls in one of the
    ``intervals`` (sorted, disjoint, relative to ``0..16**level - 1``) to that interval's target."""
    key = (level, intervals)
    state = memo.get(key)
    if state is not None:
        return state
    state = memo[key] = nfa.new_state()
    span = 16 ** (level - 1)
    partial: dict[int, list[tuple[int, int, int]]] = {}  # digit -> what the next digits must spell
    whole: list[tuple[int, int, int]] = []  # (first digit, last digit, target): any digits after
    for lo, hi, d in intervals:
        first, last = lo // span, hi // span
        if first == last and (lo % span or (hi + 1) % span):
            partial.setdefault(first, []).append((lo - first * span, hi - first * span, d))
            continue
        if lo % span:
            partial.setdefault(first, []).append((lo - first * span, span - 1, d))
            first += 1
        if (hi + 1) % span:
            partial.setdefault(last, []).append((0, hi - last * span, d))
            last -= 1
        if first <= last:
            whole.append((first, last, d))
    edges = nfa.edges[state]
    for first, last, d in whole:
        child = d if level == 1 else _hex_trie(nfa, ((0, span - 1, d),), level - 1, memo)
        edges.extend((a, b, child) for a, b in _hex_digit_bytes(first, last))
    for digit, sub in partial.items():
        child = _hex_trie(nfa, tuple(sub), level - 1, memo)  # level > 1: one digit is never partial
        edges.extend((a, b, child) for a, b in _hex_digit_bytes(digit, digit))
    return state


_CHAR_DFA: ByteDFA | None = None


def char_dfa() -> ByteDFA:
    """Minimal DFA of exactly one JSON string character (raw UTF-8 or an escape), built once."""
    global _CHAR_DFA
    if _CHAR_DFA is None:
        from ..regex.automaton import build_nfa

        _CHAR_DFA = determinize(build_nfa(STRING_CHAR))
    return _CHAR_DFA
