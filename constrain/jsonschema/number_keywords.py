"""Number keywords of the JSON Schema compiler.

``minimum``/``maximum`` (and their exclusive forms), ``multipleOf``, ``type: integer`` and
negated number schemas: the number texts a schema allows, and the sets of numbers a schema
under ``not``/``oneOf`` accepts. Holds the mixin :class:`NumberKeywords` and the helpers only
it uses; the number automata themselves are in :mod:`.numeric`.

Imports go down only: this module may import :mod:`.keywords`, :mod:`.refs`, the automata modules
(:mod:`.strings`, :mod:`.numeric`, :mod:`.formats`, ``constrain.regex``), ``constrain.grammar`` and
``constrain.errors``; never :mod:`.compiler` nor another keyword family module (the methods of the
other families are reached through ``self``).
"""

from __future__ import annotations

import functools
import json
import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

from ..errors import InvalidSchemaError, MalformedSchemaError
from ..grammar import NUMBER_BYTES, CheckedNumber
from ..regex import compile_regex
from ..regex.automaton import ByteDFA, Call, Embed
from ..regex.parser import Alt, Concat, Node, Repeat, parse
from ..regex.product import intersect as intersection
from ..regex.setops import difference, is_empty
from . import strings
from .keywords import REFUSED, _dfa_of, _exactly_one, _ptr, _Refused, _types_of, _union
from .strings import literal


class NumberKeywords:
    """Methods of :class:`~constrain.jsonschema.compiler.SchemaCompiler` for number schemas.

    Calls through ``self``: ``_new_rule``, ``_resolve``, ``unsupported`` (compiler);
    ``_merge_all_of`` (combinators); ``_valid_values`` (enums). Compiler state it uses:
    ``_lazy_rules``, ``_rule_of``, ``_rules``, ``_sets``, ``resolver``.
    """

    def _number(self, schema: dict, ptr: str, integer: bool) -> Node:
        negated = schema.get("$not_numbers")
        if not negated:
            return self._number_node(schema, ptr, integer, checked=True)

        def without_negated(texts: ByteDFA) -> ByteDFA:
            # Subtract, within plain decimal texts (no exponent), every text whose value satisfies
            # a negated schema: exact there, since each such automaton holds all plain texts of
            # its values. Fractions keep to 15 significant digits, so that the float a validator
            # reads compares with bounds and integers as the decimal text does
            # ("1.0000000000000001" reads as 1.0).
            dfa = intersection(texts, _float_safe_number_dfa())
            for neg in negated:
                neg_texts = self._number_texts(neg, ptr)
                if neg_texts is not None:
                    dfa = difference(dfa, neg_texts)
            if is_empty(dfa):
                raise InvalidSchemaError(f"no number satisfies the schema and its not at {ptr or '/'}")
            return dfa

        # A fractional multipleOf checked value by value keeps its check: the negations are
        # taken out of the texts it checks (fuzz_json seed 612 case 446: -0.9 under
        # multipleOf 0.1 beside a not was left out, only integers were generated).
        node = self._number_node(schema, ptr, integer, checked=True, restrict=without_negated)
        if isinstance(node, Call):
            return node
        return Embed(without_negated(_dfa_of(node)))

    def _number_texts(self, neg: Any, ptr: str) -> ByteDFA | None:
        """DFA of the plain number texts whose value satisfies ``neg``; None when refused."""
        try:
            return self._number_set(neg, "", ptr)
        except _Refused as exc:
            self.unsupported("not", ptr, str(exc))
            return None

    def _number_set(self, schema: Any, base: str, ptr: str, depth: int = 0) -> ByteDFA:
        """DFA of the plain (exponent-free) number texts whose value satisfies ``schema``.

        Exact within plain texts, so complements are exact too: bounds, integer and 10^-k
        ``multipleOf``, ``type: integer``, enum/const, and ``anyOf``/``oneOf``/``not``/``allOf``
        as union / exclusive union / complement / intersection. Keywords for other types do not
        constrain numbers. Raises _Refused for what has no exact automaton.
        """
        if depth > 32:
            raise _Refused("number schemas nested too deeply")
        schema, base = self._resolve(schema, base, ptr)
        key = ("numbers", base, json.dumps(schema, sort_keys=True, default=repr))
        if key not in self._sets:
            self._sets[key] = self._number_set_of(schema, base, ptr, depth)
        return self._sets[key]

    def _number_set_of(self, schema: Any, base: str, ptr: str, depth: int) -> ByteDFA:
        from . import numeric

        plain = _plain_number_dfa()
        nothing = compile_regex("[]")
        if schema is True:
            return plain
        if schema is False:
            return nothing
        if not isinstance(schema, dict):
            raise MalformedSchemaError(f"a schema must be an object or a boolean at {ptr or '/'}")
        if "allOf" in schema or "$ref" in schema:
            schema = self._merge_all_of(schema, self.resolver.base_of(schema, base), ptr)
        types = set(_types_of(schema))
        if not types & {"number", "integer"}:
            return nothing
        for key in schema:
            if key in REFUSED:
                raise _Refused(f"{key!r} in a negated or exclusive number schema")
        try:
            if "const" in schema or "enum" in schema:
                dfa = nothing
                for v in self._valid_values(schema, base, ptr) or []:
                    if isinstance(v, (int, float)) and not isinstance(v, bool):
                        dfa = _union(dfa, compile_regex(numeric.number_range_regex(v, v)))
                return intersection(dfa, plain)
            try:
                lo, lo_excl, hi, hi_excl = _bounds(schema, ptr)
            except MalformedSchemaError:
                raise
            except InvalidSchemaError:
                return nothing  # bounds no number fits: the set is empty (its complement is every number)
            dfa = intersection(compile_regex(numeric.number_range_regex(lo, hi, lo_excl, hi_excl)), plain)
        except numeric.NumericRangeError as exc:
            raise _Refused(str(exc)) from None
        multiple = schema.get("multipleOf")
        if multiple is not None and (isinstance(multiple, bool) or not isinstance(multiple, (int, float)) or multiple <= 0):
            raise MalformedSchemaError(f"multipleOf must be a positive number at {ptr or '/'}")
        integer_valued = "number" not in types or (multiple is not None and float(multiple).is_integer())
        if multiple is not None and float(multiple).is_integer() and multiple != 1:
            # An integer multiple of k: an integer text of a multiple, with an optional zero fraction.
            ints = numeric.multiple_of_range_dfa(int(multiple))
            dfa = intersection(dfa, _dfa_of(Concat((Embed(ints), parse(r"(?:\.0+)?")))))
        elif (multiple is not None and not float(multiple).is_integer()
              and ("number" in types or not _integers_divide_exactly(multiple))):
            # Validators divide in floats (0.3 / 0.1 is 2.9999999999999996): the numbers passing a
            # fractional multipleOf form no regular set, and a negation needs the exact one. Nor
            # do integers, unless every integer passes (10^-k such as 0.1): -280 / 0.07 is not
            # whole (fuzz_json seed 615 case 510, where all integers were taken for it).
            raise _Refused(f"non-integer multipleOf {multiple} (validators check it in floats)")
        if integer_valued:
            dfa = intersection(dfa, compile_regex(r"-?(?:0|[1-9][0-9]*)(?:\.0+)?"))
        negations = list(schema.get("$not_numbers", [])) + ([schema["not"]] if "not" in schema else [])
        for neg in negations:
            dfa = difference(dfa, self._number_set(neg, base, _ptr(ptr, "not"), depth + 1))
        if isinstance(schema.get("anyOf"), list):
            union = nothing
            for k, sub in enumerate(schema["anyOf"]):
                union = _union(union, self._number_set(sub, base, _ptr(ptr, "anyOf", k), depth + 1))
            dfa = intersection(dfa, union)
        if isinstance(schema.get("oneOf"), list):
            sets = [self._number_set(sub, base, _ptr(ptr, "oneOf", k), depth + 1) for k, sub in enumerate(schema["oneOf"])]
            dfa = intersection(dfa, _exactly_one(sets, sets))
        return dfa

    def _number_node(self, schema: dict, ptr: str, integer: bool, checked: bool = False,
                     restrict: Any = None) -> Node:
        """The number texts ``schema`` allows. ``checked``: a fractional ``multipleOf`` may be a
        :class:`~constrain.grammar.CheckedNumber` rule (a call, not an automaton), whose texts
        ``restrict`` (a function from automaton to automaton), when given, narrows first."""
        from . import numeric

        lo, lo_excl, hi, hi_excl = _bounds(schema, ptr)
        multiple = schema.get("multipleOf")
        if multiple is not None and (isinstance(multiple, bool) or not isinstance(multiple, (int, float)) or multiple <= 0):
            raise MalformedSchemaError(f"multipleOf must be a positive number at {ptr or '/'}")
        declared_integer = integer
        if multiple is not None and float(multiple).is_integer():
            integer = True
            multiple = int(multiple)
        try:
            if integer:
                ilo = None if lo is None else (math.floor(lo) + 1 if lo_excl and lo == math.floor(lo) else math.ceil(lo))
                ihi = None if hi is None else (math.ceil(hi) - 1 if hi_excl and hi == math.ceil(hi) else math.floor(hi))
                if ilo is not None and ihi is not None and ilo > ihi:
                    raise InvalidSchemaError(f"no integer lies within the bounds at {ptr or '/'}")
                text = numeric.integer_range_regex(ilo, ihi)
                if isinstance(multiple, float):
                    # A fractional multiple of integers: validators divide in floats, where
                    # -280 / 0.07 is not whole though 7 divides 280. Checked value by value.
                    if checked:
                        syntax = compile_regex(text)
                        return self._checked_number(restrict(syntax) if restrict else syntax, multiple, ptr)
                    self.unsupported("multipleOf", ptr, f"fractional multipleOf {multiple} of integers beside not")
                    multiple = None  # lenient: dropped
                if multiple is not None and multiple != 1:
                    # The remainder automaton (one state per remainder) intersected with the range.
                    dfa = numeric.multiple_of_range_dfa(multiple, ilo, ihi)
                    if is_empty(dfa):
                        raise InvalidSchemaError(f"no multiple of {multiple} lies within the bounds at {ptr or '/'}")
                    node: Node = Embed(dfa)
                else:
                    node = parse(text)
                if (not declared_integer and ilo is not None and ihi is not None
                        and -(2**53) <= ilo and ihi <= 2**53):
                    # A number with an integer multipleOf may be written "6000.0": JSON parsers read
                    # it as a float, exact (and an exact multiple) below 2**53.
                    node = Concat((node, parse(r"(?:\.0+)?")))
                return node
            if lo is not None and hi is not None and (lo > hi or (lo == hi and (lo_excl or hi_excl))):
                raise InvalidSchemaError(f"minimum is above maximum at {ptr or '/'}")
            # Validators compare the float a text parses to, and rounding is monotonic: inclusive
            # bounds hold as written, but a decimal just inside an exclusive bound may round onto
            # it (0.10000000000000000001 > 0.1 is false for floats; -5e-400 parses as -0.0, not
            # below 0). So an exclusive bound becomes the inclusive bound of the next float
            # beyond it (texts in between all round onto the bound, or nearly all: ones of 17+
            # digits that round to that next float are left out).
            if lo is not None and lo_excl:
                lo, lo_excl = _next_float_decimal(lo, up=True), False
            if hi is not None and hi_excl:
                hi, hi_excl = _next_float_decimal(hi, up=False), False
            bounded: Node = Embed(_number_range_dfa(lo, hi))
            if multiple is not None:
                places = _decimal_places(multiple)
                if checked and places is not None and places <= _CHECKED_PLACES:
                    # Exact, as the jsonschema package divides: plain decimals of at most as
                    # many fraction digits as the multiple, or one digit before the point and an
                    # exponent (as json.dumps writes large floats), checked value by value.
                    plain = compile_regex(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]{1,%d})?|-?[1-9](?:\.[0-9]+)?[eE][+-]?[1-9][0-9]*"
                                          % places)
                    syntax = intersection(_dfa_of(bounded), plain)
                    return self._checked_number(restrict(syntax) if restrict else syntax, multiple, ptr)
                if not _integers_divide_exactly(multiple):
                    self.unsupported("multipleOf", ptr, f"non-integer multipleOf {multiple} (only integer values of "
                                     "10^-k for some k are generated; validators divide in floats)")
                    return bounded
                # Integers, also written with a zero fraction ("1000.0": the same float).
                integers = _dfa_of(parse(r"-?(?:0|[1-9][0-9]*)(?:\.0+)?"))
                return Embed(intersection(_dfa_of(bounded), integers))
            return bounded
        except numeric.NumericRangeError as exc:
            self.unsupported("minimum/maximum", ptr, str(exc))
            return strings.ANY_INTEGER if integer else strings.ANY_NUMBER

    def _checked_number(self, syntax: ByteDFA, multiple: float, ptr: str) -> Node:
        """A rule for the texts of ``syntax`` whose value is a multiple of ``multiple`` under the
        float division the jsonschema package does (shared by equal schemas)."""
        key = ("checked number", syntax.table.tobytes(), syntax.accepting.tobytes(), syntax.byte_class.tobytes(),
               float(multiple))
        rule = self._rule_of.get(key)
        if rule is None:
            spec = CheckedNumber(syntax, functools.partial(_float_multiple_of, float(multiple)))
            if not spec.satisfiable():
                raise InvalidSchemaError(f"no number within the bounds at {ptr or '/'} is a multiple of {multiple}")
            rule = self._new_rule(f"multiple of {multiple} at {ptr or '/'}")
            self._rule_of[key] = rule
            self._rules[rule] = Repeat(Alt(tuple(literal(chr(b)) for b in NUMBER_BYTES)), 1, None)
            self._lazy_rules[rule] = spec
        return Call(rule)


_PLAIN_NUMBER: list[ByteDFA] = []


def _plain_number_dfa() -> ByteDFA:
    """JSON number texts without an exponent."""
    if not _PLAIN_NUMBER:
        _PLAIN_NUMBER.append(compile_regex(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?"))
    return _PLAIN_NUMBER[0]


_FLOAT_SAFE_NUMBER: list[ByteDFA] = []


def _float_safe_number_dfa() -> ByteDFA:
    """Plain number texts that a float holds exactly enough: integers of any length (JSON parsers
    read them as integers) and fractions of at most 15 significant digits."""
    if not _FLOAT_SAFE_NUMBER:
        fractions = [r"0\.0*(?:[1-9][0-9]{0,14})?"] + [r"[1-9][0-9]{%d}\.[0-9]{1,%d}" % (i - 1, 15 - i) for i in range(1, 15)]
        _FLOAT_SAFE_NUMBER.append(compile_regex(r"-?(?:0|[1-9][0-9]*|%s)" % "|".join(fractions)))
    return _FLOAT_SAFE_NUMBER[0]


def _bounds(schema: dict, ptr: str) -> tuple[Any, bool, Any, bool]:
    """(lower, lower exclusive, upper, upper exclusive) from draft-4 and later keywords."""
    lo = schema.get("minimum")
    hi = schema.get("maximum")
    lo_excl = hi_excl = False
    emin, emax = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if isinstance(emin, bool):
        lo_excl = emin and lo is not None
    elif emin is not None:
        if lo is None or emin >= lo:
            lo, lo_excl = emin, True
    if isinstance(emax, bool):
        hi_excl = emax and hi is not None
    elif emax is not None:
        if hi is None or emax <= hi:
            hi, hi_excl = emax, True
    for name, v in (("minimum", lo), ("maximum", hi)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise MalformedSchemaError(f"{name} must be a number at {ptr or '/'}")
    if lo is not None and hi is not None and (lo > hi or (lo == hi and (lo_excl or hi_excl))):
        raise InvalidSchemaError(f"minimum {lo} is above maximum {hi} at {ptr or '/'}: no number fits")
    return lo, lo_excl, hi, hi_excl


def _next_float_decimal(bound: Any, up: bool) -> Decimal:
    """The shortest decimal of the float next to ``bound`` (above it when ``up``)."""
    return Decimal(repr(math.nextafter(float(bound), math.inf if up else -math.inf)))


@functools.lru_cache(maxsize=256)
def _number_range_dfa(lo: Any, hi: Any) -> ByteDFA:
    """The number texts in ``[lo, hi]`` (cached: "exclusiveMinimum: 0" is everywhere, and its
    bound 5e-324 makes a 350-state automaton)."""
    from . import numeric

    return compile_regex(numeric.number_range_regex(lo, hi))


#: A fractional multipleOf with at most this many decimal places is checked value by value.
_CHECKED_PLACES = 3


def _decimal_places(x: float) -> int | None:
    """Decimal places of ``x`` as written (``0.25`` -> 2, ``1e-05`` -> 5); None if not finite."""
    try:
        exponent = Decimal(repr(float(x))).as_tuple().exponent
    except (ValueError, OverflowError):
        return None
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _float_multiple_of(multiple: float, text: str) -> bool:
    """Whether the number ``text`` passes ``multipleOf`` as the jsonschema package checks it."""
    value = json.loads(text)
    if not math.isfinite(value):
        return False  # "1e400" reads as infinity, which the check cannot divide
    quotient = value / multiple
    try:
        return int(quotient) == quotient
    except OverflowError:
        return (Fraction(value) / Fraction(multiple)).denominator == 1


def _integers_divide_exactly(multiple: float) -> bool:
    """Whether ``multiple`` is ``10^-k`` and every integer ``n`` passes a float ``multipleOf``
    check by it (``n / multiple`` an integer-valued float, as the jsonschema package computes).

    Fractions do not: ``19.99 / 0.01`` is ``1998.9999999999998``, so only integers are generated.
    Integers do when the float nearest ``10^-k`` is within a relative ``2^-54`` above it or
    ``2^-55`` below it: ``n / multiple`` then rounds to ``n * 10^k`` exactly (beyond ``2^53``
    every float is an integer). ``1e-5`` fails that (``3 / 1e-05`` is ``299999.99999999994``).
    """
    k = _decimal_places_of_power_of_ten(multiple)
    if not k:
        return False
    exact = Fraction(1, 10**k)
    delta = (Fraction(float(multiple)) - exact) / exact
    return (0 < delta <= Fraction(1, 2**54)) or abs(delta) < Fraction(1, 2**55)


def _decimal_places_of_power_of_ten(x: float) -> int | None:
    d = Decimal(str(x))
    f = Fraction(d)
    for k in range(0, 16):
        if f == Fraction(1, 10**k):
            return k
    return None
