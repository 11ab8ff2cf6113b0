"""``not`` in the JSON Schema compiler.

``not`` folded into positive keywords where that is exact (types, forbidden and
not-all-present properties, negated object schemas expanded into variants, negated scalar
schemas as complements of automata); other forms are refused. Holds the mixin
:class:`NegationKeywords` and the helpers only it uses.

Imports go down only: this module may import :mod:`.keywords`, :mod:`.refs`, the automata modules
(:mod:`.strings`, :mod:`.numeric`, :mod:`.formats`, ``constrain.regex``), ``constrain.grammar`` and
``constrain.errors``; never :mod:`.compiler` nor another keyword family module (the methods of the
other families are reached through ``self``).
"""

from __future__ import annotations

from ..errors import InvalidSchemaError, MalformedSchemaError
from ..regex.parser import Node
from .keywords import ANNOTATIONS, _ptr, _types_of

_STRING_KEYWORDS = frozenset({"minLength", "maxLength", "pattern", "$patterns", "format"})
_NUMBER_KEYWORDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})
#: Keywords that make a negated scalar schema more than a plain set of keywords.
_COMBINING_KEYWORDS = frozenset({"anyOf", "oneOf", "not", "enum", "const", "$not_strings", "$not_numbers"})
#: What a ``not`` may hold for :meth:`SchemaCompiler._not_scalar`.
_SCALAR_NOT_KEYWORDS = _STRING_KEYWORDS | _NUMBER_KEYWORDS | _COMBINING_KEYWORDS | {"type"}


class NegationKeywords:
    """Methods of :class:`~constrain.jsonschema.compiler.SchemaCompiler` for ``not``.

    Calls through ``self``: ``_resolve``, ``unsupported``, ``value`` (compiler); ``_alternatives``,
    ``_as_dict``, ``_merge``, ``_merge_all_of`` (combinators); ``_effective_types`` (disjoint);
    ``_is_valid`` (enums). Compiler state it uses: ``resolver``.
    """

    def _not_all(self, schema: dict, base: str, ptr: str) -> Node:
        """For each group of names that must not all be present: a variant per absent name."""
        rest = {k: v for k, v in schema.items() if k != "$not_all"}
        variants: list[dict] = [rest]
        for group in schema["$not_all"]:
            variants = [dict(v, **{"$forbidden": list(v.get("$forbidden", [])) + [name]}) for v in variants for name in group]
            if len(variants) > 16:
                self.unsupported("not", ptr, "too many combinations of 'not required' groups")
                return self.value(rest, base, ptr)
        return self._alternatives({"anyOf": variants}, "anyOf", base, ptr)

    def _only_type(self, schema: dict, kind: str, ptr: str) -> dict:
        """``schema`` restricted to one JSON type (an error when it allows no value of it)."""
        if kind not in _types_of(schema):
            raise InvalidSchemaError(f"the schema at {ptr or '/'} allows no value: its not only admits {kind}s, which its type excludes")
        return dict(schema, type=kind)

    def _not_object(self, schema: dict, base: str, ptr: str) -> Node:
        """``not: {required: R, properties: P}`` (optionally with ``type: object``) as variants.

        An object fails such a schema exactly when a name of R is absent, or a property of P is
        present with a value its schema rejects: one variant per name (absent) and per property
        (present, its schema merged with ``not`` of the property's schema). Without ``type:
        object`` in the negated schema every non-object satisfies it, so only objects remain;
        with it, the other types of the schema stay as one more variant.
        """
        rest = {k: v for k, v in schema.items() if k != "$not_object"}
        variants: list[dict] = [rest]
        for neg in schema["$not_object"]:
            alternatives: list[dict] = [{"$forbidden": [name]} for name in neg.get("required", [])]
            for name, sub in neg.get("properties", {}).items():
                alternatives.append({"required": [name], "properties": {name: {"not": sub}}})
            others = [t for t in _types_of(rest) if t != "object"]
            if neg.get("type") == "object" and others:
                alternatives.append({"type": others})
            expanded = []
            for variant in variants:
                for alt in alternatives:
                    if "type" not in alt:
                        alt = dict(alt, type="object")
                    try:
                        expanded.append(self._merge(variant, alt, ptr))
                    except MalformedSchemaError:
                        raise  # a wrong schema is an error even where an unsatisfiable part is dropped
                    except InvalidSchemaError:
                        continue  # this way of failing the negated schema is impossible here
            variants = expanded
            if len(variants) > 16:
                self.unsupported("not", ptr, "too many ways to fail the negated object schema")
                return self.value(rest, base, ptr)
        if not variants:
            raise InvalidSchemaError(f"the schema at {ptr or '/'} is unsatisfiable (its not holds for every object)")
        return self._alternatives({"anyOf": variants}, "anyOf", base, ptr)

    def _apply_not(self, schema: dict, base: str, ptr: str) -> dict:
        """Fold ``not`` into positive keywords where that is exact; refuse the other forms.

        Supported: ``not: {}``/``true`` (nothing is valid), ``not: false`` (no constraint), double
        negation, ``not: {type}``, ``not: {required: [p]}`` (p must be absent), ``not: {anyOf:
        [{required: [p]}, ...]}`` (all absent), ``not: {enum|const}`` of strings, null and booleans,
        and ``not: {pattern}`` for strings.
        """
        out = {k: v for k, v in schema.items() if k != "not"}
        neg, nbase = self._resolve(schema["not"], base, ptr)
        if isinstance(neg, dict) and ("allOf" in neg or "$ref" in neg):
            neg = self._merge_all_of(neg, self.resolver.base_of(neg, nbase), _ptr(ptr, "not"))
        if neg is False:
            return out
        if neg is True or (isinstance(neg, dict) and not (set(neg) - ANNOTATIONS)):
            raise InvalidSchemaError(f"the schema at {ptr or '/'} is unsatisfiable (not: {{}})")
        if not isinstance(neg, dict):
            raise MalformedSchemaError(f"not must hold a schema at {ptr or '/'}")
        neg = {k: v for k, v in neg.items() if k not in ANNOTATIONS}
        keys = set(neg)
        if keys == {"not"}:
            inner = self._as_dict(neg["not"], _ptr(ptr, "not", "not"), base, 0)
            return self._merge(out, inner, ptr)
        if keys == {"type"}:
            banned = set(neg["type"] if isinstance(neg["type"], list) else [neg["type"]])
            allowed = set(_types_of(out)) - banned
            if "number" in banned:
                allowed.discard("integer")
            if "integer" in banned and "number" in allowed:
                return self._not_scalar(out, neg, nbase, ptr)  # numbers that are not integers
            if not allowed:
                raise InvalidSchemaError(f"the schema at {ptr or '/'} allows no type")
            out["type"] = sorted(allowed)
            return out
        forbidden = _forbidden_properties(neg)
        if forbidden is not None:
            # Every non-object satisfies {required: ...}, so the negation keeps objects only.
            out = self._only_type(out, "object", ptr)
            out["$forbidden"] = list(out.get("$forbidden", [])) + forbidden
            return out
        together = _required_together(neg)
        if together is not None:
            # not (all of these present) = at least one of them absent: expanded into variants.
            out = self._only_type(out, "object", ptr)
            out["$not_all"] = list(out.get("$not_all", [])) + [together]
            return out
        if (keys <= {"required", "properties", "type"} and keys & {"required", "properties"}
                and neg.get("type", "object") == "object" and isinstance(neg.get("properties", {}), dict)
                and isinstance(neg.get("required", []), list) and all(isinstance(r, str) for r in neg.get("required", []))):
            out["$not_object"] = list(out.get("$not_object", [])) + [neg]
            return out
        if keys == {"anyOf"} and isinstance(neg["anyOf"], list):
            # not (A or B) = not A and not B
            for branch in neg["anyOf"]:
                out = self._apply_not(dict(out, **{"not": branch}), nbase, ptr)
            return out
        if keys <= _SCALAR_NOT_KEYWORDS:
            return self._not_scalar(out, neg, nbase, ptr)
        self.unsupported("not", ptr)
        return out

    def _not_scalar(self, out: dict, neg: dict, base: str, ptr: str) -> dict:
        """``not: neg`` where ``neg`` holds scalar keywords only (type, enum/const, string and number
        keywords), possibly combined through anyOf/oneOf/not.

        A value satisfies ``neg`` when its type is one of neg's and what neg says about that type
        holds. So, type by type: a type neg does not admit is untouched; null and booleans are
        checked value by value; strings and numbers are restricted to the complement of neg's
        automaton (``$not_strings``/``$not_numbers``, see :meth:`_string_set`, :meth:`_number_set`).
        When neg is a plain set of keywords, a type none of them constrains satisfies it outright
        and is removed; arrays and objects a combined neg may satisfy are refused.
        """
        out = dict(out)
        flat = not (set(neg) & _COMBINING_KEYWORDS)
        neg_types = set(_types_of(neg)) if flat else self._effective_types(neg, base, ptr)
        string_keywords = any(k in _STRING_KEYWORDS for k in neg)
        number_keywords = any(k in _NUMBER_KEYWORDS for k in neg)
        kept: list[str] = []
        for t in _types_of(out):
            numeric = t in ("integer", "number")
            applies = t in neg_types or (numeric and "number" in neg_types) or (t == "number" and "integer" in neg_types)
            if not applies:
                kept.append(t)
            elif t in ("null", "boolean"):
                values = [None] if t == "null" else [True, False]
                bad = [v for v in values if self._is_valid(v, neg, base, ptr)]
                if len(bad) < len(values):
                    kept.append(t)
                    if bad:
                        out["$not_values"] = list(out.get("$not_values", [])) + bad
            elif t == "string":
                if not flat or string_keywords:
                    kept.append(t)
                    out["$not_strings"] = list(out.get("$not_strings", [])) + [neg]
            elif numeric:
                # Against a number, an integer-only neg holds for integer values alone.
                if not flat or number_keywords or (t == "number" and "number" not in neg_types):
                    kept.append(t)
                    out["$not_numbers"] = list(out.get("$not_numbers", [])) + [neg]
            elif not flat:
                self.unsupported("not", ptr, f"a negated combination of schemas that {t}s may satisfy")
                kept.append(t)
            # else: every value of type t satisfies neg, so none is left
        if not kept:
            raise InvalidSchemaError(f"the schema at {ptr or '/'} allows no value: its not holds for every value")
        out["type"] = kept
        return out


def _required_together(neg: dict) -> list[str] | None:
    """Names that ``not: neg`` forbids from being present all at once: ``{required: [a, b, ...]}``
    or ``{allOf: [{required: [...]}, ...]}``."""
    if set(neg) == {"required"} and isinstance(neg["required"], list) and neg["required"]:
        return list(neg["required"])
    if set(neg) == {"allOf"} and isinstance(neg["allOf"], list):
        names: list[str] = []
        for branch in neg["allOf"]:
            if not (isinstance(branch, dict) and set(branch) == {"required"} and isinstance(branch["required"], list)):
                return None
            names.extend(branch["required"])
        return names or None
    return None


def _forbidden_properties(neg: dict) -> list[str] | None:
    """Names that ``not: neg`` forbids, when ``neg`` is ``{required: [p]}`` or an anyOf of such."""
    if set(neg) == {"required"} and isinstance(neg["required"], list) and len(neg["required"]) == 1:
        return list(neg["required"])
    if set(neg) == {"anyOf"} and isinstance(neg["anyOf"], list):
        names = []
        for branch in neg["anyOf"]:
            sub = _forbidden_properties(branch) if isinstance(branch, dict) else None
            if sub is None:
                return None
            names.extend(sub)
        return names
    return None
