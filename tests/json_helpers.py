"""Helpers for the JSON tests: random walks, key ordering like the schema, validation."""

from __future__ import annotations

import json
import random
from typing import Any

import jsonschema

import constrain
from constrain.jsonschema.refs import RefResolver


def validator_for(schema: Any) -> Any:
    root = schema if isinstance(schema, dict) else {}
    cls = jsonschema.validators.validator_for(root, default=jsonschema.Draft202012Validator)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def random_walk(compiled: constrain.CompiledConstraint, rng: random.Random, max_tokens: int = 1024) -> bytes | None:
    """Choose uniformly among allowed tokens; the output bytes if EOS was reached, else None."""
    m = compiled.matcher()
    out: list[int] = []
    for _ in range(max_tokens):
        allowed = m.allowed_token_ids()
        assert allowed.size, f"dead end after {compiled.vocab.decode_bytes(out)!r}"
        token = int(allowed[rng.randrange(allowed.size)])
        assert m.accept_token(token)
        if m.is_terminated():
            return compiled.vocab.decode_bytes(out)
        out.append(token)
    return None


def accepts_text(compiled: constrain.CompiledConstraint, text: str) -> bool:
    """Whether the whole text is a complete output (accepted, then EOS allowed)."""
    m = compiled.matcher()
    return m.accept_string(text) and m.can_terminate()


def order_like_schema(instance: Any, schema: Any, root: Any | None = None, resolver: RefResolver | None = None) -> Any:
    """``instance`` with object keys in the schema's property order (declared first, others after)."""
    root = schema if root is None else root
    resolver = resolver or RefResolver(root)
    schema = _deref(schema, resolver)
    if isinstance(instance, dict):
        names: list[str] = []
        for sub in _branches(schema, resolver, instance):
            props = sub.get("properties", {}) if isinstance(sub, dict) else {}
            names.extend(n for n in props if n not in names)
        out = {}
        for name in names:
            if name in instance:
                out[name] = order_like_schema(instance[name], _prop_schema(schema, name, resolver, instance), root, resolver)
        for name, value in instance.items():
            if name not in out:
                out[name] = order_like_schema(value, _extra_schema(schema, resolver, instance), root, resolver)
        return out
    if isinstance(instance, list):
        return [order_like_schema(v, _item_schema(schema, i, resolver, instance), root, resolver) for i, v in enumerate(instance)]
    return instance


def _deref(schema: Any, resolver: RefResolver) -> Any:
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 50:
        target, _ = resolver.resolve(schema["$ref"], resolver.base_of(schema, ""), "")
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {"allOf": [target, rest]} if rest else target
        seen += 1
    return schema


def _branches(schema: Any, resolver: RefResolver, instance: Any) -> list[Any]:
    """The schema and the subschemas (allOf, and the anyOf/oneOf branches the instance fits) it combines."""
    schema = _deref(schema, resolver)
    if not isinstance(schema, dict):
        return []
    out = [schema]
    for sub in schema.get("allOf", []):
        out.extend(_branches(sub, resolver, instance))
    for key in ("anyOf", "oneOf"):
        for sub in schema.get(key, []):
            try:
                ok = validator_for(resolver.root).evolve(schema=sub).is_valid(instance)
            except Exception:  # noqa: BLE001
                ok = False
            if ok:
                out.extend(_branches(sub, resolver, instance))
                break
    return out


def _prop_schema(schema: Any, name: str, resolver: RefResolver, instance: Any) -> Any:
    for sub in _branches(schema, resolver, instance):
        if name in sub.get("properties", {}):
            return sub["properties"][name]
    return _extra_schema(schema, resolver, instance)


def _extra_schema(schema: Any, resolver: RefResolver, instance: Any) -> Any:
    for sub in _branches(schema, resolver, instance):
        if isinstance(sub.get("additionalProperties"), dict):
            return sub["additionalProperties"]
    return True


def _item_schema(schema: Any, i: int, resolver: RefResolver, instance: Any) -> Any:
    for sub in _branches(schema, resolver, instance):
        prefix = sub.get("prefixItems")
        items = sub.get("items")
        if isinstance(items, list):
            prefix, items = items, sub.get("additionalItems")
        if prefix and i < len(prefix):
            return prefix[i]
        if isinstance(items, dict):
            return items
    return True


def serializations(value: Any) -> list[str]:
    """The JSON texts the matcher must accept for a valid value."""
    return [json.dumps(value), json.dumps(value, separators=(",", ":")), json.dumps(value, indent=2)]
