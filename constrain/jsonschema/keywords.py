"""Keyword tables and helpers shared by the JSON Schema compiler's keyword families.

The tables of keywords by role (annotations, handled, refused, our internal list keywords),
:class:`UnsupportedSchemaWarning`, JSON pointers, the JSON types of schemas and values, JSON value
equality and hashable keys, ``_Refused`` (no exact automaton for a negated scalar schema), unions
of automata, and the matcher of ``patternProperties`` names. Whatever more than one module of the
compiler uses lives here; what one module uses lives in that module.

Imports go down only: this module may import the automata modules of the package
(``constrain.regex``) and its errors; never :mod:`.compiler` nor a keyword family module.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from ..errors import AutomatonTooLargeError, InvalidRegexError, MalformedSchemaError
from ..regex import compile_regex
from ..regex.automaton import ByteDFA
from ..regex.parser import Node
from ..regex.setops import difference, is_empty, union

JSON_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")

#: Keywords that never change validity.
ANNOTATIONS = frozenset(
    "title description default examples $comment deprecated readOnly writeOnly $schema $id id $anchor "
    "$dynamicAnchor $defs definitions contentMediaType contentEncoding contentSchema $vocabulary "
    "discriminator xml externalDocs example nullable".split()
)
#: Keywords this compiler understands (enforced, approximated, or checked and refused in context).
HANDLED = frozenset(
    "type enum const $ref allOf anyOf oneOf not minLength maxLength pattern format minimum maximum "
    "exclusiveMinimum exclusiveMaximum multipleOf items prefixItems additionalItems minItems maxItems "
    "properties required additionalProperties patternProperties propertyNames dependencies dependentRequired "
    "dependentSchemas minProperties maxProperties uniqueItems contains".split()
)
#: Validation keywords outside HANDLED that merges must keep: ``if``/``then``/``else`` (folded into
#: ``$conditionals`` and compiled by :mod:`.conditionals`); the others are refused wherever they appear.
REFUSED = frozenset(
    "if then else $conditionals "
    "unevaluatedProperties unevaluatedItems minContains maxContains $dynamicRef $recursiveRef".split()
)

#: Keywords of our own that hold folded constraints (lists; merged by concatenation).
INTERNAL_LISTS = frozenset(
    {"$patterns", "$forbidden", "$not_values", "$not_all", "$not_object", "$not_strings", "$not_numbers",
     "$conditionals"}
)


class UnsupportedSchemaWarning(UserWarning):
    """A keyword was dropped in lenient mode: outputs may not satisfy it."""


def _ptr(base: str, *parts: Any) -> str:
    out = base
    for p in parts:
        out += "/" + str(p).replace("~", "~0").replace("/", "~1")
    return out


class _Refused(Exception):
    """No exact automaton for a negated or exclusive scalar schema (reported as unsupported)."""


def _exactly_one(inner: list[ByteDFA], outer: list[ByteDFA]) -> ByteDFA:
    """oneOf over automata: the union of each branch's ``inner`` set minus every other branch's
    ``outer`` set (the same sets when exact; for bounds, a subset minus supersets)."""
    result = compile_regex("[]")
    for k, own in enumerate(inner):
        for m, other in enumerate(outer):
            if m != k:
                own = difference(own, other)
        result = _union(result, own)
    return result


def _union(a: ByteDFA, b: ByteDFA) -> ByteDFA:
    if is_empty(a):
        return b
    if is_empty(b):
        return a
    return union(a, b)


def _types_of(schema: dict) -> list[str]:
    t = schema.get("type")
    if t is None:
        return list(JSON_TYPES)
    return list(t) if isinstance(t, list) else [t]


def _pattern_property_matches(schema: dict, name: str, reading: str) -> bool | None:
    """Whether some ``patternProperties`` pattern of ``schema`` matches ``name`` in ``reading``
    ("wide" or "portable", see :func:`~constrain.regex.compile_regex`); None when a pattern
    cannot be compiled (so the answer is unknown)."""
    patterns = schema.get("patternProperties") or {}
    if not isinstance(patterns, dict):
        return None
    unknown = False
    for pattern in patterns:
        dfa = _name_pattern(pattern, reading)
        if dfa is None:
            unknown = True
        elif dfa.fullmatch(name.encode("utf-8")):
            return True
    return None if unknown else False


@functools.lru_cache(maxsize=512)
def _name_pattern(pattern: Any, reading: str) -> ByteDFA | None:
    """The search automaton of a ``patternProperties`` pattern (None if it cannot be compiled):
    disjointness checks ask about the same few patterns for many names."""
    try:
        return compile_regex(pattern, search=True, wide=reading == "wide", portable=reading == "portable")
    except (InvalidRegexError, AutomatonTooLargeError, TypeError):
        return None


def _value_key(v: Any) -> Any:
    """A hashable key equal for two JSON values exactly when :func:`_json_equal` holds."""
    if isinstance(v, bool) or v is None:
        return ("literal", v)
    if isinstance(v, (int, float)):
        return ("number", v)  # 1 and 1.0 are the same JSON Schema value (and hash alike)
    if isinstance(v, str):
        return ("string", v)
    return ("json", type(v).__name__, json.dumps(v, sort_keys=True))


def _json_equal(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True) and type(a) is type(b) or (
        isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool) and a == b
    )


def _type_of_value(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer()):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    return "array" if isinstance(v, list) else "object"


def _dfa_of(node: Node) -> ByteDFA:
    from ..regex import regex_to_dfa

    return regex_to_dfa(node)


#: The keywords that say which schema each array item meets (see :func:`_item_schemas`).
_ITEM_KEYWORDS = ("items", "prefixItems", "additionalItems")


def _item_schemas(schema: dict, ptr: str) -> tuple[list[Any], Any]:
    """(schemas of the first items, one each; schema of every item after them): ``items`` as an
    array is the draft 4-7 tuple form, followed by ``additionalItems``. Arrays are compiled and
    allOf branches merged by this one reading."""
    items = schema.get("items", True)
    if isinstance(items, list):
        return list(items), schema.get("additionalItems", True)
    prefix = schema.get("prefixItems", [])
    if not isinstance(prefix, list):
        raise MalformedSchemaError(f"prefixItems must be an array at {ptr or '/'}")
    return list(prefix), items
