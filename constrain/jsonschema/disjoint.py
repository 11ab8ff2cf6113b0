"""Disjointness of ``oneOf`` branches in the JSON Schema compiler.

Whether no value can satisfy two schemas (by types, constants, string automata, items,
required and forbidden properties), and the narrowing of overlapping oneOf object branches
until each is disjoint from every other. Holds the mixin :class:`DisjointBranches` and the
helpers only it uses.

Imports go down only: this module may import :mod:`.keywords`, :mod:`.refs`, the automata modules
(:mod:`.strings`, :mod:`.numeric`, :mod:`.formats`, ``constrain.regex``), ``constrain.grammar`` and
``constrain.errors``; never :mod:`.compiler` nor another keyword family module (the methods of the
other families are reached through ``self``).
"""

from __future__ import annotations

import warnings
from typing import Any

from ..errors import InvalidSchemaError, UnsupportedSchemaError
from ..regex import compile_regex
from ..regex.automaton import ByteDFA
from ..regex.product import intersect as intersection
from ..regex.setops import is_empty
from .keywords import (
    ANNOTATIONS,
    JSON_TYPES,
    _json_equal,
    _pattern_property_matches,
    _ptr,
    _type_of_value,
    _types_of,
)

#: Keywords that constrain only objects (a schema holding nothing else accepts every non-object).
_OBJECT_KEYWORDS = frozenset(
    "properties required additionalProperties patternProperties propertyNames minProperties maxProperties "
    "dependencies dependentRequired dependentSchemas $forbidden".split()
)

#: A oneOf branch narrowed to "one of these properties present" lists at most this many.
_MAX_ONE_OF_KEYS = 8


class DisjointBranches:
    """Methods of :class:`~constrain.jsonschema.compiler.SchemaCompiler` for disjointness of schemas.

    Calls through ``self``: ``_resolve``, ``_strictly`` (compiler); ``_as_dict``, ``_merge``
    (combinators); ``_finite_values``, ``_is_valid`` (enums); ``_string_content``,
    ``_string_lengths`` (string_keywords). Compiler state it uses: ``options``.
    """

    def _pairwise_disjoint(self, branches: list[dict], base: str, ptr: str) -> bool:
        """True when no JSON value can satisfy two branches of a ``oneOf`` (then it acts as anyOf).

        Two branches are disjoint when their types or constants cannot meet, or, for objects,
        when a property is required by one and forbidden by the other (absent under
        ``additionalProperties: false``, or schema ``false``), or required by both with disjoint
        constant values (a discriminator).
        """
        for i in range(len(branches)):
            for j in range(i + 1, len(branches)):
                if not self._disjoint(branches[i], branches[j], base, ptr):
                    return False
        return True

    def _disjoin(self, branches: list[dict], base: str, ptr: str) -> list[dict] | None:
        """Narrow overlapping ``oneOf`` object branches so each is disjoint from every other
        *original* branch.

        A narrowed branch is a subset of its original, so what it generates satisfies that
        branch; being disjoint from every other original branch, it fails them all, as oneOf
        requires. Narrowing, per branch ``i`` and overlapping original ``j``:

        - a branch that is another one with more names required lies inside it: dropped;
        - a branch with only object keywords (``properties``, ``required``...) also accepts every
          non-object value; it keeps objects and the types no other branch accepts, and every
          branch that overlaps it is restricted to objects (its non-objects satisfy both; a
          branch left with no type is dropped);
        - two array branches whose item schemas are disjoint share only ``[]``: a branch that
          overlaps the other is narrowed to ``minItems >= 1``;
        - a property that ``j`` declares with ``const``/``enum`` values disjoint from the ones
          ``i`` declares (a discriminator) is made required in ``i``;
        - otherwise a property that ``j`` requires is forbidden in ``i`` (preferably one that
          ``i`` does not declare, so only undeclared extras are lost).

        Returns None when some pair cannot be separated this way.
        """
        out = [dict(b) for b in branches]
        accepts_non_objects = [_only_object_keywords(b) for b in branches]
        for i, (b, only_objects) in enumerate(zip(out, accepts_non_objects)):
            if only_objects:
                # Its non-objects of a type no other branch accepts are exactly valid; the others
                # may satisfy another branch too, and are left out.
                others: set[str] = set()
                for j, other in enumerate(branches):
                    if j != i:
                        others |= self._effective_types(other, base, ptr)
                if others & {"number", "integer"}:
                    others |= {"number", "integer"}
                b["type"] = ["object"] + [t for t in ("array", "string", "number", "boolean", "null") if t not in others]
                if len(b["type"]) == 1:
                    b["type"] = "object"
        for i, narrowed in enumerate(out):
            for j, other in enumerate(branches):
                if i == j or self._disjoint(narrowed, other, base, ptr):
                    continue
                if _requires_more(branches[i], other):
                    # Every value of this branch satisfies the other one too: none is valid.
                    out[i] = {"not": {}}
                    break
                if accepts_non_objects[j]:
                    # Every non-object value of this branch also satisfies the other one.
                    if "object" not in self._effective_types(narrowed, base, ptr):
                        out[i] = {"not": {}}
                        break
                    narrowed["type"] = "object"
                    if self._disjoint(narrowed, other, base, ptr):
                        continue
                if set(_types_of(narrowed)) == {"array"} and self._items_disjoint(narrowed, other, base, ptr):
                    narrowed["minItems"] = max(narrowed.get("minItems", 0), 1)  # [] satisfies both
                    if self._disjoint(narrowed, other, base, ptr):
                        continue
                if not set(_types_of(narrowed)) <= {"object"}:
                    return None
                mine = narrowed.get("properties", {}) if isinstance(narrowed.get("properties"), dict) else {}
                theirs = other.get("properties", {}) if isinstance(other.get("properties"), dict) else {}
                discriminator = next((name for name in mine if name in theirs
                                      and self._const_values_disjoint(mine[name], theirs[name], base, ptr)), None)
                required = [r for r in narrowed.get("required", []) if isinstance(r, str)]
                if discriminator is not None:
                    # With the discriminator present this branch fails the other one. Without
                    # it, objects holding a property the other branch forbids, or holds only
                    # with disjoint values, fail it too: those stay (fuzz_json seed 601 case
                    # 1182: {"p0": {}} against a branch whose p0 is a string).
                    separators = [k for k in self._separating_properties(mine, other, theirs, base, ptr)
                                  if k != discriminator and k not in required]
                    names = [discriminator] + separators
                    # Against a closed branch, an object holding none of its names but some
                    # property fails it too (case 2336 of fuzz_json seed 603: {"x": "s"}): only
                    # where this branch allows undeclared properties and requires none of the
                    # closed branch's names (the alternative would hold nothing otherwise).
                    undeclared = (_closed(other) and narrowed.get("additionalProperties", True) is not False
                                  and not set(theirs) & set(required))
                    # An object without a name the other branch requires fails it too (fuzz_json
                    # seed 614 case 283: {} against a branch requiring p1): "names absent and that
                    # one absent" is a further alternative. It holds every object the undeclared
                    # alternative holds when the name is declared there (which forbids it);
                    # otherwise the undeclared alternative takes the objects holding the name.
                    absent = next((r for r in other.get("required", [])
                                   if isinstance(r, str) and r not in required and r not in names), None)
                    if ((separators or undeclared or absent is not None) and len(separators) < _MAX_ONE_OF_KEYS
                            and "anyOf" not in narrowed):
                        narrowed["anyOf"] = _first_present(names)
                        if absent is not None:
                            narrowed["anyOf"].append({"$forbidden": names + [absent]})
                        if undeclared and absent is None:
                            narrowed["anyOf"].append({"$forbidden": sorted(set(names) | set(theirs)), "minProperties": 1})
                        elif undeclared and absent not in theirs:
                            narrowed["anyOf"].append({"$forbidden": sorted(set(names) | set(theirs)), "required": [absent]})
                    else:
                        narrowed["required"] = required + [discriminator]
                else:
                    candidates = [r for r in other.get("required", []) if isinstance(r, str) and r not in required]
                    if candidates and _differs_in_required_only(branches[i], other):
                        # The branches differ in their required names alone: this one and not the
                        # other is exactly "not all of the other's further names present".
                        absent = {"required": candidates}
                        narrowed["not"] = absent if "not" not in narrowed else {"anyOf": [narrowed["not"], absent]}
                        continue
                    if candidates:
                        name = min(candidates, key=lambda r: r in mine)  # prefer a name i does not declare
                        narrowed["$forbidden"] = list(narrowed.get("$forbidden", [])) + [name]
                    else:
                        # The other branch requires nothing: this one must hold one of its own
                        # properties that the other cannot hold (objects without any satisfy both
                        # when the declared names do not meet).
                        own = [k for k in self._separating_properties(mine, other, theirs, base, ptr) if k not in required]
                        if not own or len(own) > _MAX_ONE_OF_KEYS or "anyOf" in narrowed:
                            return None
                        narrowed["anyOf"] = _first_present(own)
                if not self._disjoint(narrowed, other, base, ptr):
                    return None
        return out

    def _separating_properties(self, mine: dict, other: dict, theirs: dict, base: str, ptr: str) -> list[str]:
        """Names declared in ``mine`` whose presence makes an object fail ``other``: ``other``
        forbids the name, or declares it with a schema no value of ours satisfies."""
        return [k for k in mine if mine[k] is not False and (self._forbids(other, theirs, k)
                or (k in theirs and self._property_schemas_disjoint(mine[k], theirs[k], base, ptr)))]

    def _property_schemas_disjoint(self, a: Any, b: Any, base: str, ptr: str, depth: int = 0) -> bool:
        """No value satisfies both property schemas (references resolved; False when unsure)."""
        if depth > 4:
            return False
        if self._const_values_disjoint(a, b, base, ptr):
            return True
        try:
            x, y = self._as_dict(a, ptr, base, 0), self._as_dict(b, ptr, base, 0)
        except InvalidSchemaError:
            return False
        except UnsupportedSchemaError:
            return False
        return self._disjoint(x, y, base, ptr, depth + 1)

    def _const_values_disjoint(self, a: Any, b: Any, base: str, ptr: str) -> bool:
        """One property schema pins its values to a finite set (const/enum, also through
        ``allOf``/``$ref``/``anyOf``: see :meth:`_finite_values`) none of which the other accepts
        (checked exactly, as enum values are: a discriminator such as ``{"enum": ["CAN"]}``
        against ``{"not": {"enum": ["CAN", "USA"]}}``)."""
        for x, y in ((a, b), (b, a)):
            try:
                values = self._finite_values(x, base, ptr)
                if values is None:
                    continue
                if not values:
                    # The property can never be present (its schema is false): no discriminator,
                    # which the narrowing would make required.
                    return False
                other, obase = self._resolve(y, base, ptr)
                if other is False:
                    return True
                if not isinstance(other, dict):
                    return False
                return not any(self._strictly(lambda v=v, s=other, b=obase: self._is_valid(v, s, b, ptr)) for v in values)
            except (InvalidSchemaError, UnsupportedSchemaError):
                return False
        return False

    def _effective_types(self, schema: Any, base: str, ptr: str, depth: int = 0) -> set[str]:
        """JSON types a schema can accept, looking through ``$ref``, ``anyOf``/``oneOf`` (union),
        ``allOf`` (intersection), ``const``/``enum``; ``number`` includes ``integer``."""
        everything = set(JSON_TYPES)
        schema, base = self._resolve(schema, base, ptr)
        if schema is False:
            return set()
        if not isinstance(schema, dict) or depth > 8:
            return everything
        types = set(_types_of(schema))
        if "number" in types:
            types.add("integer")
        if "const" in schema:
            types &= {_type_of_value(schema["const"])} | ({"number"} if _type_of_value(schema["const"]) == "integer" else set())
        elif isinstance(schema.get("enum"), list):
            found = {_type_of_value(v) for v in schema["enum"]}
            types &= found | ({"number"} if "integer" in found else set())
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list):
                union: set[str] = set()
                for sub in schema[key]:
                    union |= self._effective_types(sub, base, ptr, depth + 1)
                types &= union
        if isinstance(schema.get("allOf"), list):
            for sub in schema["allOf"]:
                types &= self._effective_types(sub, base, ptr, depth + 1)
        return types

    def _items_disjoint(self, a: dict, b: dict, base: str, ptr: str, depth: int = 0) -> bool:
        """Both schemas accept only arrays whose every item (no ``prefixItems``, no tuple
        ``items``) satisfies an item schema, and the two item schemas are disjoint: the arrays
        they share are ``[]`` alone."""
        if depth > 4:
            return False
        items = []
        for x in (a, b):
            if not set(_types_of(x)) <= {"array"} or "prefixItems" in x or not isinstance(x.get("items"), (dict, bool)):
                return False
            try:
                items.append(self._as_dict(x["items"], _ptr(ptr, "items"), base, 0))
            except InvalidSchemaError:
                return False
        return self._disjoint(items[0], items[1], base, ptr, depth + 1)

    def _disjoint(self, a: dict, b: dict, base: str, ptr: str, depth: int = 0) -> bool:
        if _signatures_disjoint(_signature(a), _signature(b)):
            return True
        try:
            ea, eb = self._effective_types(a, base, ptr), self._effective_types(b, base, ptr)
        except InvalidSchemaError:
            ea = eb = set(JSON_TYPES)
        if not (ea & eb):
            return True
        ta, tb = set(_types_of(a)), set(_types_of(b))
        if ta <= {"string"} and tb <= {"string"} and self._strings_disjoint(a, b, ptr):
            return True
        if (ta <= {"array"} and tb <= {"array"} and (_min_items(a) or _min_items(b))
                and self._items_disjoint(a, b, base, ptr, depth)):
            return True
        # Below, every value of x is an object (x allows no other type), so it fails y when y's
        # object keywords reject it, whatever else y accepts.
        for x, y, tx in ((a, b, ta), (b, a, tb)):
            if not tx <= {"object"}:
                continue
            x_props = x.get("properties", {}) if isinstance(x.get("properties"), dict) else {}
            y_props = y.get("properties", {}) if isinstance(y.get("properties"), dict) else {}
            x_required = {r for r in x.get("required", []) if isinstance(r, str)}
            if (isinstance(x.get("minProperties"), int) and x["minProperties"] >= 1 and _closed(y)
                    and all(x_props.get(k) is False or k in x.get("$forbidden", []) for k in y_props)):
                return True  # x's objects hold some property, and none that y declares: y forbids it
            if any(names <= x_required for names in _negated_required(y)):
                return True  # y's "not: {required: [...]}" rejects every object of x
            for name in x.get("required", []):
                # y forbids a property x requires.
                if self._forbids(y, y_props, name):
                    return True
                # A discriminator: x requires it with values that y's declaration excludes.
                if name in x_props and name in y_props and self._property_schemas_disjoint(x_props[name], y_props[name], base, ptr, depth):
                    return True
            for name in y.get("required", []):
                # y requires a property x can hold only with values y's declaration excludes:
                # x's objects lack it, or hold it with such a value.
                if (isinstance(name, str) and name in x_props and name in y_props
                        and self._property_schemas_disjoint(x_props[name], y_props[name], base, ptr, depth)):
                    return True
            alternatives = x.get("anyOf")
            if isinstance(alternatives, list) and alternatives and depth < 4 and all(isinstance(br, dict) for br in alternatives):
                # x is the union of its rest with each alternative: disjoint if each part is.
                rest = {k: v for k, v in x.items() if k != "anyOf"}
                if all(self._disjoint(self._merge(rest, br, ptr), y, base, ptr, depth + 1) for br in alternatives):
                    return True
        return False

    @staticmethod
    def _forbids(schema: dict, props: dict, name: Any) -> bool:
        """Whether an object valid under ``schema`` (with ``properties`` ``props``) can never
        hold the property ``name``."""
        if props.get(name) is False or name in schema.get("$forbidden", []):
            return True
        if name in props or schema.get("additionalProperties", True) is not False or not isinstance(name, str):
            return False
        # Under the widest reading of each pattern (ECMA-262 or Python): rejected there means
        # rejected by any validator.
        return _pattern_property_matches(schema, name, "wide") is False

    def _strings_disjoint(self, a: dict, b: dict, ptr: str) -> bool:
        """Whether two string-only schemas share no string, decided on their automata.

        Only for keywords enforced exactly (pattern, lengths under the cap, enum/const): a
        ``format`` is generated as a subset of its language, so a disjoint subset would prove
        nothing about the formats themselves.
        """
        exact = {"type", "pattern", "minLength", "maxLength"} | ANNOTATIONS
        if set(a) - exact or set(b) - exact:
            return False
        try:
            bounds = [self._string_lengths(x, ptr) for x in (a, b)]
        except InvalidSchemaError:
            return False  # the schemas' own compilation reports it
        cap = self.options.max_repeat
        if any(lo > cap or (hi or 0) > cap for lo, hi in bounds):
            return False

        def decoded(x: dict, lo: int, hi: int | None) -> ByteDFA:
            """The strings ``x`` allows, as decoded text (what a validator reads)."""
            length = compile_regex("[^]{%d,%s}" % (lo, "" if hi is None else hi))
            content = self._string_content(x, ptr)
            return length if content is None else intersection(content, length)

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                da, db = (decoded(x, lo, hi) for x, (lo, hi) in zip((a, b), bounds))
        except (UnsupportedSchemaError, InvalidSchemaError):
            return False
        return is_empty(intersection(da, db))


def _requires_more(a: dict, b: dict) -> bool:
    """Whether ``a`` is ``b`` with more names required (so every value of ``a`` satisfies ``b``),
    as two oneOf branches ``{required: [...]}`` merged with the same surrounding keywords are."""
    required_a, required_b = a.get("required", []), b.get("required", [])
    return (isinstance(required_a, list) and isinstance(required_b, list) and set(required_b) <= set(required_a)
            and {k: v for k, v in a.items() if k != "required"} == {k: v for k, v in b.items() if k != "required"})


def _differs_in_required_only(a: dict, b: dict) -> bool:
    """Whether two schemas are equal but for their ``required`` lists (oneOf branches
    ``{required: [...]}`` merged with the same surrounding keywords)."""
    return {k: v for k, v in a.items() if k != "required"} == {k: v for k, v in b.items() if k != "required"}


def _negated_required(schema: dict) -> list[set[str]]:
    """Name sets of which ``schema`` forbids an object to hold all: its ``not`` is
    ``{required: [...]}`` (perhaps beside ``type: object``), or an ``anyOf`` of such."""
    negated = schema.get("not")
    if not isinstance(negated, dict):
        return []
    parts = negated.get("anyOf") if set(negated) == {"anyOf"} else [negated]
    if not isinstance(parts, list):
        return []
    found = []
    for part in parts:
        if not isinstance(part, dict) or not isinstance(part.get("required"), list):
            continue
        if set(part) - ANNOTATIONS - {"required", "type"} or part.get("type", "object") != "object":
            continue
        found.append({r for r in part["required"] if isinstance(r, str)})
    return found


def _closed(schema: dict) -> bool:
    """Whether an object schema forbids every property it does not declare."""
    return (schema.get("additionalProperties") is False and not schema.get("patternProperties")
            and not schema.get("$patterns") and isinstance(schema.get("properties", {}), dict))


def _first_present(names: list[str]) -> list[dict]:
    """Alternatives meaning "one of ``names`` is present", made mutually exclusive (the i-th:
    ``names[i]`` present, the ones before it absent) so an object parses one way only: with
    overlapping alternatives, every nested object holding two names doubled the parses alive."""
    return [{"required": [k], "$forbidden": names[:i]} if i else {"required": [k]} for i, k in enumerate(names)]


def _only_object_keywords(schema: dict) -> bool:
    """Whether ``schema`` constrains objects only (so every non-object value satisfies it)."""
    keys = set(schema) - ANNOTATIONS
    return "type" not in schema and bool(keys) and not (keys - _OBJECT_KEYWORDS)


def _min_items(schema: dict) -> int:
    value = schema.get("minItems", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _signature(b: dict) -> tuple[str, Any]:
    if "const" in b:
        return ("const", [b["const"]])
    if "enum" in b and isinstance(b["enum"], list):
        return ("const", b["enum"])
    types = set(_types_of(b))
    if "number" in types:
        types.add("integer")
    return ("types", types)


def _signatures_disjoint(sa: tuple[str, Any], sb: tuple[str, Any]) -> bool:
    (ka, va), (kb, vb) = sa, sb
    if ka == kb == "const":
        return not any(_json_equal(x, y) for x in va for y in vb)
    if ka == kb == "types":
        return not (va & vb)
    consts, types = (va, vb) if ka == "const" else (vb, va)
    return not any(_type_of_value(c) in types or (_type_of_value(c) == "integer" and "number" in types) for c in consts)
