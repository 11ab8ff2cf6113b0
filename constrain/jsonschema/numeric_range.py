"""Regexes for the JSON number texts whose *value* lies in a numeric range.

JSON Schema's ``minimum``, ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``, ``type: integer``
and (integer) ``multipleOf`` constrain the value of a number, while a constrained decoder works on
its text. This module writes, as regex text in the dialect of :mod:`constrain.regex.parser`, the set
of JSON number texts whose value lies in a range, so the keywords are enforced exactly.

Semantics: a text's value is its exact decimal value (``0.1`` is one tenth, not the nearest binary
float) and it is compared exactly with the bounds. A bound given as a ``float`` is read as its
shortest round-trip decimal (``repr``), which is the literal the schema most likely contained
(``"minimum": 0.1`` means one tenth). With those conventions, for every finite float ``x`` and float
bounds, "``json.dumps(x)`` is accepted" and "``x`` is in range under float comparison" agree
exactly. (A validator that parses *texts* to binary floats can differ from the exact semantics only
for texts with more than 17 significant digits within one float step of an exclusive bound.)

Negative zero: ``-0``, ``-0.0``, ``-0e5`` ... have the value 0; they are accepted exactly when 0 is in
range, like any other spelling of a value in range.

The decomposition
-----------------

A text is a sign, a *magnitude* and nothing else, so a range ``[lo, hi]`` splits into the
non-negative texts whose magnitude lies in ``[max(lo, 0), hi]`` and the texts ``-M`` whose magnitude
lies in ``[max(-hi, 0), -lo]`` (exclusivity carried along). Magnitudes are then handled by shape:

* **Integers** (no leading zeros): split by digit count. Counts strictly between those of the two
  bounds are free (``[1-9]\\d{m,n}``); for a count equal to a bound's, the classic digit-range
  decomposition walks the common prefix of the bounds, then one "lower chain" (the text stays equal
  to the lower bound for a while, then has a larger digit, then anything) and one "upper chain"
  (symmetrically). A bound whose tail is all zeros (lower) or all nines (upper) makes its chain free
  there, so ``[10, 99]`` is ``[1-9]\\d`` and not a list of cases. Runs of a repeated bound digit are
  split in halves rather than listed (:func:`_leave_run`), and chains nest to the right (O(digits)
  text) or, past :data:`RIGHT_NESTED_MAX_DIGITS` digits, to the left so that the automaton's
  subset construction stays linear (:func:`_chain`). No value is ever enumerated.
* **Plain decimals** ``I.F``: compare integer parts, then fractions. Integer parts strictly between
  the bounds' take any fraction; an integer part equal to a bound's constrains the fraction. A
  fraction of any length compares with a bound fraction digit by digit, padding with zeros, so the
  same lower/upper-chain construction applies with ``\\d*`` as the free tail and with runs of a
  repeated bound digit folded into one counted repetition (``0{0,299}[1-9]\\d*`` for ``F > 0.0...01``).
* **Exponent forms** ``M e E``: the value of ``0.0001e5`` depends on the *difference* between the
  count of leading fraction zeros and ``E``, so "value >= c" is not a regular language over all
  exponent forms. What is regular, and handled exactly:

  - exponent forms with a *zero* mantissa (``0``, ``0.00``): value 0;
  - exponent forms with a *normalized* mantissa ``[1-9](\\.\\d+)?`` (the only kind Python's
    ``json.dumps`` writes, e.g. ``1e-05``, ``1.5e+16``): the value is ``m * 10^E`` with
    ``1 <= m < 10``, so ``E`` decides the decade; exponents strictly between the bounds' decades
    take any mantissa, a bound's own decade constrains the mantissa digits (the fraction
    construction again) and the exponent text is an integer range (signed, leading zeros allowed);
  - *every* exponent form, when all numbers of that sign are in range (e.g. ``minimum: 0`` admits
    ``12e3`` and ``0.5e1``; only the sign matters then).

Limits: the significant digits of a finite bound may form at most :data:`MAX_DIGIT_RUNS` runs of
equal digits (about 80 significant digits at worst; ``10**300 + 1`` has 3 runs) and its decimal
exponent may be at most :data:`MAX_EXPONENT` in size; every finite float qualifies. Otherwise
:class:`NumericRangeError` is raised. ``NaN``, infinities and ``bool`` are rejected too.

Returned regexes are safe to embed: a top-level alternation is wrapped in ``(?:...)``. An empty
range gives :data:`EMPTY_REGEX` (``[]``, the class that matches nothing).

Layout: this module holds the range regexes (:func:`integer_range_regex`,
:func:`number_range_regex`), their limits and :class:`NumericRangeError`; the regex AST they are
built in is :mod:`constrain.jsonschema.numeric_ast`. The rest of the library imports all of them
from :mod:`constrain.jsonschema.numeric`, which adds ``multipleOf``.

Imports: the standard library, :mod:`constrain.errors` and
:mod:`constrain.jsonschema.numeric_ast`. Never :mod:`constrain.jsonschema.numeric`, which imports
this module.
"""

from __future__ import annotations

import functools
import math
import numbers
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from fractions import Fraction
from typing import Union

from ..errors import ConstraintError
from .numeric_ast import (
    _D,
    _EPS,
    EMPTY_REGEX,
    _alt,
    _cat,
    _digit_range,
    _Lang,
    _Lit,
    _nonempty,
    _nullable,
    _opt,
    _rep,
    _Set,
    _to_regex,
)

Bound = Union[int, float, Decimal, Fraction, None]

#: Every JSON number text (RFC 8259).
JSON_NUMBER_REGEX = r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?"
#: Every JSON integer text without fraction or exponent (``-0`` included).
JSON_INTEGER_REGEX = r"-?(?:0|[1-9]\d*)"

#: Most runs of equal digits (``1000`` has 2, ``1234`` has 4) in a finite bound's significant
#: digits. Each run nests one group in the integer regex, and the regex parser is recursive.
MAX_DIGIT_RUNS = 80
#: Largest |decimal exponent| of a finite bound (``1e-400 <= |bound| < 1e401``).
MAX_EXPONENT = 400


class NumericRangeError(ConstraintError):
    """A bound (or ``multipleOf``) that cannot be turned into a regex: not a finite number, or too
    many digits (see :data:`MAX_DIGIT_RUNS`, :data:`MAX_EXPONENT`). A ``ValueError``."""


# ----------------------------------------------------------------------------------------------
# Bounds
# ----------------------------------------------------------------------------------------------


def _short(d: Decimal) -> str:
    text = str(d)
    return text if len(text) <= 40 else f"{text[:20]}...{text[-10:]}"


def _check_limits(d: Decimal, what: str) -> None:
    if d == 0:
        return
    _, digits, exp = d.as_tuple()
    ds = "".join(map(str, digits)).lstrip("0")
    sig = ds.rstrip("0")
    runs = sum(1 for i in range(len(sig)) if i == 0 or sig[i] != sig[i - 1])
    adjusted = exp + len(ds) - 1  # type: ignore[operator]
    if runs > MAX_DIGIT_RUNS:
        raise NumericRangeError(
            f"{what} {_short(d)} has {runs} runs of equal digits (at most {MAX_DIGIT_RUNS} are supported)"
        )
    if abs(adjusted) > MAX_EXPONENT:
        raise NumericRangeError(
            f"{what} {_short(d)} has a decimal exponent of {adjusted} (at most {MAX_EXPONENT} in size is supported)"
        )


def _to_decimal(x: Bound, what: str = "bound") -> Decimal | None:
    """The exact decimal value of a bound; floats are read as their shortest repr."""
    if x is None:
        return None
    if isinstance(x, bool):
        raise NumericRangeError(f"{what} must be a number, not {x!r}")
    if isinstance(x, numbers.Integral):
        d = Decimal(int(x))
    elif isinstance(x, float):
        if not math.isfinite(x):
            raise NumericRangeError(f"{what} must be finite, not {x!r}")
        d = Decimal(repr(float(x)))  # float(): numpy scalars repr as "np.float64(...)"
    elif isinstance(x, Decimal):
        if not x.is_finite():
            raise NumericRangeError(f"{what} must be finite, not {x!r}")
        d = x
    elif isinstance(x, Fraction):
        q = x.denominator
        for p in (2, 5):
            while q % p == 0:
                q //= p
        if q != 1:
            raise NumericRangeError(f"{what} {x} has no finite decimal expansion")
        # x = n / (2^a 5^b) = n * (10^k / 2^a 5^b) / 10^k with k = max(a, b).
        k = 0
        while (10**k) % x.denominator:
            k += 1
        scaled = x.numerator * (10**k // x.denominator)
        # Built from its digits: Decimal arithmetic (scaleb, /) would round to the context precision.
        d = Decimal((int(scaled < 0), tuple(int(c) for c in str(abs(scaled))), -k))
    else:
        raise NumericRangeError(f"{what} must be a number, not {type(x).__name__}")
    _check_limits(d, what)
    return d


def _split(d: Decimal) -> tuple[int, str]:
    """A non-negative decimal as (integer part, fraction digits without trailing zeros). Exact."""
    _, digits, exp = d.as_tuple()
    ds = "".join(map(str, digits))
    if exp >= 0:  # type: ignore[operator]
        return int(ds) * 10**exp, ""  # type: ignore[operator]
    k = -exp  # type: ignore[operator]
    ds = ds.rjust(k + 1, "0")
    return int(ds[:-k]), ds[-k:].rstrip("0")


def _scientific(d: Decimal) -> tuple[str, int]:
    """A positive decimal as (significant digits, first one nonzero, no trailing zeros; exponent)."""
    _, digits, exp = d.as_tuple()
    ds = "".join(map(str, digits)).lstrip("0")
    return ds.rstrip("0"), exp + len(ds) - 1  # type: ignore[operator]


def _run(s: str, i: int) -> int:
    """Length of the run of ``s[i]`` starting at ``i``."""
    j = i
    while j < len(s) and s[j] == s[i]:
        j += 1
    return j - i


# ----------------------------------------------------------------------------------------------
# Non-negative integers (canonical: no leading zeros)
# ----------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _leave_run(c: int, length: int, up: bool) -> _Lang:
    """The ``length``-digit strings lexicographically above (``up``) or below ``c`` repeated.

    Leaving the run at offset ``t`` is ``c^t``, a digit above (below) ``c``, then ``length - t - 1``
    free digits. Rather than listing the offsets, split in halves: ``above(L) = above(h) \\d{L-h} |
    c^h above(L-h)``. The NFA then has O(L log L) states, and determinizing it next to other
    counters (longer numbers, the other chain) gives O(L log L) subsets instead of O(L^2): that is
    what keeps bounds such as ``exclusiveMinimum: 1e300`` (a run of 299 zeros in ``10^300 + 1``)
    cheap.
    """
    leave = _digit_range(c + 1, 9) if up else _digit_range(0, c - 1)
    if leave is None:
        return None
    if length <= 4:
        return _alt(*(_cat(_Lit(str(c) * t), leave, _rep(_D, length - t - 1, length - t - 1)) for t in range(length)))
    h = length // 2
    return _alt(
        _cat(_leave_run(c, h, up), _rep(_D, length - h, length - h)),
        _cat(_Lit(str(c) * h), _leave_run(c, length - h, up)),
    )


#: Chains over at most this many digits nest to the right (O(digits) text); longer ones to the
#: left (shared counters, see :func:`_chain`).
RIGHT_NESTED_MAX_DIGITS = 40


def _chain(bound: str, up: bool) -> _Lang:
    """The ``len(bound)``-digit strings ``>= bound`` (``up``) or ``<= bound``.

    A string either stays equal to ``bound`` or leaves it, upwards (``up``) or downwards, inside
    some run ``c^L`` of it (:func:`_leave_run`) and then continues freely. A lower bound's trailing
    zeros (an upper bound's trailing nines) are free: any digits there keep the string on the right
    side, so ``[10, 99]`` is ``[1-9]\\d``. Two spellings of the same language:

    * nested to the right, ``c1^L1 (c2^L2 (...) | leave_2 \\d{k2}) | leave_1 \\d{k1}``: O(digits)
      text, but each way of leaving has its own trailing counter;
    * nested to the left, ``((left_1) \\d{L2} | c1^L1 leave_2) \\d{L3} | ...``: every string that has
      left shares the same trailing counters, so determinizing it next to other counters (the
      other chain, longer and shorter numbers) gives O(digits) subsets instead of
      O(digits x ways of leaving); the price is O(runs x digits) text (the equal prefix is
      spelled once per run). Used beyond :data:`RIGHT_NESTED_MAX_DIGITS` digits (e.g. the
      309-digit integer parts that ``maximum: 1.7976931348623157e308`` brings).

    Nesting depth: one group per run of the bound.
    """
    free = "0" if up else "9"
    n = len(bound)
    if n <= RIGHT_NESTED_MAX_DIGITS:
        return _chain_right(bound, 0, up)
    left: _Lang = None  # strings of length j that already left bound[:j] on the right side
    j = 0
    while bound[j:].strip(free) != "":
        c, run = bound[j], _run(bound, j)
        leave = _leave_run(int(c), run, up)
        last = bound[j + run :].strip(free) == ""
        if last:
            leave = _alt(leave, _Lit(c * run))  # staying equal through the last run is fine too
        left = _alt(_cat(left, _rep(_D, run, run)), _cat(_Lit(bound[:j]), leave))
        j += run
        if last:
            return _cat(left, _rep(_D, n - j, n - j))
    return _cat(_alt(left, _Lit(bound[:j])), _rep(_D, n - j, n - j))


def _chain_right(bound: str, j: int, up: bool) -> _Lang:
    """:func:`_chain` for ``bound[j:]``, nested to the right."""
    free = "0" if up else "9"
    n = len(bound)
    if bound[j:].strip(free) == "":
        return _rep(_D, n - j, n - j)
    c, run = bound[j], _run(bound, j)
    leave = _leave_run(int(c), run, up)
    tail = _rep(_D, n - j - run, n - j - run)
    if bound[j + run :].strip(free) == "":
        return _cat(_alt(leave, _Lit(c * run)), tail)
    return _alt(_cat(leave, tail), _cat(_Lit(c * run), _chain_right(bound, j + run, up)))


def _same_length(a: str, b: str) -> _Lang:
    """Digit strings of length ``n = len(a) == len(b)`` between ``a`` and ``b`` (``a <= b``).

    Common prefix, then three kinds of branches at the first differing position ``i``: a digit
    strictly between ``a[i]`` and ``b[i]`` followed by anything; ``a[i]`` followed by the lower
    chain (:func:`_chain`: equal to the rest of ``a`` or above it); ``b[i]`` followed by the upper
    chain (equal to the rest of ``b`` or below it).
    """
    n = len(a)
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    if i == n:
        return _Lit(a)
    prefix = a[:i]
    lower_free = a[i + 1 :].strip("0") == ""
    upper_free = b[i + 1 :].strip("9") == ""
    lo_digit = int(a[i]) + (0 if lower_free else 1)
    hi_digit = int(b[i]) - (0 if upper_free else 1)
    return _alt(
        _cat(_Lit(prefix), _digit_range(lo_digit, hi_digit), _rep(_D, n - i - 1, n - i - 1)),
        None if lower_free else _cat(_Lit(prefix + a[i]), _chain(a[i + 1 :], True)),
        None if upper_free else _cat(_Lit(prefix + b[i]), _chain(b[i + 1 :], False)),
    )


def _uint_range(p: int, q: int | None) -> _Lang:
    """Canonical texts of the integers in ``[p, q]`` (``0 <= p``; ``q`` None: unbounded)."""
    if q is not None and q < p:
        return None
    out: list[_Lang] = []
    if p == 0:
        out.append(_Lit("0"))
        p = 1
        if q == 0:
            return _alt(*out)
    sp = str(p)
    lp = len(sp)
    if q is not None and len(str(q)) == lp:
        out.append(_same_length(sp, str(q)))
        return _alt(*out)
    # Lengths whose whole block [10^(L-1), 10^L - 1] is in range share one branch.
    first_full = lp if p == 10 ** (lp - 1) else lp + 1
    if first_full > lp:
        out.append(_same_length(sp, "9" * lp))
    if q is None:
        out.append(_cat(_digit_range(1, 9), _rep(_D, first_full - 1, None)))
        return _alt(*out)
    sq = str(q)
    lq = len(sq)
    last_full = lq if q == 10**lq - 1 else lq - 1
    if first_full <= last_full:
        out.append(_cat(_digit_range(1, 9), _rep(_D, first_full - 1, last_full - 1)))
    if last_full < lq:
        out.append(_same_length("1" + "0" * (lq - 1), sq))
    return _alt(*out)


# ----------------------------------------------------------------------------------------------
# Fractions and mantissas: digit strings of any length compared with zero padding
# ----------------------------------------------------------------------------------------------


def _fraction(a: str | None, a_excl: bool, b: str | None, b_excl: bool) -> _Lang:
    """Digit strings ``F`` (the empty one included, standing for 0) with ``0.a <= 0.F <= 0.b``.

    ``a``/``b`` are digit strings without trailing zeros, ``None`` for no bound on that side
    (``b = ""`` is the bound 0). Comparing ``0.F`` with ``0.a`` is comparing the strings digit by
    digit, both padded with zeros, so ``F`` may leave the bound by one larger (lower chain) or
    smaller (upper chain) digit and then continue freely. A run ``c^L`` of the bound collapses to
    ``c{0,L-1}`` followed by the leaving digit.
    """
    if a == "" and not a_excl:
        a = None
    if a is None and b is None:
        return _rep(_D, 0, None)
    out: list[_Lang] = []
    star = _rep(_D, 0, None)
    zeros = _rep(_Lit("0"), 0, None)

    def lower(p: str, i: int) -> None:
        assert a is not None
        while i < len(a):
            c, run = a[i], _run(a, i)
            if i + run == len(a) and not a_excl:
                # Last run of an inclusive bound: leaving at its last digit and going on equal to
                # a (then anything) merge into one class.
                if run > 1:
                    out.append(_cat(_Lit(p), _rep(_Lit(c), 0, run - 2), _digit_range(int(c) + 1, 9), star))
                out.append(_cat(_Lit(p + c * (run - 1)), _digit_range(int(c), 9), star))
                return
            if c != "9":
                out.append(_cat(_Lit(p), _rep(_Lit(c), 0, run - 1), _digit_range(int(c) + 1, 9), star))
            p += c * run
            i += run
        # F equals a so far and a has ended: anything, but something nonzero if exclusive.
        if a_excl:
            out.append(_cat(_Lit(p), zeros, _digit_range(1, 9), star))
        else:
            out.append(_cat(_Lit(p), star))

    def upper(p: str, i: int) -> None:
        assert b is not None
        while i < len(b):
            c, run = b[i], _run(b, i)
            # F may stop anywhere inside b (it is then below b) or leave it downwards.
            out.append(_cat(_Lit(p), _rep(_Lit(c), 0, run - 1), _opt(_cat(_digit_range(0, int(c) - 1), star))))
            p += c * run
            i += run
        if not b_excl:
            out.append(_cat(_Lit(p), zeros))

    if a is None:
        upper("", 0)
    elif b is None:
        lower("", 0)
    else:
        # Both bounds tight along their common (zero-padded) prefix.
        p = ""
        i = 0
        while True:
            a_done, b_done = i >= len(a), i >= len(b)
            if a_done and b_done:  # a == b: only a's own value, and only if both are inclusive
                if not a_excl and not b_excl:
                    out.append(_cat(_Lit(p), zeros))
                break
            if a_done and not a_excl:
                out.append(_Lit(p))  # F ends here: equal to a, below b
            ai = 0 if a_done else int(a[i])
            bi = 0 if b_done else int(b[i])
            if ai == bi:
                p += str(ai)
                i += 1
                continue
            if ai > bi:  # pragma: no cover - callers pass a <= b
                raise AssertionError("fraction bounds out of order")
            out.append(_cat(_Lit(p), _digit_range(ai + 1, bi - 1), star))
            lower(p + str(ai), i + 1)
            upper(p + str(bi), i + 1)
            break
    return _alt(*out)


def _dotted(fraction: _Lang) -> _Lang:
    """``\\.F`` for the nonempty ``F`` of a fraction language, or nothing where ``F`` may be empty."""
    if fraction is None:
        return None
    nonempty = _nonempty(fraction)
    return _alt(
        _cat(_Lit("."), nonempty) if nonempty is not None else None,
        _EPS if _nullable(fraction) else None,
    )


_ANY_FRACTION = _opt(_cat(_Lit("."), _rep(_D, 1, None)))


def _mantissa(sa: str | None, a_excl: bool, sb: str | None, b_excl: bool) -> _Lang:
    """Normalized mantissas ``d(.F)?`` (``d`` in 1..9) with digits ``dF`` between ``sa`` and ``sb``."""
    lo = int(sa[0]) if sa else 1
    hi = int(sb[0]) if sb else 9
    out: list[_Lang] = []
    free_lo, free_hi = lo, hi
    if sa and (len(sa) > 1 or a_excl or (sb and hi == lo)):
        upper = (sb[1:], b_excl) if sb and hi == lo else (None, False)
        out.append(_cat(_Lit(str(lo)), _dotted(_fraction(sa[1:], a_excl, *upper))))
        free_lo = lo + 1
    if sb:
        if not (sa and hi == lo):
            out.append(_cat(_Lit(str(hi)), _dotted(_fraction(None, False, sb[1:], b_excl))))
        free_hi = hi - 1
    out.append(_cat(_digit_range(free_lo, free_hi), _ANY_FRACTION))
    return _alt(*out)


def _exponent(lo: int | None, hi: int | None) -> _Lang:
    """``[eE]`` and an exponent text (sign optional, leading zeros allowed) valued in ``[lo, hi]``."""
    zeros = _rep(_Lit("0"), 0, None)

    def unsigned(p: int, q: int | None) -> _Lang:
        if p == 0 and q is None:
            return _rep(_D, 1, None)
        return _cat(zeros, _uint_range(p, q))

    pos = unsigned(max(lo, 0) if lo is not None else 0, hi) if hi is None or hi >= 0 else None
    neg = unsigned(max(-hi, 0) if hi is not None else 0, -lo if lo is not None else None) if lo is None or lo <= 0 else None
    if pos is not None and pos == neg:
        body = _cat(_opt(_Set("+-")), pos)
    else:
        body = _alt(_cat(_opt(_Lit("+")), pos), _cat(_Lit("-"), neg))
    return _cat(_Set("Ee"), body)


_ANY_EXPONENT = _cat(_Set("Ee"), _opt(_Set("+-")), _rep(_D, 1, None))
_ZERO_MANTISSA = _cat(_Lit("0"), _opt(_cat(_Lit("."), _rep(_Lit("0"), 1, None))))


def _magnitude(a: Decimal, a_excl: bool, b: Decimal | None, b_excl: bool) -> _Lang:
    """Unsigned number texts with value in the interval from ``a >= 0`` to ``b`` (None: no bound)."""
    if b is not None and (a > b or (a == b and (a_excl or b_excl))):
        return None
    if a == 0 and b is None:
        if not a_excl:
            return _cat(
                _alt(_Lit("0"), _cat(_digit_range(1, 9), _rep(_D, 0, None))), _ANY_FRACTION, _opt(_ANY_EXPONENT)
            )
        nonzero = _alt(
            _cat(_digit_range(1, 9), _rep(_D, 0, None), _ANY_FRACTION),
            _cat(_Lit("0."), _rep(_Lit("0"), 0, None), _digit_range(1, 9), _rep(_D, 0, None)),
        )
        return _cat(nonzero, _opt(_ANY_EXPONENT))

    out: list[_Lang] = []
    # Plain decimals I(.F)?.
    ia, fa = _split(a)
    if b is not None:
        ib, fb = _split(b)
    if b is not None and ia == ib:
        out.append(_cat(_Lit(str(ia)), _dotted(_fraction(fa, a_excl, fb, b_excl))))
    else:
        any_from = ia if (fa == "" and not a_excl) else ia + 1
        if any_from != ia:
            out.append(_cat(_Lit(str(ia)), _dotted(_fraction(fa, a_excl, None, False))))
        out.append(_cat(_uint_range(any_from, ib - 1 if b is not None else None), _ANY_FRACTION))
        if b is not None:
            out.append(_cat(_Lit(str(ib)), _dotted(_fraction(None, False, fb, b_excl))))

    # Exponent forms with a zero mantissa (value 0).
    if a == 0 and not a_excl:
        out.append(_cat(_ZERO_MANTISSA, _ANY_EXPONENT))
    # Exponent forms with a normalized mantissa: the exponent picks the decade.
    if b is None or b > 0:
        sa, ea = _scientific(a) if a > 0 else (None, None)
        sb, eb = _scientific(b) if b is not None else (None, None)
        if ea is not None and ea == eb:
            out.append(_cat(_mantissa(sa, a_excl, sb, b_excl), _exponent(ea, ea)))
        else:
            lo_e = ea + 1 if ea is not None else None
            hi_e = eb - 1 if eb is not None else None
            if lo_e is None or hi_e is None or lo_e <= hi_e:
                out.append(_cat(_mantissa(None, False, None, False), _exponent(lo_e, hi_e)))
            if ea is not None:
                out.append(_cat(_mantissa(sa, a_excl, None, False), _exponent(ea, ea)))
            if eb is not None:
                out.append(_cat(_mantissa(None, False, sb, b_excl), _exponent(eb, eb)))
    return _alt(*out)


def _signed(pos: _Lang, neg: _Lang) -> _Lang:
    """Non-negative texts from ``pos`` and ``-`` followed by ``neg``."""
    if pos is not None and pos == neg:
        return _cat(_opt(_Lit("-")), pos)
    return _alt(pos, _cat(_Lit("-"), neg))


# ----------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------


def _integer_bound(x: Bound, exclusive: bool, lower: bool, what: str) -> int | None:
    """The least integer >= (or >) ``x`` for a lower bound, the greatest <= (or <) for an upper one."""
    d = _to_decimal(x, what)
    if d is None:
        return None
    n = int(d.to_integral_value(rounding=ROUND_CEILING if lower else ROUND_FLOOR))
    if exclusive and d == n:
        n += 1 if lower else -1
    return n


def integer_range_regex(
    lo: Bound,
    hi: Bound,
    *,
    lo_exclusive: bool = False,
    hi_exclusive: bool = False,
) -> str:
    """Regex of the JSON integer texts whose value lies in ``[lo, hi]``.

    Accepted language: exactly the texts matching ``-?(0|[1-9][0-9]*)`` (no leading zeros, no
    fraction, no exponent) whose value ``n`` satisfies ``lo <= n <= hi`` (strict with the
    ``*_exclusive`` flags); a ``None`` bound is no bound. ``-0`` has the value 0 and is accepted
    exactly when 0 is in range. ``1.0`` and ``1e3`` are *not* accepted although JSON Schema counts
    them as integers: a sound restriction (``json.dumps`` of an ``int`` never writes them).

    Bounds may be ``int``, ``float`` (read as its repr), ``Decimal`` or ``Fraction``; non-integral
    bounds are rounded inwards. Size: O(number of digits of the bounds); no value is enumerated.

    Raises:
        NumericRangeError: a bound that is not a finite number or has too many digits.
    """
    lo_i = _integer_bound(lo, lo_exclusive, True, "minimum")
    hi_i = _integer_bound(hi, hi_exclusive, False, "maximum")
    if lo_i is None and hi_i is None:
        return JSON_INTEGER_REGEX
    if lo_i is not None and hi_i is not None and lo_i > hi_i:
        return EMPTY_REGEX
    pos = _uint_range(max(lo_i, 0) if lo_i is not None else 0, hi_i) if hi_i is None or hi_i >= 0 else None
    neg = (
        _uint_range(max(-hi_i, 0) if hi_i is not None else 0, -lo_i if lo_i is not None else None)
        if lo_i is None or lo_i <= 0
        else None
    )
    return _to_regex(_signed(pos, neg))


def number_range_regex(
    lo: Bound = None,
    hi: Bound = None,
    lo_exclusive: bool = False,
    hi_exclusive: bool = False,
) -> str:
    """Regex of the JSON number texts whose value lies between ``lo`` and ``hi``.

    Accepted language: the texts ``t`` matching
    ``-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?`` whose exact decimal value lies in the range
    (``lo < v`` instead of ``lo <= v`` when ``lo_exclusive``, likewise for ``hi``; ``None`` is no
    bound), *and* which are

    * plain (no exponent), or
    * an exponent form whose mantissa is zero (``0``, ``0.0``, ...) or normalized
      (``[1-9](\\.[0-9]+)?``, the form ``json.dumps`` writes: ``1e-05``, ``1.5e+300``), or
    * any exponent form, when every number of the text's sign is in range (no upper bound and
      ``lo <= 0`` for ``+``; no lower bound and ``hi >= 0`` for ``-``).

    So the only JSON number texts in range that are refused are exponent forms such as ``12e3`` or
    ``0.5e1`` when a nonzero finite bound applies to their sign: "value >= c" is not a regular
    language over those. In particular ``json.dumps(x)`` is accepted for every finite float or int
    ``x`` in range, and ``(None, None)`` gives :data:`JSON_NUMBER_REGEX`. Negative zero counts as 0.

    Bounds may be ``int``, ``float`` (read as its shortest repr), ``Decimal`` or a ``Fraction`` with a
    finite decimal expansion. An empty range gives :data:`EMPTY_REGEX`.

    Raises:
        NumericRangeError: a bound that is not finite or exceeds :data:`MAX_DIGIT_RUNS` /
            :data:`MAX_EXPONENT`.
    """
    a = _to_decimal(lo, "minimum")
    b = _to_decimal(hi, "maximum")
    if a is None and b is None:
        return JSON_NUMBER_REGEX
    if a is not None and b is not None and (a > b or (a == b and (lo_exclusive or hi_exclusive))):
        return EMPTY_REGEX
    zero = Decimal(0)
    # Non-negative texts: magnitude in [max(lo, 0), hi].
    pos: _Lang = None
    if b is None or b >= 0:
        if a is None or a < 0:
            pos = _magnitude(zero, False, b, hi_exclusive)
        else:
            pos = _magnitude(a, lo_exclusive, b, hi_exclusive)
    # Negative texts -M: |M| in [max(-hi, 0), -lo].
    neg: _Lang = None
    if a is None or a <= 0:
        top = None if a is None else a.copy_abs()
        if b is None or b > 0:
            neg = _magnitude(zero, False, top, lo_exclusive)
        else:
            neg = _magnitude(b.copy_abs(), hi_exclusive, top, lo_exclusive)
    return _to_regex(_signed(pos, neg))
