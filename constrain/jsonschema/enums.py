"""``enum``, ``const`` and finite value sets in the JSON Schema compiler.

A schema that pins its value to a finite set (enum, const, booleans, null, through
allOf/anyOf/oneOf/$ref) is compiled to the literals of the values that satisfy all of it;
values are checked against schemas exactly (membership and type, else the ``jsonschema``
validator, our internal keywords written back as standard ones). Holds the mixin
:class:`EnumKeywords` and the helpers only it uses.

Imports go down only: this module may import :mod:`.keywords`, :mod:`.refs`, the automata modules
(:mod:`.strings`, :mod:`.numeric`, :mod:`.formats`, ``constrain.regex``), ``constrain.grammar`` and
``constrain.errors``; never :mod:`.compiler` nor another keyword family module (the methods of the
other families are reached through ``self``).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from ..errors import InvalidSchemaError, MalformedSchemaError, UnsupportedSchemaError
from ..regex.parser import Alt, Node
from .keywords import ANNOTATIONS, INTERNAL_LISTS, _json_equal, _ptr, _type_of_value, _types_of, _value_key
from .refs import DATA_KEYWORDS
from .strings import value_literal


class EnumKeywords:
    """Methods of :class:`~constrain.jsonschema.compiler.SchemaCompiler` for finite value sets.

    Calls through ``self``: ``_resolve``, ``unsupported`` (compiler). Compiler state it uses:
    ``_finite``, ``_validator``, ``resolver``, ``root``.
    """

    def _valid_values(self, schema: Any, base: str, ptr: str) -> list[Any] | None:
        """The values of a finite schema (see :meth:`_finite_values`) that satisfy all of it."""
        candidates = self._finite_values(schema, base, ptr)
        if candidates is None:
            return None
        resolved, rbase = self._resolve(schema, base, ptr)
        if not isinstance(resolved, dict):
            return candidates
        if not (set(resolved) - ANNOTATIONS - {"enum", "const", "type"}):
            return [v for v in candidates if _has_type(v, resolved)]  # candidates are its members already
        rbase = self.resolver.base_of(resolved, rbase)
        return [v for v in candidates if self._is_valid(v, resolved, rbase, ptr)]

    def _finite_values(self, schema: Any, base: str, ptr: str, depth: int = 0) -> list[Any] | None:
        """Candidate values when ``schema`` pins its value to a finite set, else None.

        The set comes from ``enum``, ``const`` and boolean/null-only ``type``, intersected through
        ``allOf`` and ``$ref`` and united over ``anyOf``/``oneOf`` whose branches are all finite. It
        is a superset of the valid values: :meth:`_enumerated` checks each against the schema.
        """
        if depth > 32:
            return None
        schema, base = self._resolve(schema, base, ptr)
        if schema is False:
            return []
        if not isinstance(schema, dict):
            return None
        base = self.resolver.base_of(schema, base)
        if not self.resolver.in_document(schema):
            return self._finite_values_of(schema, base, ptr, depth)
        # value() asks this at every schema it visits: document nodes are answered once.
        key = (id(schema), base)
        if key not in self._finite:
            self._finite[key] = self._finite_values_of(schema, base, ptr, depth)
        return self._finite[key]

    def _finite_values_of(self, schema: dict, base: str, ptr: str, depth: int) -> list[Any] | None:
        sets: list[list[Any]] = []
        if "const" in schema:
            sets.append([schema["const"]])
        if "enum" in schema:
            if not isinstance(schema["enum"], list):
                raise MalformedSchemaError(f"enum must be an array at {ptr or '/'}")
            sets.append(schema["enum"])
        if "type" in schema and set(_types_of(schema)) <= {"boolean", "null"}:
            sets.append([v for t in _types_of(schema) for v in ((True, False) if t == "boolean" else (None,))])
        parts: list[tuple[Any, str, str]] = []
        if "$ref" in schema:
            target, tbase = self.resolver.resolve(schema["$ref"], base, ptr)
            parts.append((target, tbase, _ptr(ptr, "$ref")))
        if isinstance(schema.get("allOf"), list):
            parts.extend((sub, base, _ptr(ptr, "allOf", i)) for i, sub in enumerate(schema["allOf"]))
        for sub, sbase, sptr in parts:
            found = self._finite_values(sub, sbase, sptr, depth + 1)
            if found is not None:
                sets.append(found)
        for key in ("anyOf", "oneOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                found_all = [self._finite_values(b, base, _ptr(ptr, key, i), depth + 1) for i, b in enumerate(branches)]
                if all(f is not None for f in found_all):
                    sets.append([v for f in found_all for v in f])  # type: ignore[union-attr]
        if not sets:
            return None
        sets.sort(key=len)
        others = [{_value_key(w) for w in other} for other in sets[1:]]
        values: list[Any] = []
        seen: set[Any] = set()
        for v in sets[0]:
            k = _value_key(v)
            if k not in seen and all(k in other for other in others):
                seen.add(k)
                values.append(v)
        return values

    def _enumerated(self, valid: list[Any], ptr: str) -> Node:
        """The literals of the ``valid`` values (see :meth:`_valid_values`)."""
        if not valid:
            raise InvalidSchemaError(f"no value of the enum/const at {ptr or '/'} satisfies the rest of its schema")
        options = tuple(value_literal(v) for v in valid)
        return options[0] if len(options) == 1 else Alt(options)

    def _is_valid(self, value: Any, schema: dict, base: str, ptr: str) -> bool:
        """Whether ``value`` satisfies ``schema`` (exact, via jsonschema, our own keywords included)."""
        if not (set(schema) - ANNOTATIONS - {"enum", "const", "type"}):
            # No need for a validator (nor to import one): membership and type decide.
            if "const" in schema and not _json_equal(value, schema["const"]):
                return False
            if isinstance(schema.get("enum"), list) and not any(_json_equal(value, w) for w in schema["enum"]):
                return False
            return _has_type(value, schema)
        try:
            import jsonschema
        except ImportError:  # pragma: no cover - jsonschema is a dependency
            self.unsupported("enum", ptr, "jsonschema is needed to check enum values against sibling keywords")
            return True
        if self._validator is None:
            root = self.root if isinstance(self.root, dict) else {}
            cls = jsonschema.validators.validator_for(root, default=jsonschema.Draft202012Validator)
            self._validator = cls(root, format_checker=cls.FORMAT_CHECKER)
        standard = _standard(schema)
        if base != self.resolver.base_of(self.root, "") and "$ref" in json.dumps(standard):
            # jsonschema would resolve these against the root, not the nested $id's base.
            self.unsupported("enum", ptr, "enum values checked against $refs under a nested $id")
            return True
        # jsonschema recurses through C (generators), where compile's raised recursion limit
        # would let a schema that never stops expanding (d0: {oneOf: [..., {$ref: d0}]}) run the
        # C stack out (a segfault: fuzz_json seed 616 case 2400). It gets the usual headroom.
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(min(limit, _stack_depth() + _VALIDATOR_FRAMES))
        try:
            return bool(self._validator.evolve(schema=standard).is_valid(value))
        except Exception as exc:  # noqa: BLE001 - any failure here means we cannot be sure
            raise UnsupportedSchemaError(
                f"cannot check enum values against their schema at {ptr or '/'}: {exc}", "enum", ptr or "/"
            ) from None
        finally:
            sys.setrecursionlimit(limit)


def _standard(schema: Any) -> Any:
    """``schema`` with our internal keywords (``$patterns``, ``$forbidden``, ...) written back as
    standard JSON Schema, so that jsonschema checks them too (it ignores unknown keywords)."""
    if isinstance(schema, list):
        return [_standard(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: (v if k in DATA_KEYWORDS else _standard(v)) for k, v in schema.items() if k not in INTERNAL_LISTS}
    extra: list[dict] = [{"pattern": p} for p in schema.get("$patterns", [])]
    if schema.get("$forbidden"):
        extra.append({"not": {"anyOf": [{"required": [n]} for n in schema["$forbidden"]]}})
    if schema.get("$not_values"):
        extra.append({"not": {"enum": list(schema["$not_values"])}})
    extra += [{"not": {"required": list(g)}} for g in schema.get("$not_all", [])]
    extra += [{"not": _standard(neg)} for neg in schema.get("$not_object", [])]
    # "$not_strings": [N] is "a string does not satisfy N" (likewise for numbers).
    extra += [{"not": {"allOf": [_standard(neg), {"type": "string"}]}} for neg in schema.get("$not_strings", [])]
    extra += [{"not": {"allOf": [_standard(neg), {"type": "number"}]}} for neg in schema.get("$not_numbers", [])]
    extra += [_standard(triple) for triple in schema.get("$conditionals", [])]
    if extra:
        out["allOf"] = list(out.get("allOf", [])) + extra
    return out


def _has_type(value: Any, schema: dict) -> bool:
    """Whether ``value`` is of a type ``schema`` allows (1.0 is an integer, integers are numbers)."""
    types = _types_of(schema)
    kind = _type_of_value(value)
    return kind in types or (kind == "integer" and "number" in types)


#: Recursion headroom for the jsonschema validator (Python's default limit is 1,000).
_VALIDATOR_FRAMES = 1000


def _stack_depth() -> int:
    """How many Python frames are on the stack (the caller's included)."""
    depth = 0
    frame = sys._getframe(1)
    while frame is not None:
        depth += 1
        frame = frame.f_back
    return depth
