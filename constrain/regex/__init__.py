"""Regex -> byte-level DFA.

``compile_regex(pattern)`` gives a :class:`ByteDFA` whose language is the set of UTF-8 strings that
*fullmatch* ``pattern``; with ``search=True`` it is the set of strings *containing* a match, which is
how JSON Schema's ``pattern`` keyword reads a regex (anchors then work as in ECMA-262).
"""

from __future__ import annotations

from .automaton import (
    DEFAULT_MAX_DFA_STATES,
    DEFAULT_MAX_NFA_STATES,
    NFA,
    ByteDFA,
    DfaMemo,
    build_into,
    build_nfa,
    determinize,
    utf8_sequences,
)
from .parser import ANY, Chars, Concat, Node, Repeat, parse

__all__ = ["ByteDFA", "compile_regex", "parse", "utf8_sequences", "regex_to_dfa"]


def regex_to_dfa(
    node: Node,
    *,
    max_nfa_states: int = DEFAULT_MAX_NFA_STATES,
    max_dfa_states: int = DEFAULT_MAX_DFA_STATES,
) -> ByteDFA:
    """Compile a parsed regex tree to a minimal DFA."""
    return determinize(build_nfa(node, max_states=max_nfa_states), max_states=max_dfa_states)


def compile_regex(
    pattern: str,
    *,
    search: bool = False,
    portable: bool = False,
    wide: bool = False,
    max_nfa_states: int = DEFAULT_MAX_NFA_STATES,
    max_dfa_states: int = DEFAULT_MAX_DFA_STATES,
) -> ByteDFA:
    """Compile ``pattern`` (ECMA-262 dialect, see :mod:`constrain.regex.parser`) to a minimal DFA.

    Args:
        pattern: the regex text.
        search: if True, accept strings that contain a match (JSON Schema ``pattern`` semantics);
            if False, accept strings that fullmatch the pattern.
        portable: read class escapes so that every match also matches under Python's ``re``
            (JSON Schema patterns, whose validators are often Python); see
            :func:`constrain.regex.parser.portable_class_escapes`.
        wide: the opposite reading: every string that matches under ECMA-262 or Python's ``re``
            matches (the reading to subtract for a negated pattern).
        max_nfa_states: budget for the intermediate NFA.
        max_dfa_states: budget for the DFA before minimization.

    Raises:
        InvalidRegexError, UnsupportedRegexError, AutomatonTooLargeError.
    """
    key = (pattern, search, portable, wide, max_nfa_states, max_dfa_states)
    dfa = _COMPILED.get(key)
    if dfa is None:
        dfa = _compile_regex(pattern, search, portable, wide, max_nfa_states, max_dfa_states)
        _COMPILED.put(key, dfa, dfa)
    return dfa


#: Compiled regexes by pattern and options, shared across schemas in a process (read-only).
_COMPILED = DfaMemo(max_entries=8_000_000)


def _compile_regex(pattern: str, search: bool, portable: bool, wide: bool, max_nfa_states: int,
                   max_dfa_states: int) -> ByteDFA:
    node = parse(pattern, portable=portable, wide=wide)
    if not search:
        return regex_to_dfa(node, max_nfa_states=max_nfa_states, max_dfa_states=max_dfa_states)
    # Search = ".*" pattern ".*". Once a match has ended, the trailing ".*" accepts every
    # continuation, so any DFA state that holds one of its NFA states is cut down to those states
    # (UTF-8 is self-synchronizing, so every other parse is at the same character position and
    # can only accept less). Without this, patterns like "\w{0,30}" blow up the subset construction.
    anything = Repeat(Chars(ANY), 0, None)
    nfa = NFA(max_states=max_nfa_states)
    start, mid, accept = nfa.new_state(), nfa.new_state(), nfa.new_state()
    build_into(nfa, Concat((anything, node)), start, mid)
    first_tail = len(nfa.eps)
    build_into(nfa, anything, mid, accept)
    nfa.start, nfa.accept = start, accept
    absorbing = frozenset(range(first_tail, len(nfa.eps))) | {mid, accept}
    return determinize(nfa, max_states=max_dfa_states, absorbing=absorbing)
