"""JSON text pieces as regex trees: whitespace, strings (with escapes), literals, any value.

Everything here produces *JSON text* (bytes as they appear in the output). Strings are the subtle
part: a schema constrains the *decoded* string (``maxLength`` counts characters, ``pattern`` reads
the decoded text) while the output holds escapes. Two constructions cover it:

* :func:`string_of_length` — any string of ``m..n`` characters; a character is a raw code point
  (not ``"``, ``\\`` or a control character), a short escape (``\\n``, ``\\"``, …), a ``\\uXXXX``
  escape of a non-surrogate, or an escaped surrogate pair (one character).
* :func:`escaped_dfa` — turns a DFA over the *decoded* UTF-8 text (a pattern, a format) into one
  over JSON text: raw bytes pass through, and a decoded ``"``, ``\\``, ``/`` or control character may
  also be written as its escape. Non-ASCII characters must then be written raw (``\\uXXXX`` for
  them is not accepted inside pattern- or format-constrained strings: a sound restriction).
"""

from __future__ import annotations

import json

import numpy as np
from typing import Any

from .. import deadline
from ..regex.automaton import NFA, ByteDFA, byte_runs, determinize, deterministic_to_dfa
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
    return Concat(tuple(Chars(((ord(c), ord(c)),)) for c in text))


def value_literal(value: Any) -> Node:
    """A JSON value as text, in ``json.dumps`` default and compact forms (ASCII-escaped or not)."""
    texts = {
        json.dumps(value),
        json.dumps(value, separators=(",", ":")),
        json.dumps(value, ensure_ascii=False),
        json.dumps(value, separators=(",", ":"), ensure_ascii=False),
    }
    options = tuple(literal(t) for t in sorted(texts))
    return options[0] if len(options) == 1 else Alt(options)


def string_of_length(min_length: int, max_length: int | None) -> Node:
    """Any JSON string of ``min_length..max_length`` characters."""
    return Concat((QUOTE, Repeat(STRING_CHAR, min_length, max_length), QUOTE))


_SHORT_ESCAPES = {0x22: b'"', 0x5C: b"\\", 0x2F: b"/", 0x08: b"b", 0x0C: b"f", 0x0A: b"n", 0x0D: b"r", 0x09: b"t"}


def escaped_dfa(content: ByteDFA) -> ByteDFA:
    """JSON string text (with the quotes) whose decoded content ``content`` accepts."""
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
            escapable.extend(b for b in range(blo, min(bhi, 0x7F) + 1) if b in _SHORT_ESCAPES or b < 0x20)
        raw_of.append(raw)
        escapable_of.append(escapable)
    rows = content.table.tolist()
    # States after a backslash, shared by the content states whose escapes lead to the same
    # targets (as in a run of states that all loop on the same content).
    backslash_of: dict[tuple[tuple[int, int], ...], int] = {}
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
        if escaped:
            key = tuple(sorted(escaped.items()))
            if key not in backslash_of:
                backslash_of[key] = _escape_paths(nfa, key)
            nfa.edges[src].append((0x5C, 0x5C, backslash_of[key]))
        if content.accepting[s]:
            nfa.edges[src].append((0x22, 0x22, accept))
    nfa.start, nfa.accept = start, accept
    # This NFA is deterministic (no subset construction needed), and content states that a
    # minimal ``content`` tells apart stay apart once escaped; only the few escape-path states
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


def _escape_paths(nfa: NFA, targets: tuple[tuple[int, int], ...]) -> int:
    """The state after a backslash, with paths ``x`` and/or ``u00XX`` to each ``(byte, target)``.

    The states after ``\\u00`` and after the high hex digit are shared by all the bytes (the
    content automaton is deterministic, so each byte has one target and the paths stay
    deterministic too): a few states per content state instead of a chain per byte and target.
    """
    backslash = nfa.new_state()
    after_00: int | None = None
    after_hi: dict[str, int] = {}
    for byte, dst in targets:
        short = _SHORT_ESCAPES.get(byte)
        if short is not None:
            nfa.edges[backslash].append((short[0], short[0], dst))
        if byte < 0x20 or byte in (0x22, 0x5C):
            # \u00XX with either hex case.
            if after_00 is None:
                after_u, after_0, after_00 = nfa.new_state(), nfa.new_state(), nfa.new_state()
                nfa.edges[backslash].append((ord("u"), ord("u"), after_u))
                nfa.edges[after_u].append((0x30, 0x30, after_0))
                nfa.edges[after_0].append((0x30, 0x30, after_00))
            hi, lo = f"{byte:02x}"
            if hi not in after_hi:
                after_hi[hi] = nfa.new_state()
                nfa.edges[after_00].append((ord(hi), ord(hi), after_hi[hi]))  # hi is a decimal digit
            for ch in {lo, lo.upper()}:
                nfa.edges[after_hi[hi]].append((ord(ch), ord(ch), dst))
    return backslash


_CHAR_DFA: ByteDFA | None = None


def _char_dfa() -> ByteDFA:
    """Minimal DFA of exactly one JSON string character (raw UTF-8 or an escape), built once."""
    global _CHAR_DFA
    if _CHAR_DFA is None:
        from ..regex.automaton import build_nfa

        _CHAR_DFA = determinize(build_nfa(STRING_CHAR))
    return _CHAR_DFA


def counted_string_dfa(min_length: int, max_length: int) -> ByteDFA:
    """DFA of ``"`` + ``min_length..max_length`` JSON string characters + ``"``, built directly.

    Subset construction of ``"(char){0,255}"`` walks thousands of states in Python (about a
    second each, and MaskBench schemas have many ``maxLength: 255`` fields). The language is a
    product of the one-character DFA with a counter, so its table is written down with numpy:
    state ``(i, c)`` = ``i`` characters done, ``c`` = position inside the next character. The
    one-character language is prefix-free (its accepting states have no way out), so finishing
    a character always means going back to the character start with ``i + 1``. The result is
    minimal: states differ either in the characters still allowed or in the position.
    """
    unit = _char_dfa()
    m = unit.num_states
    inner = np.flatnonzero(~unit.accepting)  # positions inside a character (the start is one)
    k = len(inner)
    pos = np.full(m, -1, dtype=np.int64)
    pos[inner] = np.arange(k)
    quote_class_byte = 0x22
    # Byte classes: the unit's classes refined by the quote byte (the unit never reads a raw '"').
    unit_class = unit.byte_class[:256].astype(np.int64)
    byte_class = unit_class.copy()
    quote_class = int(unit_class.max()) + 1
    byte_class[quote_class_byte] = quote_class
    num_classes = quote_class + 1
    unit_table = np.full((m, num_classes), -1, dtype=np.int64)
    unit_table[:, : unit.table.shape[1]] = unit.table
    unit_table[:, quote_class] = unit.table[:, unit_class[quote_class_byte]]
    # Layout: 0 = before the opening quote, 1 = after the closing quote, then 2 + i*k + pos.
    levels = max_length + 1
    n = 2 + levels * k
    table = np.full((n, num_classes), -1, dtype=np.int64)
    table[0, quote_class] = 2 + 0 * k + pos[unit.start]
    sub = unit_table[inner]  # (k, classes): next unit state from each inner position
    finished = (sub >= 0) & unit.accepting[np.maximum(sub, 0)]
    stays = (sub >= 0) & ~finished
    for_level = np.arange(levels)[:, None, None]
    block = np.full((levels, k, num_classes), -1, dtype=np.int64)
    block = np.where(stays[None], 2 + for_level * k + pos[np.maximum(sub, 0)][None], block)
    nxt = for_level + 1
    block = np.where(finished[None] & (nxt <= max_length), 2 + nxt * k + pos[unit.start], block)
    table[2:] = block.reshape(levels * k, num_classes)
    # The closing quote, from the start of a character once at least min_length are done.
    start_rows = 2 + np.arange(min_length, levels) * k + pos[unit.start]
    table[start_rows, quote_class] = 1
    accepting = np.zeros(n, dtype=bool)
    accepting[1] = True
    # Rows of the last level other than its character start cannot finish: cut the edges in.
    last = 2 + max_length * k + np.arange(k)
    dead = np.zeros(n, dtype=bool)
    dead[last[np.arange(k) != pos[unit.start]]] = True
    table[np.isin(table, np.flatnonzero(dead))] = -1
    return ByteDFA(byte_class=byte_class.astype(np.int32), table=table.astype(np.int32), accepting=accepting, start=0)
