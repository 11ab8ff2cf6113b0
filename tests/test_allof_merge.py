"""allOf merging keeps each keyword's reach: differential tests against jsonschema.

Keywords that read one another inside one schema object (``items`` after that object's own
``prefixItems``; ``additionalProperties`` beside that object's ``properties`` and
``patternProperties``) must keep their meaning when allOf branches are folded into their parent.
Also: a property whose schema is ``false`` never appears, and counts written as integral floats
(``2.0``) are counts.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import constrain
from json_helpers import accepts_text, validator_for


def _compile(vocab, schema, **kw):
    return constrain.compile({"type": "json_schema", "json_schema": {"schema": schema}}, vocab, cache=False, **kw)


@pytest.mark.parametrize(
    "schema, bad, good",
    [
        # a property whose schema is false must not come back as an additional property
        ({"properties": {"foo": True, "bar": False}}, [{"bar": 2}, {"foo": 1, "bar": 2}], [{"foo": 1}, {"baz": 1}]),
        # items applies to every element: the prefixItems beside which it would start later is in another object
        ({"allOf": [{"prefixItems": [{"type": "integer"}]}], "items": {"type": "string"}}, [[1], ["a"]], [[]]),
        ({"allOf": [{"items": {"type": "string"}}], "prefixItems": [{"type": "integer"}]}, [[1], ["a"]], [[]]),
        ({"$schema": "http://json-schema.org/draft-07/schema#",
          "allOf": [{"items": [{"type": "integer"}], "additionalItems": False}], "items": {"type": "number"}},
         [[1, 2], [1.5]], [[1], []]),
        # a name matching one branch's pattern is additional for the other branch
        ({"allOf": [{"patternProperties": {"^f": {}}}], "additionalProperties": False}, [{"foo": 1}], [{}]),
        ({"allOf": [{"patternProperties": {"^f": {}}}], "additionalProperties": {"type": "string"}},
         [{"foo": 1}], [{"foo": "x"}, {"bar": "y"}]),
    ],
)
def test_merge_keeps_keyword_reach(tekken_vocab, schema, bad, good):
    compiled = _compile(tekken_vocab, schema)
    check = validator_for(schema)
    for instance in bad:
        assert not check.is_valid(instance)
        assert not accepts_text(compiled, json.dumps(instance)), instance
    for instance in good:
        assert check.is_valid(instance)
        assert accepts_text(compiled, json.dumps(instance)), instance


@pytest.mark.parametrize(
    "schema, good, bad",
    [
        ({"maxProperties": 2.0}, {"a": 1, "b": 2}, {"a": 1, "b": 2, "c": 3}),
        ({"minProperties": 1.0}, {"a": 1}, {}),
        ({"minLength": 2.0}, "ab", "a"),
        ({"maxLength": 2.0}, "ab", "abc"),
        ({"minItems": 1.0}, [1], []),
        ({"maxItems": 1.0}, [1], [1, 2]),
        ({"properties": {"a": {"maxItems": 1.0}}}, {"a": [1]}, {"a": [1, 2]}),
    ],
)
def test_integral_float_counts_are_counts(tekken_vocab, schema, good, bad):
    compiled = _compile(tekken_vocab, schema)
    assert accepts_text(compiled, json.dumps(good))
    assert not accepts_text(compiled, json.dumps(bad))


@pytest.mark.parametrize(
    "schema, pointer",
    [
        ({"maxProperties": 2.5}, "/maxProperties"),
        ({"minLength": -1}, "/minLength"),
        ({"items": {"maxItems": "3"}}, "/items/maxItems"),
        ({"properties": {"a": {"minContains": True}}}, "/properties/a/minContains"),
    ],
)
def test_bad_counts_are_malformed_and_named(tekken_vocab, schema, pointer):
    with pytest.raises(constrain.MalformedSchemaError, match=pointer):
        _compile(tekken_vocab, schema)


def test_count_keyword_names_are_free_as_property_names(tekken_vocab):
    schema = {"properties": {"maxLength": {"type": "integer"}}, "x-vendor": {"minItems": 0.5}}
    compiled = _compile(tekken_vocab, schema)
    assert accepts_text(compiled, '{"maxLength": 3}')


# -- differential: random splits of object/array keywords between a parent and its allOf ---------

_item_schema = st.sampled_from([True, False, {"type": "integer"}, {"type": "string"}, {"minimum": 2}])
_array_part = st.one_of(
    st.fixed_dictionaries({}, optional={"prefixItems": st.lists(_item_schema, max_size=2), "items": _item_schema}),
    st.fixed_dictionaries(
        {"items": st.lists(_item_schema, min_size=1, max_size=2)}, optional={"additionalItems": _item_schema}
    ),
)
_names = st.sampled_from(["a", "b", "fa", "fb"])
_object_part = st.fixed_dictionaries(
    {},
    optional={
        "properties": st.dictionaries(_names, _item_schema, max_size=2),
        "patternProperties": st.dictionaries(st.sampled_from(["^f", "b$"]), _item_schema, max_size=1),
        "additionalProperties": _item_schema,
    },
)
_scalar = st.one_of(st.integers(0, 3), st.sampled_from(["x", "fy"]))
#: Instances every generated schema is tried on, beside random ones: each scalar kind at each
#: of the first positions, and each name with each kind of value.
_FIXED_INSTANCES = [[], [0], [2], ["x"], [0, 2], [2, "x"], ["x", 0], [2, 2, 2], [0, "x", 2]] + [
    {}, *({name: value} for name in ("a", "b", "fa", "fb") for value in (0, 2, "x")), {"a": 2, "fb": 2},
]


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    parts=st.one_of(st.lists(_array_part, min_size=2, max_size=3), st.lists(_object_part, min_size=2, max_size=3)),
    arrays=st.lists(st.lists(_scalar, max_size=3), max_size=3),
    objects=st.lists(st.dictionaries(_names, _scalar, max_size=3), max_size=3),
)
def test_allof_merge_is_sound(tekken_vocab, parts, arrays, objects):
    """Whatever the matcher accepts, jsonschema (the draft 2020-12 validator, or draft 7 for the
    tuple form) accepts too; refusals are fine."""
    schema = {"allOf": parts[1:], **parts[0]}
    tuple_form = any(isinstance(p.get("items"), list) for p in parts)
    if tuple_form:
        schema["$schema"] = "http://json-schema.org/draft-07/schema#"
        # draft 7 has no prefixItems: drop it so that both sides read the same schema
        schema = json.loads(json.dumps(schema).replace('"prefixItems"', '"x-prefix"'))
    try:
        compiled = _compile(tekken_vocab, schema)
    except (constrain.UnsupportedSchemaError, constrain.InvalidSchemaError):
        return
    check = validator_for(schema)
    for instance in _FIXED_INSTANCES + arrays + objects:
        if accepts_text(compiled, json.dumps(instance)):
            assert check.is_valid(instance), (schema, instance)
