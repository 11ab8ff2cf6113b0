"""``if``/``then``/``else`` and property dependencies in the JSON Schema compiler.

Both become unions of variants: one per way the ``if`` conditions (or the presence of each
trigger property of ``dependencies``/``dependentRequired``/``dependentSchemas``) can go.
Holds the mixin :class:`ConditionalKeywords`.

Imports go down only: this module may import :mod:`.keywords`, :mod:`.refs`, the automata modules
(:mod:`.strings`, :mod:`.numeric`, :mod:`.formats`, ``constrain.regex``), ``constrain.grammar`` and
``constrain.errors``; never :mod:`.compiler` nor another keyword family module (the methods of the
other families are reached through ``self``).
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidSchemaError, MalformedSchemaError, UnsupportedSchemaError
from ..regex.parser import Node
from .keywords import ANNOTATIONS, JSON_TYPES, _ptr, _value_key

#: if/then/else triples one schema may hold (after allOf merging): 2**n variants.
_MAX_CONDITIONALS = 3
#: Values an if/then/else chain on one property may test: one object variant each, all alive
#: in the parse until the property is read (the grammar's ambiguity budget is 1,024 parses).
_MAX_DISCRIMINATED_VALUES = 6


class ConditionalKeywords:
    """Methods of :class:`~constrain.jsonschema.compiler.SchemaCompiler` for conditionals and dependencies.

    Calls through ``self``: ``_resolve``, ``_strictly``, ``unsupported``, ``value`` (compiler);
    ``_alternatives``, ``_as_dict``, ``_merge`` (combinators); ``_finite_values``, ``_is_valid``
    (enums). Compiler state it uses: ``_ignores_conditionals``.
    """

    def _with_conditionals(self, schema: dict) -> dict:
        """``schema`` with ``if``/``then``/``else`` moved into the ``$conditionals`` list (so that
        allOf branches each holding one merge), or dropped where the draft has no such keywords
        (``then``/``else`` without ``if`` never constrain anything)."""
        if not any(k in schema for k in ("if", "then", "else")):
            return schema
        out = {k: v for k, v in schema.items() if k not in ("if", "then", "else")}
        if "if" in schema and not self._ignores_conditionals:
            triple = {k: schema[k] for k in ("if", "then", "else") if k in schema}
            out["$conditionals"] = list(schema.get("$conditionals", [])) + [triple]
        return out

    def _conditional(self, schema: dict, base: str, ptr: str) -> Node:
        """``if``/``then``/``else`` as the union, over each choice of which ``if`` holds, of
        ``if and then`` or ``not if and else``: the variants are disjoint and their union is
        exactly the schema, wherever the negated ``if`` is supported (see :meth:`_apply_not`).
        Refused (in lenient mode: dropped with a warning) otherwise."""
        conditionals = schema["$conditionals"]
        rest = {k: v for k, v in schema.items() if k != "$conditionals"}
        variants = self._discriminated_variants(rest, conditionals, base, ptr)
        if variants is None:
            if len(conditionals) > _MAX_CONDITIONALS:
                self.unsupported("if", ptr, f"more than {_MAX_CONDITIONALS} if/then/else in one schema "
                                 "that do not all test one property's value")
                return self.value(rest, base, ptr)
            variants = [{"allOf": [rest]}]
            for triple in conditionals:
                cond = triple["if"]
                variants = [
                    {"allOf": v["allOf"] + part}
                    for v in variants
                    for part in ([cond, triple.get("then", True)], [{"not": cond}, triple.get("else", True)])
                ]
        try:
            return self._strictly(lambda: self._alternatives({"anyOf": variants}, "anyOf", base, ptr))
        except UnsupportedSchemaError as exc:
            self.unsupported("if", ptr, f"its negation cannot be enforced ({exc})")
            return self.value(rest, base, ptr)

    def _discriminated_variants(self, rest: dict, conditionals: list[dict], base: str, ptr: str) -> list[dict] | None:
        """Variants for if/then/else that all test one property's value (``if: {properties: {p:
        {const: v}}}``, optionally with ``required: [p]`` and ``type: object``): one variant per
        case that decides every ``if`` at once — not an object, ``p`` absent, ``p`` equal to each
        listed value, ``p`` some other value — instead of ``2**n`` combinations. None when the
        conditionals have another shape.
        """
        name = None
        tests = []  # (values that pass, required?, objects only?, then, else)
        for triple in conditionals:
            cond, cbase = self._resolve(triple["if"], base, ptr)
            if not isinstance(cond, dict):
                return None
            keys = set(cond) - ANNOTATIONS
            props = cond.get("properties")
            if not keys <= {"properties", "required", "type"} or not isinstance(props, dict) or len(props) != 1:
                return None
            (p, sub), = props.items()
            if name not in (None, p) or cond.get("required", [p]) not in ([], [p]) or cond.get("type", "object") != "object":
                return None
            name = p
            try:
                values = self._finite_values(sub, cbase, ptr)
                resolved, rbase = self._resolve(sub, cbase, ptr)
                if values is None or not isinstance(resolved, dict):
                    return None
                passing = [v for v in values if self._strictly(lambda v=v, s=resolved, b=rbase: self._is_valid(v, s, b, ptr))]
            except (InvalidSchemaError, UnsupportedSchemaError):
                return None
            tests.append((passing, "required" in cond and bool(cond["required"]), "type" in cond,
                          triple.get("then", True), triple.get("else", True)))
        if name is None or sum(len(passing) for passing, *_ in tests) > _MAX_DISCRIMINATED_VALUES:
            return None
        candidates: list[Any] = []
        seen: set[Any] = set()
        for passing, *_ in tests:
            for v in passing:
                if _value_key(v) not in seen:
                    seen.add(_value_key(v))
                    candidates.append(v)

        def variant(selector: dict, holds: list[bool]) -> dict:
            chosen = [then if held else else_ for held, (_, _, _, then, else_) in zip(holds, tests)]
            return {"allOf": [rest, selector] + chosen}

        variants = [
            variant({"type": [t for t in JSON_TYPES if t not in ("object", "integer")]},
                    [not objects_only for _, _, objects_only, _, _ in tests]),
            variant({"type": "object", "$forbidden": [name]}, [not required for _, required, _, _, _ in tests]),
        ]
        for v in candidates:
            key = _value_key(v)
            variants.append(variant({"type": "object", "required": [name], "properties": {name: {"const": v}}},
                                    [any(_value_key(w) == key for w in passing) for passing, *_ in tests]))
        other = {"not": {"enum": candidates}} if candidates else {}
        variants.append(variant({"type": "object", "required": [name], "properties": {name: other}}, [False] * len(tests)))
        return variants

    def _dependencies(self, schema: dict, base: str, ptr: str) -> Node:
        """``dependencies`` / ``dependentRequired`` / ``dependentSchemas`` as a union of variants.

        For each trigger property, one variant where it is absent (forbidden) and one where it is
        present (required, with its dependent properties required or its dependent schema merged
        in). The union of the variants is exactly the schema; up to 4 triggers (16 variants).
        """
        rest = {k: v for k, v in schema.items() if k not in ("dependencies", "dependentRequired", "dependentSchemas")}
        triggers: dict[str, list[Any]] = {}
        for key in ("dependencies", "dependentRequired", "dependentSchemas"):
            deps = schema.get(key, {})
            if not isinstance(deps, dict):
                raise MalformedSchemaError(f"{key} must be an object at {ptr or '/'}")
            for name, dep in deps.items():
                triggers.setdefault(name, []).append(dep)
        if len(triggers) > 4:
            self.unsupported("dependencies", ptr, f"{len(triggers)} trigger properties (at most 4 are expanded)")
            return self.value(rest, base, ptr)
        variants: list[dict] = [rest]
        for name, deps in triggers.items():
            expanded = []
            for variant in variants:
                absent = dict(variant, **{"$forbidden": list(variant.get("$forbidden", [])) + [name]})
                present = dict(variant, required=list(dict.fromkeys(list(variant.get("required", [])) + [name])))
                for dep in deps:
                    if isinstance(dep, list):
                        present["required"] = list(dict.fromkeys(present["required"] + dep))
                    else:
                        present = self._merge(present, self._as_dict(dep, _ptr(ptr, "dependencies", name), base, 0), ptr)
                expanded.extend([absent, present])
            variants = expanded
        return self._alternatives({"anyOf": variants}, "anyOf", base, ptr)
