"""``allOf``, ``anyOf`` and ``oneOf`` in the JSON Schema compiler.

allOf (and a ``$ref`` with sibling keywords) is merged into one schema, keyword by keyword;
anyOf and oneOf become alternatives, each branch merged with the surrounding keywords (oneOf
branches that may overlap are narrowed first: see :mod:`.disjoint`). Holds the mixin
:class:`CombinatorKeywords` and the helpers only it uses.

Imports go down only: this module may import :mod:`.keywords`, :mod:`.refs`, the automata modules
(:mod:`.strings`, :mod:`.numeric`, :mod:`.formats`, ``constrain.regex``), ``constrain.grammar`` and
``constrain.errors``; never :mod:`.compiler` nor another keyword family module (the methods of the
other families are reached through ``self``).
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import InvalidSchemaError, MalformedSchemaError, UnsupportedSchemaError
from ..regex.parser import Alt, Node
from .keywords import (
    _ITEM_KEYWORDS,
    ANNOTATIONS,
    HANDLED,
    INTERNAL_LISTS,
    REFUSED,
    _item_schemas,
    _pattern_property_matches,
    _ptr,
    _value_key,
)


class CombinatorKeywords:
    """Methods of :class:`~constrain.jsonschema.compiler.SchemaCompiler` for allOf, anyOf and oneOf.

    Calls through ``self``: ``_resolve``, ``_strictly``, ``unsupported``, ``value`` (compiler);
    ``_disjoin``, ``_pairwise_disjoint`` (disjoint); ``_with_conditionals`` (conditionals). Compiler
    state it uses: ``resolver``.
    """

    def _merge_all_of(self, schema: dict, base: str, ptr: str, depth: int = 0) -> dict:
        """Fold ``allOf`` (and ``$ref`` with siblings) into one schema dict."""
        if depth > 32:
            raise InvalidSchemaError(f"allOf/$ref nesting too deep at {ptr or '/'}")
        parts: list[dict] = []
        rest = {k: v for k, v in schema.items() if k not in ("allOf", "$ref")}
        if "$ref" in schema:
            target, tbase = self.resolver.resolve(schema["$ref"], self.resolver.base_of(schema, base), ptr)
            parts.append(self._as_dict(target, _ptr(ptr, "$ref"), tbase, depth))
        all_of = schema.get("allOf", [])
        if not isinstance(all_of, list) or not all_of and "allOf" in schema:
            raise MalformedSchemaError(f"allOf must be a non-empty array at {ptr or '/'}")
        for i, sub in enumerate(all_of):
            parts.append(self._as_dict(sub, _ptr(ptr, "allOf", i), base, depth))
        # Referenced and allOf'd schemas first, the schema's own keywords last: properties are then
        # generated inherited-first, the order instances written against such schemas tend to use.
        merged: dict = {}
        for part in parts + [rest]:
            merged = self._merge(merged, part, ptr)
        return merged

    def _as_dict(self, sub: Any, ptr: str, base: str, depth: int) -> dict:
        sub, base = self._resolve(sub, base, ptr)
        if sub is True:
            return {}
        if sub is False:
            return {"not": {}}
        if not isinstance(sub, dict):
            raise MalformedSchemaError(f"a subschema must be an object or a boolean at {ptr}")
        if "allOf" in sub or "$ref" in sub:
            return self._merge_all_of(sub, base, ptr, depth + 1)
        return sub

    def _merge(self, a: dict, b: dict, ptr: str) -> dict:
        """Schema accepting what both ``a`` and ``b`` accept (for the keywords we know how to merge)."""
        a, b = self._with_conditionals(a), self._with_conditionals(b)
        out = dict(a)
        # Item keywords interact inside one schema object ("items" starts after that object's
        # own "prefixItems"): when both sides have some, they are merged position by position.
        items_merged = any(k in a for k in _ITEM_KEYWORDS) and any(k in b for k in _ITEM_KEYWORDS)
        for key, bv in b.items():
            if items_merged and key in _ITEM_KEYWORDS:
                continue
            if key in INTERNAL_LISTS:
                out[key] = list(out.get(key, [])) + list(bv)
                continue
            if key in ANNOTATIONS or (key not in HANDLED and key not in REFUSED):
                continue  # annotations and unknown keywords (x-*, vendor extensions) never affect validity
            if key not in out:
                out[key] = bv
                continue
            av = out[key]
            if av == bv:
                continue
            if key == "type":
                at = set(av if isinstance(av, list) else [av])
                bt = set(bv if isinstance(bv, list) else [bv])
                both = (at & bt) | ({"integer"} if ("integer" in at and "number" in bt) or ("number" in at and "integer" in bt) else set())
                if not both:
                    raise InvalidSchemaError(f"allOf at {ptr or '/'} is unsatisfiable: types {sorted(at)} and {sorted(bt)} do not overlap")
                out[key] = sorted(both)
            elif key == "required":
                out[key] = list(dict.fromkeys(list(av) + list(bv)))
            elif key in _LOWER_BOUNDS and not isinstance(av, bool) and not isinstance(bv, bool):
                out[key] = max(av, bv)
            elif key in _UPPER_BOUNDS and not isinstance(av, bool) and not isinstance(bv, bool):
                out[key] = min(av, bv)
            elif key == "properties":
                props = dict(av)
                for name, sub in bv.items():
                    props[name] = {"allOf": [props[name], sub]} if name in props else sub
                out[key] = props
            elif key in ("items", "additionalProperties") and (av is True or bv is False):
                out[key] = bv  # true is the identity of "and", false absorbs it
            elif key in ("items", "additionalProperties") and (bv is True or av is False):
                out[key] = av
            elif key in ("items", "additionalProperties", "contains") and isinstance(av, (dict, bool)) and isinstance(bv, (dict, bool)):
                out[key] = {"allOf": [av, bv]}
            elif key == "uniqueItems" and isinstance(av, bool) and isinstance(bv, bool):
                out[key] = True  # they differ: one of them is true
            elif key == "not":
                # not A and not B = not (A or B)
                out[key] = {"anyOf": [av, bv]}
            elif key == "anyOf" and isinstance(av, list) and isinstance(bv, list) and len(av) * len(bv) <= 64:
                # (A1 | A2) & (B1 | B2) = (A1 & B1) | (A1 & B2) | ...
                out[key] = [{"allOf": [x, y]} for x in av for y in bv]
            elif key in ("anyOf", "oneOf") and isinstance(av, list) and isinstance(bv, list):
                # anyOf(A) & anyOf(B) = anyOf(Ai & anyOf(B)); likewise for oneOf, since with
                # X = oneOf(B) exactly one Ai & X holds iff X holds and exactly one Ai does.
                out[key] = [{"allOf": [x, {key: bv}]} for x in av]
            elif key == "enum":
                theirs = {_value_key(w) for w in bv}
                out[key] = [v for v in av if _value_key(v) in theirs]
            elif key == "pattern":
                out.setdefault("$patterns", [])
                out["$patterns"] = list(out["$patterns"]) + [bv]
            elif key == "multipleOf":
                if all(isinstance(x, int) for x in (av, bv)):
                    out[key] = av * bv // math.gcd(av, bv)
                else:
                    self.unsupported(key, ptr, "allOf of two different non-integer multipleOf")
            else:
                self.unsupported(key, ptr, f"allOf branches give {key!r} two different values")
        if items_merged:
            for key in _ITEM_KEYWORDS:
                out.pop(key, None)
            prefix_a, rest_a = _item_schemas(a, ptr)
            prefix_b, rest_b = _item_schemas(b, ptr)
            length = max(len(prefix_a), len(prefix_b))
            prefix = [_both(prefix_a[i] if i < len(prefix_a) else rest_a, prefix_b[i] if i < len(prefix_b) else rest_b)
                      for i in range(length)]
            if prefix:
                out["prefixItems"] = prefix
            rest = _both(rest_a, rest_b)
            if rest is not True:
                out["items"] = rest
        # Properties declared in one branch only still obey the other's additionalProperties,
        # unless one of its patternProperties matches the name (then that pattern's schema, kept
        # in the merged patternProperties, applies instead).
        for x, y in ((a, b), (b, a)):
            extra = y.get("additionalProperties", True)
            if extra is not True and isinstance(x.get("properties"), dict):
                props = dict(out.get("properties", {}))
                for name in x["properties"]:
                    if name not in y.get("properties", {}) and not _surely_matched(y, name):
                        props[name] = {"allOf": [props[name], extra]}
                out["properties"] = props
            # Likewise undeclared names matching one branch's patternProperties: for the other
            # branch they are additional. Where that branch has no patterns of its own, its
            # additionalProperties joins each pattern's schema (stricter than needed only for
            # names it declares that also match the pattern: sound).
            patterns = x.get("patternProperties")
            if extra is not True and isinstance(patterns, dict) and patterns:
                if y.get("patternProperties"):
                    self.unsupported("additionalProperties", ptr, "allOf branches with different "
                                     "patternProperties beside additionalProperties")
                    continue
                out["patternProperties"] = {p: _both(sub, extra) for p, sub in patterns.items()}
        return out

    def _alternatives(self, schema: dict, key: str, base: str, ptr: str) -> Node:
        branches = schema[key]
        if not isinstance(branches, list) or not branches:
            raise MalformedSchemaError(f"{key} must be a non-empty array at {ptr or '/'}")
        # A oneOf beside an anyOf stays in the rest, merged into every anyOf branch (it was dropped).
        rest = {k: v for k, v in schema.items() if k != key}
        merged = []
        for i, branch in enumerate(branches):
            bptr = _ptr(ptr, key, i)
            try:
                sub = self._as_dict(branch, bptr, base, 0)
                if sub == {"not": {}}:
                    continue  # a false branch matches nothing
                # The surrounding keywords first: their properties then come before the branch's,
                # the order in which instances written against such schemas list them (and
                # allOf's order).
                merged.append((self._merge(rest, sub, bptr) if rest else sub, bptr))
            except MalformedSchemaError:
                raise  # a wrong schema is an error even where an unsatisfiable part is dropped
            except InvalidSchemaError:
                continue  # a branch that merges to nothing (disjoint types) matches nothing
        if not merged:
            raise InvalidSchemaError(f"no branch of {key} at {ptr or '/'} is satisfiable")
        if key == "oneOf" and len(merged) > 1 and not self._pairwise_disjoint([m for m, _ in merged], base, ptr):
            narrowed = self._disjoin([m for m, _ in merged], base, ptr)
            if narrowed is None:
                # Exactly one = each branch and not any other: exact where those nots are
                # supported (scalars, some object shapes); refused otherwise.
                exclusive = [
                    (self._merge(sub, {"not": {"anyOf": [o for j, (o, _) in enumerate(merged) if j != i]}}, bptr), bptr)
                    for i, (sub, bptr) in enumerate(merged)
                ]
                try:
                    options = self._strictly(lambda: self._branch_values(exclusive, base))
                except UnsupportedSchemaError as exc:
                    self.unsupported("oneOf", ptr, f"its branches may overlap (exactly-one cannot be checked: {exc})")
                else:
                    if not options:
                        raise InvalidSchemaError(f"no value satisfies exactly one branch of oneOf at {ptr or '/'}")
                    return options[0] if len(options) == 1 else Alt(tuple(options))
            else:
                merged = [(n, bptr) for n, (_, bptr) in zip(narrowed, merged)]
        options = self._branch_values(merged, base)
        if not options:
            raise InvalidSchemaError(f"no branch of {key} at {ptr or '/'} is satisfiable")
        return options[0] if len(options) == 1 else Alt(tuple(options))

    def _branch_values(self, branches: list[tuple[dict, str]], base: str) -> list[Node]:
        options = []
        for sub, bptr in branches:
            try:
                options.append(self.value(sub, base, bptr))
            except MalformedSchemaError:
                raise  # a wrong schema is an error even where an unsatisfiable part is dropped
            except InvalidSchemaError:
                continue  # an unsatisfiable branch contributes nothing
        return options


#: Bounds merged by taking the tighter one (booleans are draft 4's exclusive flags, not bounds).
_LOWER_BOUNDS = ("minimum", "minLength", "minItems", "minProperties", "exclusiveMinimum")
_UPPER_BOUNDS = ("maximum", "maxLength", "maxItems", "maxProperties", "exclusiveMaximum")


def _both(a: Any, b: Any) -> Any:
    """A schema for values valid under both ``a`` and ``b``."""
    if a is True or b is False or a == b:
        return b
    if b is True or a is False:
        return a
    return {"allOf": [a, b]}


def _surely_matched(schema: dict, name: str) -> bool:
    """Whether a ``patternProperties`` pattern of ``schema`` matches ``name`` under every reading
    (ECMA-262 and Python ``re`` agree: the portable automaton accepts it)."""
    return isinstance(name, str) and _pattern_property_matches(schema, name, "portable") is True
