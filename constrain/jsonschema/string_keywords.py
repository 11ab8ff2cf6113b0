"""String keywords of the JSON Schema compiler.

``minLength``/``maxLength``, ``pattern``, ``format`` and negated string schemas: the string
values a schema allows, and the sets of strings a schema under ``not``/``oneOf`` accepts.
Holds the mixin :class:`StringKeywords`; the automata of JSON string text are in :mod:`.strings`,
the format regexes in :mod:`.formats`.

Imports go down only: this module may import :mod:`.keywords`, :mod:`.refs`, the automata modules
(:mod:`.strings`, :mod:`.numeric`, :mod:`.formats`, ``constrain.regex``), ``constrain.grammar`` and
``constrain.errors``; never :mod:`.compiler` nor another keyword family module (the methods of the
other families are reached through ``self``).
"""

from __future__ import annotations

import json
import warnings
from typing import Any

from ..errors import InvalidRegexError, InvalidSchemaError, MalformedSchemaError, UnsupportedRegexError
from ..grammar import CountedString
from ..regex import compile_regex
from ..regex.automaton import ByteDFA, Call, Embed
from ..regex.parser import Alt, Node
from ..regex.product import intersect as intersection
from ..regex.setops import difference, is_empty
from . import strings
from .keywords import (
    REFUSED,
    UnsupportedSchemaWarning,
    _dfa_of,
    _exactly_one,
    _ptr,
    _Refused,
    _types_of,
    _union,
)
from .strings import literal

#: String automata above this many states become rules of their own (see ``_string``).
_INLINE_STRING_STATES = 24


class StringKeywords:
    """Methods of :class:`~constrain.jsonschema.compiler.SchemaCompiler` for string schemas.

    Calls through ``self``: ``_new_rule``, ``_resolve``, ``unsupported`` (compiler);
    ``_merge_all_of`` (combinators); ``_valid_values`` (enums). Compiler state it uses:
    ``_lazy_rules``, ``_rule_of``, ``_rules``, ``_sets``, ``options``, ``resolver``.
    """

    @staticmethod
    def _string_lengths(schema: dict, ptr: str) -> tuple[int, int | None]:
        """``minLength``, ``maxLength`` (None: unbounded), checked."""
        min_len = schema.get("minLength", 0)
        max_len = schema.get("maxLength")
        for key, v in (("minLength", min_len), ("maxLength", max_len)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                raise MalformedSchemaError(f"{key} must be a non-negative integer at {ptr or '/'}")
        if max_len is not None and min_len > max_len:
            raise InvalidSchemaError(f"minLength {min_len} is above maxLength {max_len} at {ptr or '/'}")
        return min_len, max_len

    def _string(self, schema: dict, ptr: str) -> Node:
        min_len, max_len = self._string_lengths(schema, ptr)
        cap = self.options.max_repeat
        content = self._string_content(schema, ptr)
        if content is None and (min_len > cap or (max_len is not None and max_len > 2)):
            # The grammar automaton counts the characters (one state per count, built as parses
            # reach them), where an automaton would be too long to write out (maxLength 32767)
            # or would hide from the mask cache that the counts far from both bounds all allow
            # the same tokens (GrammarAutomaton.mask_equivalent).
            key = ("counted string", min_len, max_len)
            rule = self._rule_of.get(key)
            if rule is None:
                rule = self._new_rule(f"string of {min_len}..{'' if max_len is None else max_len} characters")
                self._rule_of[key] = rule
                self._rules[rule] = strings.ANY_STRING
                self._lazy_rules[rule] = CountedString(strings.char_dfa(), min_len, max_len)
            return Call(rule)
        if min_len > cap:
            self.unsupported("minLength", ptr, f"strings longer than max_repeat={cap} characters are not generated")
            min_len = cap
        if max_len is not None and max_len > cap:
            max_len = cap  # sound: longer strings are valid but not generated
        if content is None:
            # A rule of its own, shared by every string value of these lengths: the grammar
            # automaton then builds the string's states, and proves that they read plain text,
            # once, instead of once in every object rule holding such a value.
            key = ("plain string", min_len, max_len)
            rule = self._rule_of.get(key)
            if rule is None:
                rule = self._new_rule(f"string of {min_len}..{'' if max_len is None else max_len} characters")
                self._rule_of[key] = rule
                self._rules[rule] = strings.string_of_length(min_len, max_len)
            return Call(rule)
        if min_len or max_len is not None:
            length = compile_regex("[^]{%d,%s}" % (min_len, "" if max_len is None else max_len))
            content = intersection(content, length)
        if is_empty(content):
            raise InvalidSchemaError(f"no string satisfies pattern/format/length together at {ptr or '/'}")
        dfa = strings.escaped(content)
        if dfa.num_states <= _INLINE_STRING_STATES:
            return Embed(dfa)
        # A large string automaton (a format, a long pattern) is a rule of its own: the grammar
        # uses its DFA as it is, instead of determinizing it again inside every object rule
        # that holds it, and fields of the same format share it.
        key = ("string automaton", id(dfa))  # the rule's Embed keeps dfa alive: ids stay unique
        rule = self._rule_of.get(key)
        if rule is None:
            rule = self._new_rule(f"string at {ptr or '/'}")
            self._rule_of[key] = rule
            self._rules[rule] = Embed(dfa)
        return Call(rule)

    def _string_content(self, schema: dict, ptr: str) -> ByteDFA | None:
        """DFA of the decoded string content allowed by ``pattern``, ``format`` and negated
        values/patterns (``not``); None when none of them is present (any content)."""
        patterns = [p for p in [schema.get("pattern")] + list(schema.get("$patterns", [])) if p is not None]
        fmt = schema.get("format")
        content: ByteDFA | None = None
        for pattern in patterns:
            if not isinstance(pattern, str):
                raise MalformedSchemaError(f"pattern must be a string at {ptr or '/'}")
            try:
                dfa = compile_regex(pattern, search=True, portable=True)
            except UnsupportedRegexError as exc:
                self.unsupported("pattern", ptr, str(exc))
                continue
            except InvalidRegexError as exc:
                raise InvalidSchemaError(f"invalid pattern at {ptr or '/'}: {exc}") from None
            content = dfa if content is None else intersection(content, dfa)
        if isinstance(fmt, str):
            from . import formats

            regex = formats.format_regex(fmt)
            if regex is None and fmt in formats.UNSUPPORTED_STANDARD_FORMATS:
                self.unsupported("format", ptr, f"format {fmt!r} is not enforced")
            elif regex is None:
                warnings.warn(f"format {fmt!r} at {ptr or '/'} is not known and not enforced (an annotation)", UnsupportedSchemaWarning, stacklevel=2)
            else:
                dfa = compile_regex(regex)
                content = dfa if content is None else intersection(content, dfa)
        if schema.get("$not_strings"):
            content = compile_regex("[^]*") if content is None else content
            for neg in schema["$not_strings"]:
                negated = self._negated_content(neg, ptr)
                if negated is not None:
                    content = difference(content, negated)
        return content

    def _negated_content(self, neg: dict, ptr: str) -> ByteDFA | None:
        """Content DFA holding every string that satisfies ``neg``, to subtract; None if refused."""
        try:
            return self._string_set(neg, "", ptr, upper=True)
        except _Refused as exc:
            self.unsupported("not", ptr, str(exc))
            return None

    def _string_set(self, schema: Any, base: str, ptr: str, upper: bool, depth: int = 0) -> ByteDFA:
        """Content DFA of the strings satisfying ``schema``: a superset when ``upper``, else a subset.

        A Boolean algebra over string automata: ``anyOf`` is a union, ``allOf`` an intersection,
        ``not`` a complement (which flips the direction, hence both bounds), ``oneOf`` the union
        of each branch minus the others. Patterns take their wide reading for a superset and the
        portable one for a subset; a format has a subset (its automaton) but no superset. Keywords
        for other types do not constrain strings. Raises _Refused where no bound can be built.
        """
        if depth > 32:
            raise _Refused("string schemas nested too deeply")
        schema, base = self._resolve(schema, base, ptr)
        key = ("strings", upper, base, json.dumps(schema, sort_keys=True, default=repr))
        if key not in self._sets:
            self._sets[key] = self._string_set_of(schema, base, ptr, upper, depth)
        return self._sets[key]

    def _string_set_of(self, schema: Any, base: str, ptr: str, upper: bool, depth: int) -> ByteDFA:
        anything = compile_regex("[^]*")
        if schema is True:
            return anything
        if schema is False:
            return compile_regex("[]")
        if not isinstance(schema, dict):
            raise MalformedSchemaError(f"a schema must be an object or a boolean at {ptr or '/'}")
        if "allOf" in schema or "$ref" in schema:
            schema = self._merge_all_of(schema, self.resolver.base_of(schema, base), ptr)
        nothing = compile_regex("[]")
        if "string" not in _types_of(schema):
            return nothing
        if "const" in schema or "enum" in schema:
            strings_ = [v for v in self._valid_values(schema, base, ptr) or [] if isinstance(v, str)]
            return _dfa_of(Alt(tuple(literal(v) for v in strings_))) if len(strings_) > 1 else (
                _dfa_of(literal(strings_[0])) if strings_ else nothing)
        for key in schema:
            if key in REFUSED:
                raise _Refused(f"{key!r} in a negated or exclusive string schema")
        content = anything
        if "format" in schema:
            from . import formats

            regex = formats.format_regex(schema["format"]) if isinstance(schema["format"], str) else None
            if regex is not None and upper:
                # Our format automata accept less than validators do: no superset to subtract.
                raise _Refused(f"format {schema['format']!r} under not/oneOf")
            if regex is not None:
                content = intersection(content, compile_regex(regex))
        for pattern in [schema.get("pattern")] + list(schema.get("$patterns", [])):
            if pattern is None:
                continue
            if not isinstance(pattern, str):
                raise MalformedSchemaError(f"pattern must be a string at {ptr or '/'}")
            try:
                content = intersection(content, compile_regex(pattern, search=True, wide=upper, portable=not upper))
            except UnsupportedRegexError as exc:
                raise _Refused(str(exc)) from None
            except InvalidRegexError as exc:
                raise InvalidSchemaError(f"invalid pattern at {ptr or '/'}: {exc}") from None
        lo, hi = schema.get("minLength", 0), schema.get("maxLength")
        for key, v in (("minLength", lo), ("maxLength", hi)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                raise MalformedSchemaError(f"{key} must be a non-negative integer at {ptr or '/'}")
        if hi is not None and lo > hi:
            return nothing
        if lo or hi is not None:
            if max(lo, hi or 0) > self.options.max_repeat:
                raise _Refused(f"a string length above max_repeat={self.options.max_repeat} under not/oneOf")
            content = intersection(content, compile_regex("[^]{%d,%s}" % (lo, "" if hi is None else hi)))
        negations = list(schema.get("$not_strings", [])) + ([schema["not"]] if "not" in schema else [])
        for neg in negations:
            content = difference(content, self._string_set(neg, base, _ptr(ptr, "not"), not upper, depth + 1))
        if isinstance(schema.get("anyOf"), list):
            union = nothing
            for k, sub in enumerate(schema["anyOf"]):
                union = _union(union, self._string_set(sub, base, _ptr(ptr, "anyOf", k), upper, depth + 1))
            content = intersection(content, union)
        if isinstance(schema.get("oneOf"), list):
            subs = schema["oneOf"]
            inner = [self._string_set(sub, base, _ptr(ptr, "oneOf", k), upper, depth + 1) for k, sub in enumerate(subs)]
            outer = [self._string_set(sub, base, _ptr(ptr, "oneOf", k), not upper, depth + 1) for k, sub in enumerate(subs)]
            content = intersection(content, _exactly_one(inner, outer))
        # $not_object, $not_all, $forbidden constrain objects only: every string satisfies them.
        return content
