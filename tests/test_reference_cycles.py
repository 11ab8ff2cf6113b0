"""A dropped constraint is freed at once, by reference counting, not left to the cyclic collector.

Reference cycles in a compiled automaton (a rule and its lazily filled tables pointing at each
other, recursive closures holding the schema compiler) made every dropped constraint cyclic
garbage: tens of thousands of objects per schema that only a full collection frees, and that
make every full collection longer (40-140 ms pauses in a token loop, measured on tekken). These
tests compile schemas that exercise each kind of rule, walk them, drop them, and require that
the collector finds nothing of constrain's to free.
"""

from __future__ import annotations

import gc
import random

import pytest

import constrain
from json_helpers import random_walk

SCHEMAS = {
    "arrays and nested objects": {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 4},
            "pair": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "boolean"}], "items": False},
            "child": {"type": "object", "properties": {"n": {"type": "number", "minimum": 0}}},
        },
        "required": ["tags"],
    },
    "counted strings and checked numbers": {
        "type": "object",
        "properties": {
            "code": {"type": "string", "minLength": 2, "maxLength": 40},
            "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1.5},
            "count": {"type": "integer", "multipleOf": 3},
        },
        "additionalProperties": {"type": "string", "pattern": "^[a-z]+$"},
    },
    "recursion with an unproductive branch": {
        "$defs": {
            "node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}}},
            "loop": {"type": "object", "properties": {"self": {"$ref": "#/$defs/loop"}}, "required": ["self"]},
        },
        "anyOf": [{"$ref": "#/$defs/node"}, {"type": "object", "properties": {"x": {"$ref": "#/$defs/loop"}}}],
    },
}


def _constrain_garbage() -> list[str]:
    """Collect, and name the unreachable objects that belong to constrain."""
    flags = gc.get_debug()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        ours = []
        for obj in gc.garbage:
            module = getattr(type(obj), "__module__", "") or ""
            if type(obj).__name__ == "function":
                module = getattr(obj, "__module__", "") or ""
            if module.startswith("constrain"):
                ours.append(f"{module}.{getattr(obj, '__qualname__', type(obj).__qualname__)}")
        return ours
    finally:
        gc.set_debug(flags)
        gc.garbage.clear()


@pytest.mark.parametrize("property_order", ["schema", "any"])
@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_a_dropped_constraint_leaves_no_cyclic_garbage(smollm2_vocab, name, property_order):
    schema = SCHEMAS[name]
    _constrain_garbage()  # whatever earlier tests left
    was_enabled = gc.isenabled()
    gc.disable()  # so that no automatic collection frees a cycle before the check sees it
    try:
        compiled = constrain.compile({"type": "json_schema", "json_schema": {"schema": schema}}, smollm2_vocab,
                                     cache=False, property_order=property_order)
        rng = random.Random(name)
        for _ in range(3):
            random_walk(compiled, rng, max_tokens=60)
        del compiled
        assert _constrain_garbage() == []
    finally:
        if was_enabled:
            gc.enable()


OTHER_CONSTRAINTS = {
    "regex": lambda vocab: constrain.compile({"type": "regex", "schema": r"(\d{3})-[a-z]+( [A-Z]\w*)?"}, vocab,
                                             cache=False),
    "json_object": lambda vocab: constrain.compile({"type": "json_object"}, vocab, cache=False),
    "tool calls with reasoning": lambda vocab: constrain.build_output_constraint(
        vocab, None, tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {
            "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
        tool_choice="auto", parse_reasoning=True, cache=False),
}


@pytest.mark.parametrize("name", sorted(OTHER_CONSTRAINTS))
def test_other_constraints_and_matcher_copies_leave_no_cyclic_garbage(smollm2_vocab, name):
    _constrain_garbage()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        compiled = OTHER_CONSTRAINTS[name](smollm2_vocab)
        rng = random.Random(name)
        for _ in range(3):
            random_walk(compiled, rng, max_tokens=60)
        matcher = compiled.matcher()
        twin = matcher.copy()
        twin.fill_next_token_bitmask(constrain.allocate_token_bitmask(1, smollm2_vocab.size))
        del compiled, matcher, twin
        assert _constrain_garbage() == []
    finally:
        if was_enabled:
            gc.enable()


def test_the_check_sees_a_cycle():
    # The check itself can fail: a constraint put in a cycle on purpose is reported.
    vocab = constrain.Vocabulary.from_token_bytes([b"a", b"b", b"ab", None], eos_token_ids=[3])
    compiled = constrain.compile({"type": "regex", "schema": "ab+"}, vocab, cache=False)
    compiled.self_reference = compiled  # type: ignore[attr-defined]
    del compiled
    assert any(name.startswith("constrain.compiler.") for name in _constrain_garbage())
