"""JSON Schema's numeric keywords as regexes and automata: the module the rest of the library
imports them from.

Holds ``multipleOf`` for integers (:func:`multiple_of_regex`, :func:`multiple_of_dfa`,
:func:`multiple_of_range_dfa`) and re-exports the range regexes: :func:`integer_range_regex`,
:func:`number_range_regex`, their constants and :class:`NumericRangeError` are built in
:mod:`constrain.jsonschema.numeric_range` (whose docstring gives the semantics: exact decimal
values, which exponent forms are accepted, the limits), with the regex AST of
:mod:`constrain.jsonschema.numeric_ast`.

Imports: the standard library, numpy, :mod:`constrain.errors`, :mod:`constrain.regex` (to compile
and intersect automata), :mod:`constrain.jsonschema.numeric_range` and
:mod:`constrain.jsonschema.numeric_ast`.
"""

from __future__ import annotations

import functools
from fractions import Fraction

import numpy as np

from ..errors import AutomatonTooLargeError
from ..regex import ByteDFA, compile_regex
from ..regex.automaton import DEFAULT_MAX_DFA_STATES, minimize
from ..regex.product import intersect
from .numeric_ast import (
    _D,
    _EPS,
    EMPTY_REGEX,
    _alt,
    _cat,
    _chars,
    _digit_range,
    _Lang,
    _Lit,
    _rep,
    _to_regex,
)
from .numeric_range import (
    JSON_INTEGER_REGEX,
    JSON_NUMBER_REGEX,
    MAX_DIGIT_RUNS,
    MAX_EXPONENT,
    Bound,
    NumericRangeError,
    _integer_bound,
    _signed,
    _to_decimal,
    integer_range_regex,
    number_range_regex,
)

__all__ = [
    "EMPTY_REGEX",
    "JSON_INTEGER_REGEX",
    "JSON_NUMBER_REGEX",
    "MAX_ENUMERATED_MULTIPLES",
    "MAX_EXPONENT",
    "MAX_DIGIT_RUNS",
    "NumericRangeError",
    "integer_range_regex",
    "multiple_of_dfa",
    "multiple_of_range_dfa",
    "multiple_of_regex",
    "number_range_regex",
]

#: Most multiples :func:`multiple_of_regex` lists one by one for a ``k`` with no digit-suffix rule.
MAX_ENUMERATED_MULTIPLES = 256
#: Most m-digit suffixes a digit-suffix rule may have (``multipleOf: 2**a * 5**b``).
MAX_SUFFIXES = 1000
#: Longest regex text :func:`multiple_of_regex` returns.
MAX_MULTIPLE_REGEX_CHARS = 20_000


def _multiple_base(k: Bound) -> int:
    """The integer ``m`` such that an integer is a multiple of ``k`` iff it is a multiple of ``m``.

    For ``k = p/q`` in lowest terms, ``n/k = nq/p`` is an integer iff ``p`` divides ``n``.
    """
    if k is None:
        raise NumericRangeError("multipleOf must be a number")
    d = _to_decimal(k, "multipleOf")
    assert d is not None
    if d <= 0:
        raise NumericRangeError(f"multipleOf must be positive, not {k!r}")
    return Fraction(d).numerator


def _suffix_rule(k: int) -> tuple[int, list[str]] | None:
    """For ``k = 2^a 5^b``: ``m = max(a, b)`` and the m-digit suffixes (zero-padded) of multiples of k."""
    a = b = 0
    r = k
    while r % 2 == 0:
        r //= 2
        a += 1
    while r % 5 == 0:
        r //= 5
        b += 1
    if r != 1:
        return None
    m = max(a, b)
    if 10**m // k > MAX_SUFFIXES:
        return None
    return m, [str(v).zfill(m) for v in range(0, 10**m, k)]


def _trie(strings: list[str]) -> _Lang:
    """A regex for a finite set of strings, sharing prefixes and merging identical subtrees."""
    if not strings:
        return None
    nexts: dict[str, list[str]] = {}
    has_eps = False
    for s in strings:
        if s == "":
            has_eps = True
        else:
            nexts.setdefault(s[0], []).append(s[1:])
    by_subtree: dict[_Lang, str] = {}
    for c, rests in nexts.items():
        sub = _trie(rests)
        by_subtree[sub] = by_subtree.get(sub, "") + c
    return _alt(_EPS if has_eps else None, *(_cat(_chars(cs), sub) for sub, cs in by_subtree.items()))


@functools.lru_cache(maxsize=64)
def _multiples(k: int, p: int, q: int | None) -> _Lang:
    """Canonical texts of the multiples of ``k`` in ``[p, q]`` (``p >= 0``); raises LookupError if
    no compact regex is known (see :func:`multiple_of_regex`)."""
    if q is not None and q < p:
        return None
    if q is not None:
        first = -(-p // k)
        last = q // k
        if last < first:
            return None
        if last - first + 1 <= MAX_ENUMERATED_MULTIPLES:
            return _trie([str(v * k) for v in range(first, last + 1)])
    rule = _suffix_rule(k)
    if rule is None:
        raise LookupError
    m, suffixes = rule
    nonzero = _alt(
        _cat(_digit_range(1, 9), _rep(_D, 0, None), _trie(suffixes)),  # more than m digits
        _trie([s for s in suffixes if s[0] != "0"]),  # exactly m digits
        _trie([str(v) for v in range(k, 10 ** max(m - 1, 0), k)]),  # fewer than m digits
    )
    # The rule ignores the range; the caller intersects with integer_range_regex(lo, hi).
    return _alt(_Lit("0"), nonzero) if p == 0 else nonzero


def multiple_of_regex(k: Bound, lo: Bound = None, hi: Bound = None) -> str | None:
    """Regex ``R`` for the integer texts that are multiples of ``k``, to be used with a range.

    Contract: ``R`` ∩ ``integer_range_regex(lo, hi)`` is exactly the set of JSON integer texts
    (``-?(0|[1-9][0-9]*)``, ``-0`` included as 0) whose value is a multiple of ``k`` in
    ``[lo, hi]``. ``R`` itself accepts only integer texts of multiples of ``k``, but may accept
    multiples outside the range; intersect the two DFAs (:func:`constrain.regex.product.intersect`),
    since regex text has no intersection operator. Returns None when no compact exact regex is
    known; :func:`multiple_of_range_dfa` handles every ``k`` then.

    How: per sign, the magnitudes in range are listed one by one (a prefix-sharing alternation)
    when there are at most :data:`MAX_ENUMERATED_MULTIPLES` of them; otherwise ``k = 2^a 5^b``
    (``k`` divides ``10^m`` with ``m = max(a, b)``) uses the digit-suffix rule: the last ``m`` digits
    decide, e.g. ``[02468]`` for 2, ``00|25|50|75`` for 25. Any other ``k`` with many multiples in
    range gives None. ``k`` may be a non-integer (``1.5``): integer multiples of ``p/q`` (lowest
    terms) are the multiples of ``p``.

    Raises:
        NumericRangeError: ``k`` not a positive finite number, or a bad bound.
    """
    base = _multiple_base(k)
    lo_i = _integer_bound(lo, False, True, "minimum")
    hi_i = _integer_bound(hi, False, False, "maximum")
    if base == 1:
        return integer_range_regex(lo_i, hi_i)
    if lo_i is not None and hi_i is not None and lo_i > hi_i:
        return EMPTY_REGEX
    try:
        pos = _multiples(base, max(lo_i, 0) if lo_i is not None else 0, hi_i) if hi_i is None or hi_i >= 0 else None
        neg = (
            _multiples(base, max(-hi_i, 0) if hi_i is not None else 0, -lo_i if lo_i is not None else None)
            if lo_i is None or lo_i <= 0
            else None
        )
    except LookupError:
        return None
    text = _to_regex(_signed(pos, neg))
    return text if len(text) <= MAX_MULTIPLE_REGEX_CHARS else None


def multiple_of_dfa(k: Bound, *, max_states: int = DEFAULT_MAX_DFA_STATES) -> ByteDFA:
    """Minimal DFA of the JSON integer texts (``-?(0|[1-9][0-9]*)``, ``-0`` included) that are
    multiples of ``k``, for any positive ``k``: the remainder automaton (state = value mod k).

    Raises:
        NumericRangeError: bad ``k``.
        AutomatonTooLargeError: the automaton would need more than ``max_states`` states.
    """
    m = _multiple_base(k)
    if m + 3 > max_states:
        raise AutomatonTooLargeError(f"multipleOf {k} needs {m + 3} automaton states (budget {max_states})")
    # Classes: 0 other bytes, 1 '-', 2..11 the digits '0'..'9'.
    byte_class = np.zeros(256, dtype=np.int32)
    byte_class[ord("-")] = 1
    for d in range(10):
        byte_class[ord("0") + d] = 2 + d
    start, minus, zero = 0, 1, 2  # then 3 + r: a nonzero number so far, value mod m == r
    table = np.full((m + 3, 12), -1, dtype=np.int32)
    for s in (start, minus):
        table[s, 2] = zero
        for d in range(1, 10):
            table[s, 2 + d] = 3 + d % m
    table[start, 1] = minus
    r = np.arange(m)
    for d in range(10):
        table[3 + r, 2 + d] = 3 + (10 * r + d) % m
    accepting = np.zeros(m + 3, dtype=bool)
    accepting[zero] = True
    accepting[3] = True
    return minimize(ByteDFA(byte_class=byte_class, table=table, accepting=accepting, start=start))


def multiple_of_range_dfa(
    k: Bound, lo: Bound = None, hi: Bound = None, *, max_states: int = DEFAULT_MAX_DFA_STATES
) -> ByteDFA:
    """Minimal DFA of the JSON integer texts of the multiples of ``k`` in ``[lo, hi]``, for any ``k``.

    The product (:func:`constrain.regex.product.intersect`) of :func:`integer_range_regex`'s
    automaton and :func:`multiple_of_dfa`; ``max_states`` bounds both.
    """
    range_dfa = compile_regex(integer_range_regex(lo, hi))
    return intersect(range_dfa, multiple_of_dfa(k, max_states=max_states), max_states=max_states)
