"""Numeric-range regexes (constrain.jsonschema.numeric) and DFA intersection (constrain.regex.product).

Every regex is checked against an independent oracle: a strict JSON number regex in Python's ``re``
plus exact arithmetic with ``Fraction`` on the text's value.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import os
import re
import time
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constrain.errors import AutomatonTooLargeError, ConstraintError
from constrain.jsonschema import numeric as N
from constrain.regex import ByteDFA, compile_regex
from constrain.regex.product import intersect, intersect_all

JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
JSON_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
# NUMERIC_EXAMPLES=2000 for a longer hunt.
SETTINGS = settings(
    max_examples=int(os.environ.get("NUMERIC_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@functools.lru_cache(maxsize=4096)
def dfa(pattern: str) -> ByteDFA:
    return compile_regex(pattern)


def matches(pattern: str, text: str) -> bool:
    return dfa(pattern).fullmatch(text.encode())


def exact(x) -> Fraction | None:
    """A bound's exact value as the module reads it (floats by their shortest repr)."""
    if x is None:
        return None
    if isinstance(x, float):
        return Fraction(Decimal(repr(x)))
    return Fraction(x)


def decimal_text(v: Fraction) -> str:
    """The plain decimal text of a value with a finite decimal expansion."""
    with localcontext() as ctx:
        ctx.prec = 1000
        d = Decimal(v.numerator) / Decimal(v.denominator)
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


class Range:
    def __init__(self, lo, hi, lo_excl=False, hi_excl=False):
        self.lo, self.hi = exact(lo), exact(hi)
        self.lo_excl, self.hi_excl = lo_excl and lo is not None, hi_excl and hi is not None

    def __contains__(self, v: Fraction) -> bool:
        if self.lo is not None and (v < self.lo or (self.lo_excl and v == self.lo)):
            return False
        if self.hi is not None and (v > self.hi or (self.hi_excl and v == self.hi)):
            return False
        return True

    def __repr__(self) -> str:
        return f"Range({self.lo}, {self.hi}, {self.lo_excl}, {self.hi_excl})"


@functools.lru_cache(maxsize=None)
def parse_number(text: str) -> tuple[Fraction, bool, bool] | None:
    """(value, exponent form whose mantissa is neither zero nor normalized, negative) or None."""
    m = JSON_NUMBER.fullmatch(text)
    if not m:
        return None
    irregular = False
    if m.group(2) is not None:
        mantissa = text[: m.start(2)].lstrip("-")
        irregular = not (Fraction(mantissa) == 0 or re.fullmatch(r"[1-9](\.[0-9]+)?", mantissa))
    return Fraction(text), irregular, text.startswith("-")


def number_oracle(text: str, rng: Range) -> bool:
    """The documented language of number_range_regex, computed independently."""
    parsed = parse_number(text)
    if parsed is None:
        return False
    value, irregular, negative = parsed
    if value not in rng:
        return False
    if not irregular:
        return True  # plain texts and exponent forms with a zero or normalized mantissa: exact
    # Other exponent forms: only when every number of the text's sign is in range.
    if negative:
        return rng.lo is None and (rng.hi is None or rng.hi >= 0)
    return rng.hi is None and (rng.lo is None or rng.lo <= 0)


def integer_oracle(text: str, rng: Range) -> bool:
    return bool(JSON_INTEGER.fullmatch(text)) and Fraction(int(text)) in rng


def respellings(v: Fraction) -> list[str]:
    """Many JSON (and near-JSON) spellings of a value: plain, padded, scientific, broken."""
    plain = decimal_text(v)
    sign = "-" if plain.startswith("-") else ""
    body = plain.lstrip("-")
    digits = body.replace(".", "")
    point = body.index(".") if "." in body else len(body)
    out = [plain, "-" + body, sign + body + ("" if "." in body else ".0"), sign + body + ("00" if "." in body else ".000")]
    out += [sign + "0" + body, "+" + body, sign + body + ".", sign + "." + body, sign + body + "e", plain + "e0"]
    stripped = digits.lstrip("0") or "0"
    exp10 = point - (len(digits) - len(stripped)) - 1  # value = 0.stripped... as d.ddd * 10^exp10
    for shift in (0, 1, -1, 2):  # mantissa with 1 + shift integer digits
        k = 1 + shift
        if k <= 0:
            mant = "0." + "0" * (-k) + stripped
        elif k >= len(stripped):
            mant = stripped + "0" * (k - len(stripped))
        else:
            mant = stripped[:k] + "." + stripped[k:]
        e = exp10 - shift
        for fmt in ("e{}", "E{:+d}", "e{:+03d}", "e{:04d}"):
            out.append(sign + mant + fmt.format(e))
    return out


def candidates_near(b: Fraction) -> list[str]:
    """Texts at and around a bound: the bound itself, steps of 10^-k, nearby floats."""
    out = respellings(b)
    for k in range(0, 8):
        step = Fraction(1, 10**k)
        out += [decimal_text(b + step), decimal_text(b - step)]
    out += respellings(b + Fraction(1, 10**9)) + respellings(b - Fraction(1, 10**9))
    f = float(b)
    for g in (f, math.nextafter(f, math.inf), math.nextafter(f, -math.inf)):
        if math.isfinite(g):
            out.append(json.dumps(g))
    for n in (math.floor(b) - 1, math.floor(b), math.ceil(b), math.ceil(b) + 1):
        out.append(str(n))
    return out


def check_number_regex(pattern: str, rng: Range, texts) -> None:
    for text in texts:
        assert matches(pattern, text) == number_oracle(text, rng), (text, rng, pattern)


# --------------------------------------------------------------------------------------------
# Integers
# --------------------------------------------------------------------------------------------

INT_TEXTS = [str(n) for n in range(-300, 301)] + ["-0", "00", "01", "-00", "-01", "1.0", "1e3", "+1", "", "-", "0.0"]


def test_integer_ranges_exhaustive_grid():
    grid = [None, 0, 1, -1, 9, 10, 99, 100, -10, -100, 119, -119] + list(range(-120, 121, 13))
    for lo, hi in itertools.product(grid, grid):
        pattern = N.integer_range_regex(lo, hi)
        rng = Range(lo, hi)
        d = compile_regex(pattern)
        for text in INT_TEXTS:
            assert d.fullmatch(text.encode()) == integer_oracle(text, rng), (lo, hi, text, pattern)


@pytest.mark.parametrize(
    "lo,hi",
    [(-17, 2048), (-999, -10), (0, 999), (1, 1000), (-500, None), (None, 37), (0, 0), (-1, -1), (5, 4), (-1000, 1000)],
)
def test_integer_ranges_all_small_values(lo, hi):
    pattern = N.integer_range_regex(lo, hi)
    d = compile_regex(pattern)
    rng = Range(lo, hi)
    for n in range(-1100, 1101):
        assert d.fullmatch(str(n).encode()) == (Fraction(n) in rng), (n, pattern)
    assert d.fullmatch(b"-0") == (0 in rng)
    for bad in (b"00", b"01", b"1.0", b"1e1", b"+1", b"", b"-", b"--1"):
        assert not d.fullmatch(bad)


def test_integer_regex_examples():
    assert N.integer_range_regex(None, None) == N.JSON_INTEGER_REGEX
    assert N.integer_range_regex(10, 99) == "[1-9]\\d"
    assert N.integer_range_regex(3, 2) == N.EMPTY_REGEX
    assert not compile_regex(N.EMPTY_REGEX).fullmatch(b"")
    assert len(N.integer_range_regex(-17, 2048)) < 80
    assert len(N.integer_range_regex(0, 10**18)) < 40


def test_integer_regex_is_compact():
    # O(digits): no value is enumerated; text grows linearly with the digit count.
    for digits in (10, 20, 40):
        lo = -int("7" + "3" * (digits - 1))
        hi = int("1234567890" * (digits // 10))
        pattern = N.integer_range_regex(lo, hi)
        assert len(pattern) < 35 * digits, (digits, len(pattern))
        d = compile_regex(pattern)
        assert d.num_states < 8 * digits
        for n in (lo, hi, lo - 1, hi + 1, lo + 1, hi - 1, 0, -1, (lo + hi) // 2):
            assert d.fullmatch(str(n).encode()) == (lo <= n <= hi), n


def test_integer_regex_with_non_integer_bounds():
    cases = [(0.5, 3.5, False, False), (0.5, 3.5, True, True), (1, 3, True, True), (Decimal("-2.5"), Fraction(7, 2), False, False),
             (-1e20, 1e20, True, False), (Decimal("1e3"), None, True, False)]
    for lo, hi, lx, hx in cases:
        pattern = N.integer_range_regex(lo, hi, lo_exclusive=lx, hi_exclusive=hx)
        rng = Range(lo, hi, lx, hx)
        probes = list(range(-6, 7)) + [999, 1000, 1001, 10**20 - 1, 10**20, 10**20 + 1, -(10**20), -(10**20) + 1]
        for n in probes:
            assert matches(pattern, str(n)) == (Fraction(n) in rng), (lo, hi, lx, hx, n)


big_ints = st.one_of(st.integers(-150, 150), st.integers(-10**6, 10**6), st.integers(-10**25, 10**25))
opt_ints = st.one_of(st.none(), big_ints)


@SETTINGS
@given(lo=opt_ints, hi=opt_ints, probes=st.lists(big_ints, max_size=20),
       junk=st.lists(st.from_regex(r"[-+]?0*[0-9]{0,4}(\.[0-9]*)?(e[0-9])?", fullmatch=True), max_size=10))
def test_integer_ranges_property(lo, hi, probes, junk):
    pattern = N.integer_range_regex(lo, hi)
    rng = Range(lo, hi)
    texts = [str(n) for n in probes] + junk + ["-0", "0"]
    for b in (lo, hi):
        if b is not None:
            texts += [str(b + d) for d in range(-2, 3)]
            texts += ["0" + str(abs(b)), str(b) + ".0", str(b) + "e0", "+" + str(abs(b))]
    for text in texts:
        assert matches(pattern, text) == integer_oracle(text, rng), (lo, hi, text, pattern)


# --------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------

GRID_BOUNDS = [None, -100, -3.75, -1, -0.05, 0, 0.05, 0.5, 1, 1.25, 10, 99.5]


def grid_texts() -> list[str]:
    out = set()
    for ip, fp, ep, sg in itertools.product(
        ["0", "1", "3", "9", "10", "99", "100", "00", "01"],
        ["", ".0", ".5", ".25", ".05", ".75", ".049", ".051", ".00", ".1", ".99"],
        ["", "e0", "e1", "e-1", "E+2", "e-2", "e01", "e-00"],
        ["", "-"],
    ):
        out.add(sg + ip + fp + ep)
    out |= {"", "-", ".5", "1.", "+1", "1e", "--1", "1e+", "3.75", "-3.75", "-3.7500", "0.375e1", "37.5e-1", "3.75e0"}
    return sorted(out)


def test_number_ranges_exhaustive_grid():
    texts = grid_texts()
    count = 0
    for lo, hi in itertools.product(GRID_BOUNDS, GRID_BOUNDS):
        for lx, hx in itertools.product((False, True), repeat=2):
            if (lo is None and lx) or (hi is None and hx):
                continue
            pattern = N.number_range_regex(lo, hi, lx, hx)
            d = compile_regex(pattern)
            rng = Range(lo, hi, lx, hx)
            for text in texts:
                assert d.fullmatch(text.encode()) == number_oracle(text, rng), (lo, hi, lx, hx, text, pattern)
            count += 1
    assert count > 400


def test_number_regex_examples():
    assert N.number_range_regex(None, None) == N.JSON_NUMBER_REGEX
    assert N.number_range_regex(2, 1) == N.EMPTY_REGEX
    assert N.number_range_regex(1, 1, True, False) == N.EMPTY_REGEX
    p = N.number_range_regex(0.5, 1.25, False, True)  # minimum 0.5, exclusiveMaximum 1.25
    for text, ok in [("0.5", True), ("0.50", True), ("0.4999", False), ("1", True), ("1.0", True), ("1.2499999", True),
                     ("1.25", False), ("1.250", False), ("5e-1", True), ("1.2e0", True), ("1.25e0", False), ("0.7", True),
                     ("-0.7", False), ("05", False), (".7", False)]:
        assert matches(p, text) == ok, text
    p = N.number_range_regex(-3.75, None)
    for text, ok in [("-3.75", True), ("-3.7500", True), ("-3.76", False), ("-3.75000001", False), ("-3.7499", True),
                     ("12e3", True), ("-0", True), ("-0.0e7", True), ("-3.75e0", True), ("-3.76e0", False), ("-37.5e-1", False)]:
        assert matches(p, text) == ok, text


def test_minimum_zero_admits_every_non_negative_spelling():
    p = N.number_range_regex(0, None)
    for text in ["0", "0.0", "12e3", "0.5e1", "0.0001E+9", "1.5", "-0", "-0.00", "-0e5"]:
        assert matches(p, text), text
    for text in ["-1", "-0.1", "-1e-9", "-0.001e3"]:
        assert not matches(p, text), text
    p = N.number_range_regex(0, None, True)  # exclusiveMinimum: 0
    assert not matches(p, "0") and not matches(p, "-0") and not matches(p, "0.0e5") and matches(p, "0.01e-3")
    p = N.number_range_regex(None, 0, False, True)  # exclusiveMaximum: 0
    assert matches(p, "-12e3") and matches(p, "-0.5e1") and not matches(p, "-0") and not matches(p, "0")


finite_floats = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e25, max_value=1e25).filter(
    lambda x: x == 0 or abs(x) >= 1e-25
)
decimals = st.builds(lambda m, e: Decimal(m).scaleb(e), st.integers(-(10**7), 10**7), st.integers(-9, 4))
bounds = st.one_of(st.none(), finite_floats, decimals, big_ints, st.sampled_from([0, 0.5, -0.5, 1.25, -3.75, 100, 0.1]))


@SETTINGS
@given(lo=bounds, hi=bounds, lx=st.booleans(), hx=st.booleans(),
       floats=st.lists(finite_floats, max_size=15), ints=st.lists(big_ints, max_size=6),
       junk=st.lists(st.from_regex(r"-?[0-9]{1,3}(\.[0-9]{0,3})?([eE][+-]?[0-9]{1,2})?", fullmatch=True), max_size=12))
def test_number_ranges_property(lo, hi, lx, hx, floats, ints, junk):
    pattern = N.number_range_regex(lo, hi, lx, hx)
    rng = Range(lo, hi, lx, hx)
    texts = [json.dumps(x) for x in floats] + [json.dumps(n) for n in ints] + junk
    for b in (rng.lo, rng.hi):
        if b is not None:
            texts += candidates_near(b)
    for x in floats[:4]:
        texts += respellings(Fraction(Decimal(repr(x))))
    check_number_regex(pattern, rng, texts)
    # Every json.dumps(x) in range is accepted (the exponent restriction never bites there).
    for x in floats + ints:
        assert matches(pattern, json.dumps(x)) == (exact(x) in rng), (x, rng)


@SETTINGS
@given(lo=st.one_of(st.none(), finite_floats), hi=st.one_of(st.none(), finite_floats), lx=st.booleans(), hx=st.booleans(),
       xs=st.lists(finite_floats, max_size=20))
def test_float_bounds_agree_with_float_comparison(lo, hi, lx, hx, xs):
    """With float bounds, acceptance of json.dumps(x) is exactly the float comparison a validator makes."""
    pattern = N.number_range_regex(lo, hi, lx, hx)
    probes = list(xs)
    for b in (lo, hi):
        if b is not None:
            probes += [b, math.nextafter(b, math.inf), math.nextafter(b, -math.inf), -b]
    for x in probes:
        ok = (lo is None or (x > lo if lx else x >= lo)) and (hi is None or (x < hi if hx else x <= hi))
        assert matches(pattern, json.dumps(x)) == ok, (lo, hi, lx, hx, x)


@pytest.mark.parametrize(
    "lo,hi,lx,hx",
    [(1e-300, None, False, False), (None, 1.7976931348623157e308, False, False), (1.7976931348623157e308, None, True, False),
     (5e-324, 1e-300, False, True), (-1e300, 1e300, True, True), (Decimal("1e-400"), Decimal("1e400"), False, False),
     (2**63, None, True, False), (-(2**63), 2**64 - 1, False, False)],
)
def test_extreme_bounds(lo, hi, lx, hx):
    start = time.perf_counter()
    pattern = N.number_range_regex(lo, hi, lx, hx)
    d = compile_regex(pattern)
    assert time.perf_counter() - start < 5
    rng = Range(lo, hi, lx, hx)
    texts = []
    for b in (rng.lo, rng.hi):
        if b is not None:
            texts += respellings(b) + [decimal_text(b + Fraction(1, 10**400)), decimal_text(b - Fraction(1, 10**400))]
            texts += [decimal_text(b * 2), decimal_text(b / 2), decimal_text(-b)]
    texts += ["0", "-0", "1", "-1", "1e308", "1e-320", "-5e-324", json.dumps(1.7976931348623157e308)]
    for text in texts:
        assert d.fullmatch(text.encode()) == number_oracle(text, rng), (lo, hi, text[:60])


def test_bound_types_and_errors():
    # Floats are read by their repr: minimum 0.1 admits "0.1" (the binary value of 0.1 is larger).
    assert matches(N.number_range_regex(0.1, None), "0.1")
    assert not matches(N.number_range_regex(0.1, None, True), "0.1")
    assert matches(N.number_range_regex(Fraction(1, 8), Fraction(1, 4)), "0.125")
    with pytest.raises(N.NumericRangeError):
        N.number_range_regex(Fraction(1, 3), None)
    for bad in (math.nan, math.inf, -math.inf, True, "1", Decimal("NaN"), Decimal("Infinity")):
        with pytest.raises(N.NumericRangeError):
            N.number_range_regex(bad, None)
        with pytest.raises(ValueError):
            N.integer_range_regex(None, bad)
    with pytest.raises(N.NumericRangeError):
        N.number_range_regex(Decimal("1e-401"), None)
    with pytest.raises(N.NumericRangeError):
        N.integer_range_regex(int("12" * 50), None)  # 100 runs of equal digits
    assert issubclass(N.NumericRangeError, ConstraintError) and issubclass(N.NumericRangeError, ValueError)


def test_many_runs_within_limit():
    n = int("12" * (N.MAX_DIGIT_RUNS // 2))  # exactly MAX_DIGIT_RUNS runs: deepest nesting allowed
    pattern = N.integer_range_regex(-n, n)
    d = compile_regex(pattern)
    for v in (n, n - 1, n + 1, -n, -n - 1, 0, n // 7, -(n // 3), 10**79, 10**80):
        assert d.fullmatch(str(v).encode()) == (-n <= v <= n), v
    p = N.number_range_regex(Fraction(n, 10**40), None, True)
    assert matches(p, decimal_text(Fraction(n, 10**40) + Fraction(1, 10**50)))
    assert not matches(p, decimal_text(Fraction(n, 10**40)))


def test_compile_times_of_examples():
    for args in [(-17, 2048), (0, 10**18)]:
        start = time.perf_counter()
        compile_regex(N.integer_range_regex(*args))
        assert time.perf_counter() - start < 0.5
    start = time.perf_counter()
    compile_regex(N.number_range_regex(0.5, 1.25, False, True))
    assert time.perf_counter() - start < 0.5


# --------------------------------------------------------------------------------------------
# multipleOf
# --------------------------------------------------------------------------------------------

MULT_TEXTS = [str(n) for n in range(-2100, 2101)] + ["-0", "00", "+4", "4.0", "1e2", "010", ""]


def multiple_oracle(text: str, k: Fraction, rng: Range) -> bool:
    return integer_oracle(text, rng) and (Fraction(int(text)) / k).denominator == 1


@pytest.mark.parametrize("k", [1, 2, 4, 5, 8, 10, 16, 20, 25, 40, 50, 100, 125, 250, 1000, 10**6])
def test_multiple_of_suffix_rule_unbounded(k):
    pattern = N.multiple_of_regex(k)
    assert pattern is not None
    d = compile_regex(pattern)
    for text in MULT_TEXTS:
        assert d.fullmatch(text.encode()) == multiple_oracle(text, Fraction(k), Range(None, None)), (k, text)
    big = 10**30
    for n in (big, big + k, big + 1, -big - k, 123456789 * k, 123456789 * k + 1):
        assert d.fullmatch(str(n).encode()) == (n % k == 0)


@pytest.mark.parametrize(
    "k,lo,hi",
    [(2, -50, 75), (25, 0, None), (8, None, -3), (7, -100, 100), (7, 0, 1000), (3, -20, 20), (13, 500, 2000),
     (7, 0, None), (16, 1, 2000), (9, 5, 4), (Decimal("1.5"), -40, 40), (0.5, -5, 5), (1000, -1, 1), (11, -2000, 2000)],
)
def test_multiple_of_with_range(k, lo, hi):
    rng = Range(lo, hi)
    base = Fraction(Decimal(repr(k)) if isinstance(k, float) else k)
    range_dfa = compile_regex(N.integer_range_regex(lo, hi))
    pattern = N.multiple_of_regex(k, lo, hi)
    exact_dfa = N.multiple_of_range_dfa(k, lo, hi)
    combined = intersect(range_dfa, compile_regex(pattern)) if pattern is not None else None
    for text in MULT_TEXTS:
        want = multiple_oracle(text, base, rng)
        assert exact_dfa.fullmatch(text.encode()) == want, (k, lo, hi, text)
        if combined is not None:
            assert combined.fullmatch(text.encode()) == want, (k, lo, hi, text, pattern)
            # The regex alone accepts only multiples of k.
            if matches(pattern, text):
                assert multiple_oracle(text, base, Range(None, None)), (k, text, pattern)


def test_multiple_of_returns_none_without_a_compact_regex():
    assert N.multiple_of_regex(7) is None
    assert N.multiple_of_regex(7, 0, None) is None
    assert N.multiple_of_regex(7, -10**6, 10**6) is None
    assert N.multiple_of_regex(2**12) is None  # 5^12 suffixes
    assert N.multiple_of_regex(7, 0, 1000) is not None  # 143 multiples, listed
    assert N.multiple_of_regex(9, 5, 4) == N.EMPTY_REGEX


@pytest.mark.parametrize("k", list(range(1, 40)) + [97, 128, 1000, 4096])
def test_multiple_of_dfa(k):
    d = N.multiple_of_dfa(k)
    assert d.num_states <= k + 3
    for n in range(-1200, 1201):
        assert d.fullmatch(str(n).encode()) == (n % k == 0), (k, n)
    assert d.fullmatch(b"-0") and d.fullmatch(b"0")
    for bad in (b"00", b"0" + str(k).encode(), b"+" + str(k).encode(), str(k).encode() + b".0", b"", b"-"):
        assert not d.fullmatch(bad)


def test_multiple_of_errors():
    for bad in (0, -3, math.nan, True, None, Fraction(1, 3)):
        with pytest.raises(N.NumericRangeError):
            N.multiple_of_regex(bad)
    with pytest.raises(AutomatonTooLargeError):
        N.multiple_of_dfa(10**6 + 7, max_states=1000)


# --------------------------------------------------------------------------------------------
# intersect
# --------------------------------------------------------------------------------------------

ALPHABET = "abc"
ALL_STRINGS = ["".join(p) for n in range(6) for p in itertools.product(ALPHABET, repeat=n)] + ["é", "aé", "éa", "ab\n"]

atoms = st.sampled_from(["a", "b", "c", "[ab]", "[^a]", ".", "(?:)", "[bc]"])
regexes = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda t: t[0] + t[1]),
        st.tuples(inner, inner).map(lambda t: f"(?:{t[0]}|{t[1]})"),
        inner.map(lambda r: f"(?:{r})*"),
        inner.map(lambda r: f"(?:{r})?"),
        st.tuples(inner, st.integers(0, 2), st.integers(0, 2)).map(lambda t: f"(?:{t[0]}){{{t[1]},{t[1] + t[2]}}}"),
    ),
    max_leaves=8,
)


@SETTINGS
@given(r1=regexes, r2=regexes)
def test_intersect_matches_brute_force(r1, r2):
    a, b = compile_regex(r1), compile_regex(r2)
    both = intersect(a, b)
    for s in ALL_STRINGS:
        data = s.encode()
        assert both.fullmatch(data) == (a.fullmatch(data) and b.fullmatch(data)), (r1, r2, s)
    # Minimal and trimmed like any compiled regex: a second product changes nothing.
    assert intersect(both, both).num_states == both.num_states
    assert intersect(b, a).num_states == both.num_states


def test_intersect_examples():
    a = compile_regex("[a-z]+")
    assert intersect(a, a).num_states == a.num_states
    empty = intersect(compile_regex("a+"), compile_regex("b+"))
    assert empty.num_states == 1 and not empty.accepting.any() and (empty.table < 0).all()
    # Pattern with a length range: allOf of 'pattern' and {min,maxLength}.
    d = intersect(compile_regex("[a-zé]*x"), compile_regex(".{2,3}"))
    assert d.fullmatch("éx".encode()) and d.fullmatch(b"abx") and not d.fullmatch(b"x") and not d.fullmatch(b"abcx")
    # Numeric range with multipleOf, via the two DFAs.
    d = intersect(compile_regex(N.integer_range_regex(-17, 2048)), compile_regex(N.multiple_of_regex(25)))
    assert [n for n in range(-100, 2200) if d.fullmatch(str(n).encode())] == [n for n in range(-17, 2049) if n % 25 == 0]
    assert intersect_all([compile_regex("a*"), compile_regex("(?:aa)*"), compile_regex("(?:aaa)*")]).fullmatch(b"a" * 6)
    assert not intersect_all([compile_regex("a*"), compile_regex("(?:aa)*"), compile_regex("(?:aaa)*")]).fullmatch(b"a" * 4)


def test_intersect_budget():
    a = compile_regex("[ab]*a[ab]{5}")
    b = compile_regex("[ab]*b[ab]{6}")
    with pytest.raises(AutomatonTooLargeError):
        intersect(a, b, max_states=100)
    d = intersect(a, b)
    for s in ("a" + "b" * 6 + "a" * 0, "ab" + "a" * 5, "b" * 7, "abbbbbb"):
        data = s.encode()
        assert d.fullmatch(data) == (a.fullmatch(data) and b.fullmatch(data))


def test_intersect_alphabets_of_different_lengths():
    # An automaton with a call symbol (byte_class of length 257, like a grammar rule's): the call
    # column is dead in the product because the plain regex has no such symbol.
    byte_class = np.zeros(257, dtype=np.int32)
    byte_class[ord("a")] = 1
    byte_class[256] = 2
    table = np.array([[-1, 1, 1], [-1, -1, -1]], dtype=np.int32)
    with_call = ByteDFA(byte_class=byte_class, table=table, accepting=np.array([False, True]), start=0)
    d = intersect(with_call, compile_regex("[a-c]"))
    assert len(d.byte_class) == 257
    assert d.fullmatch(b"a") and not d.fullmatch(b"b")
    assert (d.table[:, d.byte_class[256]] < 0).all()

    class Lazy(ByteDFA):
        lazy = True

    lazy = Lazy(byte_class=byte_class, table=table, accepting=np.array([False, True]), start=0)
    with pytest.raises(TypeError):
        intersect(lazy, compile_regex("a"))
