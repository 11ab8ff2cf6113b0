"""json_object and json_schema: soundness (walks validate), completeness (valid instances accepted)."""

from __future__ import annotations

import copy
import json
import random
import re
import warnings

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import constrain
from constrain.jsonschema.compiler import UnsupportedSchemaWarning
from json_helpers import accepts_text, order_like_schema, random_walk, serializations, validator_for

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 40},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "email": {"type": "string", "format": "email"},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 10}, "maxItems": 4},
        "married": {"type": "boolean"},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}
INVOICE = {
    "$defs": {
        "line": {
            "type": "object",
            "properties": {
                "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"},
                "quantity": {"type": "integer", "minimum": 1, "maximum": 999},
                "unit_price": {"type": "number", "minimum": 0, "exclusiveMaximum": 10000},
            },
            "required": ["sku", "quantity", "unit_price"],
            "additionalProperties": False,
        }
    },
    "type": "object",
    "properties": {
        "invoice_id": {"type": "string", "format": "uuid"},
        "issued": {"type": "string", "format": "date"},
        "currency": {"enum": ["EUR", "USD", "KRW"]},
        "lines": {"type": "array", "items": {"$ref": "#/$defs/line"}, "minItems": 1, "maxItems": 5},
        "note": {"type": ["string", "null"], "maxLength": 30},
    },
    "required": ["invoice_id", "issued", "currency", "lines"],
    "additionalProperties": False,
}
TREE = {
    "$id": "https://example.com/tree.json",
    "$defs": {
        "node": {
            "$anchor": "node",
            "type": "object",
            "properties": {
                "value": {"type": "integer", "minimum": -17, "maximum": 2048},
                "children": {"type": "array", "items": {"$ref": "#node"}, "maxItems": 3},
            },
            "required": ["value"],
            "additionalProperties": False,
        }
    },
    "$ref": "#/$defs/node",
}
LINKED_LIST = {
    "definitions": {
        "item": {
            "type": "object",
            "properties": {"head": {"type": "string", "maxLength": 5}, "tail": {"anyOf": [{"$ref": "#/definitions/item"}, {"type": "null"}]}},
            "required": ["head", "tail"],
            "additionalProperties": False,
        }
    },
    "$ref": "#/definitions/item",
}
MIXED = {
    "type": "object",
    "properties": {
        "kind": {"const": "event"},
        "when": {"type": "string", "format": "date-time"},
        "where": {"oneOf": [{"type": "string", "maxLength": 12}, {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}], "items": False, "minItems": 2}]},
        "score": {"type": "number", "minimum": -2.5, "maximum": 7.25},
        "level": {"type": "integer", "multipleOf": 5, "minimum": 0, "maximum": 100},
        "meta": {"type": "object", "additionalProperties": {"type": "integer"}, "maxProperties": 100},
    },
    "required": ["kind", "when"],
    "additionalProperties": {"type": "boolean"},
}
DRAFT7_TUPLE = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "array",
    "items": [{"type": "string", "enum": ["x", "y"]}, {"type": "integer", "exclusiveMinimum": 0}],
    "additionalItems": {"type": "boolean"},
    "maxItems": 4,
}
DRAFT4_BOUNDS = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "properties": {"p": {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 1, "exclusiveMaximum": True}},
    "required": ["p"],
}
ALLOF = {
    "allOf": [
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
        {"properties": {"b": {"type": "integer", "minimum": 3}}, "required": ["b"]},
    ],
    # additionalProperties sees only the properties declared beside it, hence a and b here.
    "properties": {"a": True, "b": True},
    "additionalProperties": False,
}

SCHEMAS = {
    "person": PERSON,
    "invoice": INVOICE,
    "tree": TREE,
    "linked_list": LINKED_LIST,
    "mixed": MIXED,
    "draft7_tuple": DRAFT7_TUPLE,
    "draft4_bounds": DRAFT4_BOUNDS,
    "allof": ALLOF,
    "true": True,
    "string_escapes": {"type": "string", "minLength": 2, "maxLength": 4},
}

VALID_INSTANCES = {
    "person": [{"name": "Ann", "age": 31}, {"name": "Bo", "age": 0, "email": "bo@example.com", "tags": ["a", "bc"], "married": False}],
    "invoice": [
        {
            "invoice_id": "123e4567-e89b-12d3-a456-426614174000",
            "issued": "2024-02-29",
            "currency": "EUR",
            "lines": [{"sku": "ABC-0001", "quantity": 3, "unit_price": 9.99}, {"sku": "XYZ-9999", "quantity": 999, "unit_price": 0}],
            "note": None,
        }
    ],
    "tree": [{"value": 5, "children": [{"value": -17}, {"value": 2048, "children": [{"value": 0, "children": []}]}]}],
    "linked_list": [{"head": "a", "tail": {"head": "bb", "tail": {"head": "ccc", "tail": None}}}],
    "mixed": [
        {"kind": "event", "when": "2023-12-31T23:59:59.123+05:30", "where": [1.5, -2], "score": 7.25, "level": 35, "meta": {"x": 1}, "extra": True},
        {"kind": "event", "when": "2024-01-01T00:00:00Z", "where": "Seoul", "score": -2.5},
    ],
    "draft7_tuple": [["x", 1], ["y", 7, True, False]],
    "draft4_bounds": [{"p": 0.5}, {"p": 0.001}],
    "allof": [{"a": "x", "b": 3}],
    "true": [{"a": [1, {"b": None}]}, [], "s", 1.5, None],
    "string_escapes": ["ab", 'a"\\b', "\u00e9\u00e9", "\n\t", "\U0001f600x"],
}

INVALID_INSTANCES = {
    "person": [{"name": "", "age": 3}, {"name": "A", "age": 151}, {"name": "A", "age": -1}, {"name": "A"}, {"name": "A", "age": 3, "x": 1}, {"name": "A", "age": 1.5}],
    "invoice": [
        {"invoice_id": "123e4567-e89b-12d3-a456-426614174000", "issued": "2023-02-29", "currency": "EUR", "lines": [{"sku": "ABC-0001", "quantity": 3, "unit_price": 9.99}]},
        {"invoice_id": "123e4567-e89b-12d3-a456-426614174000", "issued": "2024-02-28", "currency": "GBP", "lines": [{"sku": "ABC-0001", "quantity": 3, "unit_price": 9.99}]},
        {"invoice_id": "123e4567-e89b-12d3-a456-426614174000", "issued": "2024-02-28", "currency": "EUR", "lines": []},
        {"invoice_id": "123e4567-e89b-12d3-a456-426614174000", "issued": "2024-02-28", "currency": "EUR", "lines": [{"sku": "abc-0001", "quantity": 3, "unit_price": 9.99}]},
        {"invoice_id": "123e4567-e89b-12d3-a456-426614174000", "issued": "2024-02-28", "currency": "EUR", "lines": [{"sku": "ABC-0001", "quantity": 3, "unit_price": 10000}]},
    ],
    "tree": [{"value": 2049}, {"value": -18}, {"value": 1, "children": [{"value": 1, "children": [1]}]}],
    "linked_list": [{"head": "a"}, {"head": "abcdef", "tail": None}],
    "mixed": [{"kind": "evt", "when": "2024-01-01T00:00:00Z"}, {"kind": "event", "when": "2024-01-01T00:00:00Z", "level": 7}, {"kind": "event", "when": "2024-01-01T00:00:00Z", "score": 7.26}, {"kind": "event", "when": "2024-01-01T00:00:00Z", "extra": 1}],
    "draft7_tuple": [["x", 0], ["z", 1], ["x", 1, 1]],
    "draft4_bounds": [{"p": 0}, {"p": 1}],
    "allof": [{"a": "x", "b": 2}, {"a": "x"}, {"a": "x", "b": 3, "c": 1}],
    "string_escapes": ["a", "abcde"],
}


@pytest.fixture(scope="module")
def compiled_schemas(smollm2_vocab):
    return {
        name: constrain.compile({"type": "json_schema", "json_schema": {"name": name, "schema": schema}}, smollm2_vocab)
        for name, schema in SCHEMAS.items()
    }


@pytest.mark.parametrize("name", sorted(VALID_INSTANCES))
def test_valid_instances_are_accepted_in_every_serialization(compiled_schemas, name):
    validator = validator_for(SCHEMAS[name])
    for instance in VALID_INSTANCES[name]:
        assert validator.is_valid(instance), instance
        for text in serializations(instance):
            assert accepts_text(compiled_schemas[name], text), text


@pytest.mark.parametrize("name", sorted(INVALID_INSTANCES))
def test_invalid_instances_are_rejected(compiled_schemas, name):
    validator = validator_for(SCHEMAS[name])
    for instance in INVALID_INSTANCES[name]:
        assert not validator.is_valid(instance), instance
        for text in serializations(instance):
            assert not accepts_text(compiled_schemas[name], text), text


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_random_walks_validate(compiled_schemas, name):
    validator = validator_for(SCHEMAS[name])
    rng = random.Random(name)
    ended = 0
    for _ in range(6):
        out = random_walk(compiled_schemas[name], rng, max_tokens=400)
        if out is None:
            continue
        ended += 1
        value = json.loads(out)
        errors = [e.message for e in validator.iter_errors(value)]
        assert not errors, (out, errors)


def test_valid_instances_token_by_token(compiled_schemas, smollm2_tokenizer):
    """Canonical tokenization of valid instances is accepted token by token, then EOS."""
    for name, instances in VALID_INSTANCES.items():
        c = compiled_schemas[name]
        for instance in instances:
            text = json.dumps(instance)
            m = c.matcher()
            for t in smollm2_tokenizer.encode(text, add_special_tokens=False):
                assert t in set(m.allowed_token_ids().tolist())
                assert m.accept_token(t)
            assert m.can_terminate(), text


# -- json_object ------------------------------------------------------------------------------
def test_json_object_walks_on_every_family(family):
    name, vocab, _ = family
    c = constrain.compile({"type": "json_object"}, vocab)
    rng = random.Random(7)
    ended = 0
    for _ in range(8):
        out = random_walk(c, rng, max_tokens=300)
        if out is not None:
            ended += 1
            assert isinstance(json.loads(out), dict), out
    assert ended >= 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=5))
def test_json_object_accepts_hypothesis_objects(smollm2_vocab, value):
    c = constrain.compile({"type": "json_object"}, smollm2_vocab)
    for text in serializations(value):
        assert accepts_text(c, text), text


def test_json_object_rejects_non_objects(smollm2_vocab):
    c = constrain.compile({"type": "json_object"}, smollm2_vocab)
    for text in ["[]", "1", '"x"', "{", '{"a":}', '{"a" 1}', "{'a': 1}", '{"a":1,}', "{} {}", '{"a":01}', '{"a":"\x01"}', '{"a":tru}']:
        assert not accepts_text(c, text), text


def test_json_object_nesting_depth(smollm2_vocab):
    c = constrain.compile({"type": "json_object"}, smollm2_vocab)
    value: object = 1
    for i in range(40):
        value = {"k": value} if i % 2 else {"l": [value]}
    assert accepts_text(c, json.dumps(value))


def test_whitespace_guard_bounds_blank_runs(smollm2_vocab):
    c = constrain.compile({"type": "json_object"}, smollm2_vocab, max_whitespace=8)
    assert accepts_text(c, "{" + " " * 8 + "}")
    assert not accepts_text(c, "{" + " " * 9 + "}")
    m = c.matcher()
    assert m.accept_string("{" + "\n" * 8)
    allowed = m.allowed_token_ids()
    assert not any(smollm2_vocab.token_bytes[t] and smollm2_vocab.token_bytes[t][:1] in b" \t\r\n" for t in allowed.tolist())
    compact = constrain.compile({"type": "json_object"}, smollm2_vocab, whitespace="compact")
    assert accepts_text(compact, '{"a":[1,2]}') and not accepts_text(compact, '{"a": 1}')


# -- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("schema", "error", "fragment"),
    [
        ({"$ref": "#/$defs/missing"}, constrain.InvalidSchemaError, "dangling $ref"),
        ({"$ref": "other.json#/x"}, constrain.InvalidSchemaError, "unresolvable $ref"),
        ({"type": "integer", "minimum": 5, "maximum": 1}, constrain.InvalidSchemaError, "above maximum"),
        ({"type": "array", "minItems": 3, "maxItems": 1}, constrain.InvalidSchemaError, "minItems 3 is above maxItems 1"),
        ({"type": "string", "minLength": 3, "maxLength": 1}, constrain.InvalidSchemaError, "minLength 3 is above maxLength 1"),
        ({"type": "string", "maxLength": -1}, constrain.InvalidSchemaError, "non-negative integer"),
        ({"allOf": [{"type": "string"}, {"type": "integer"}]}, constrain.InvalidSchemaError, "do not overlap"),
        ({"type": "strin"}, constrain.InvalidSchemaError, "unknown type 'strin'"),
        # Malformed parts are errors even where an unsatisfiable part would be dropped.
        ({"properties": {"a": {"$ref": "#/$defs/nope"}}}, constrain.MalformedSchemaError, "dangling $ref '#/$defs/nope' at /properties/a"),
        ({"anyOf": [{"type": "strin"}, {"type": "integer"}]}, constrain.MalformedSchemaError, "unknown type 'strin' at /anyOf/0"),
        ({"type": "object", "additionalProperties": {"minLength": "3"}}, constrain.MalformedSchemaError, "minLength must be"),
        ({"enum": [1, 2], "type": "string"}, constrain.InvalidSchemaError, "no value of the enum"),
        ({"type": "object", "required": ["a"], "additionalProperties": False}, constrain.InvalidSchemaError, "required property 'a'"),
        ({"type": "string", "pattern": "(a"}, constrain.InvalidSchemaError, "invalid pattern at /"),
        (False, constrain.InvalidSchemaError, "false"),
        ({"type": "array", "uniqueItems": True}, constrain.UnsupportedSchemaError, "'uniqueItems' at /"),
        ({"type": "string", "format": "iri"}, constrain.UnsupportedSchemaError, "'format' at /"),
        ({"type": "object", "required": ["a"], "minProperties": 3}, constrain.UnsupportedSchemaError, "'minProperties' at /"),
        ({"properties": {"a": {"if": {"format": "email"}, "then": {"maxLength": 3}}}}, constrain.UnsupportedSchemaError, "'if' at /properties/a"),
        ({"type": "object", "patternProperties": {"^x": {}, "y$": {}}}, constrain.UnsupportedSchemaError, "'patternProperties'"),
        ({"oneOf": [{"type": "object", "minProperties": 1}, {"type": "object", "required": ["a"]}]}, constrain.UnsupportedSchemaError, "'oneOf'"),
        ({"type": "string", "pattern": "(a)\\1"}, constrain.UnsupportedSchemaError, "'pattern'"),
        # jsonschema checks a fractional multipleOf in floats (0.3 / 0.1 is 2.9999999999999996):
        # negated, the exact set is needed and is not regular; 1e-05 fails even for integers.
        ({"type": "number", "not": {"multipleOf": 0.1}}, constrain.UnsupportedSchemaError, "'not'"),
        ({"type": "number", "multipleOf": 1e-05}, constrain.UnsupportedSchemaError, "'multipleOf'"),
        # Integers too, where some integer fails the float division (-280 / 0.07 is not whole):
        # they were taken as all integers, so the not left nothing (fuzz_json seed 615 case 510,
        # where, nested in a oneOf, the branch was dropped and the outer oneOf went unsound).
        ({"type": "integer", "not": {"type": "integer", "multipleOf": 0.07}}, constrain.UnsupportedSchemaError, "'not'"),
        ({"oneOf": [{"oneOf": [{"type": "integer", "multipleOf": 0.07}, {"type": "integer", "multipleOf": 0.1}]},
                    {"type": "number", "maximum": 90}]}, constrain.UnsupportedSchemaError, "'oneOf'"),
    ],
)
def test_schema_errors(smollm2_vocab, schema, error, fragment):
    with pytest.raises(error) as info:
        constrain.compile({"type": "json_schema", "json_schema": {"schema": schema}}, smollm2_vocab, cache=False)
    assert fragment in str(info.value)
    assert isinstance(info.value, constrain.ConstraintError)


def test_unsupported_keyword_names_pointer_and_lenient_mode(smollm2_vocab):
    schema = {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True}}}
    with pytest.raises(constrain.UnsupportedSchemaError) as info:
        constrain.compile({"type": "json_schema", "json_schema": {"schema": schema}}, smollm2_vocab, cache=False)
    assert info.value.keyword == "uniqueItems" and info.value.pointer == "/properties/tags"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c = constrain.compile({"type": "json_schema", "json_schema": {"schema": schema}}, smollm2_vocab, lenient=True, cache=False)
    assert any(issubclass(w.category, UnsupportedSchemaWarning) and "uniqueItems" in str(w.message) for w in caught)
    assert accepts_text(c, '{"tags": ["a", "b"]}')


@pytest.mark.parametrize(
    "response_format",
    [
        {"type": "json_schema"},
        {"type": "json_schema", "json_schema": "x"},
        {"type": "json_schema", "json_schema": {"schema": {}, "nme": "x"}},
        {"type": "json_object", "schema": {}},
    ],
)
def test_malformed_json_response_formats(smollm2_vocab, response_format):
    with pytest.raises(constrain.InvalidResponseFormatError):
        constrain.compile(response_format, smollm2_vocab)


def test_schema_forms_accepted(smollm2_vocab):
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    for body in ({"schema": schema, "name": "x", "strict": True}, schema):
        c = constrain.compile({"type": "json_schema", "json_schema": body}, smollm2_vocab)
        assert accepts_text(c, '{"a": 1}') and not accepts_text(c, '{"a": "1"}')


def _without_formats(schema):
    if isinstance(schema, dict):
        return {k: _without_formats(v) for k, v in schema.items() if k != "format"}
    if isinstance(schema, list):
        return [_without_formats(v) for v in schema]
    return schema


def test_hypothesis_jsonschema_instances_are_accepted(smollm2_vocab):
    """Instances from hypothesis-jsonschema are accepted. Formats are stripped here: their regexes
    accept documented subsets (test_formats.py), e.g. emails with at most a few domain labels."""
    hjs = pytest.importorskip("hypothesis_jsonschema")
    for name in ("person", "invoice", "mixed", "draft7_tuple", "allof"):
        schema = _without_formats(SCHEMAS[name])
        compiled = constrain.compile({"type": "json_schema", "json_schema": {"schema": schema}}, smollm2_vocab)
        strategy = hjs.from_schema(copy.deepcopy(schema))  # it canonicalises the schema in place
        rejected = []

        @settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        @given(strategy)
        def check(instance):  # called below, within this iteration of the loop
            ordered = order_like_schema(instance, schema)  # noqa: B023
            text = json.dumps(ordered)
            if not accepts_text(compiled, text):  # noqa: B023
                rejected.append(text)  # noqa: B023

        check()
        assert not rejected, (name, rejected[:3])


@pytest.mark.parametrize(
    ("schema", "good", "bad"),
    [
        ({"type": "string", "not": {"enum": ["a", "b"]}}, ['"c"', '"ab"', '""'], ['"a"', '"b"']),
        ({"type": ["string", "null"], "not": {"const": None}}, ['"x"'], ["null"]),
        ({"type": "boolean", "not": {"const": True}}, ["false"], ["true"]),
        ({"type": "string", "not": {"pattern": "^x"}}, ['"ax"', '""'], ['"x"', '"xyz"']),
        ({"not": {"not": {"type": "integer"}}}, ["1"], ['"1"', "1.5"]),
        ({"type": "integer", "not": False}, ["1"], ['"1"']),
        (
            {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "not": {"required": ["a"]}},
            ['{"b": 1}', "{}", '{"c": 2}'],
            ['{"a": 1}', '{"b": 1, "a": 2}', '{"b": 1, "c": 2, "a": 3}'],
        ),
        (
            {"type": "object", "not": {"required": ["x", "y"]}},
            ['{"x": 1}', '{"y": 1}', "{}"],
            ['{"x": 1, "y": 2}', '{"y": 1, "z": 0, "x": 2}'],
        ),
        (
            {"type": "object", "not": {"anyOf": [{"required": ["x"]}, {"required": ["y"]}]}},
            ['{"z": 1}', "{}"],
            ['{"x": 1}', '{"z": 0, "y": 1}'],
        ),
        (
            {"oneOf": [
                {"type": "object", "properties": {"kind": {"const": "a"}, "v": {"type": "integer"}}, "required": ["kind"]},
                {"type": "object", "properties": {"kind": {"const": "b"}, "v": {"type": "string"}}, "required": ["kind"]},
            ]},
            ['{"kind": "a", "v": 1}', '{"kind": "b", "v": "s"}'],
            ['{"kind": "a", "v": "s"}', '{"kind": "c"}'],
        ),
        (
            {"oneOf": [
                {"type": "object", "properties": {"x": {}}, "required": ["x"], "additionalProperties": False},
                {"type": "object", "properties": {"y": {}}, "required": ["y"], "additionalProperties": False},
            ]},
            ['{"x": 1}', '{"y": 2}'],
            ['{"x": 1, "y": 2}', "{}"],
        ),
    ],
)
def test_not_and_disjoint_one_of(smollm2_vocab, schema, good, bad):
    _check_good_bad(smollm2_vocab, schema, good, bad)


@pytest.mark.parametrize(
    ("schema", "good", "bad"),
    [
        (
            {"type": "object", "properties": {"id": {"type": "integer"}}, "patternProperties": {"^x-": {"type": "string"}}, "additionalProperties": False},
            ['{"id": 1, "x-a": "s"}', '{"x-": "", "x-b": "t"}', "{}"],
            ['{"x-a": 1}', '{"y": "s"}', '{"id": "1"}'],
        ),
        (
            {"type": "object", "patternProperties": {"^[0-9]+$": {"type": "boolean"}}, "additionalProperties": {"type": "null"}},
            ['{"12": true, "a": null}', '{"a1": null}'],
            ['{"12": null}', '{"a": true}'],
        ),
        (
            # A declared name that matches a pattern must satisfy both schemas.
            {"type": "object", "properties": {"n1": {"type": "integer"}}, "patternProperties": {"^n": {"minimum": 5}}},
            ['{"n1": 7}', '{"n1": 5, "n2": 6}'],
            ['{"n1": 4}', '{"n2": 1}'],
        ),
        (
            {"type": "object", "properties": {"Bad": {}, "ok": {}}, "propertyNames": {"pattern": "^[a-z]+$", "maxLength": 3}},
            ['{"ok": 1}', '{"abc": 2}', "{}"],
            ['{"Bad": 1}', '{"abcd": 1}', '{"a1": 1}'],
        ),
        ({"type": "object", "propertyNames": {"enum": ["a", "b"]}}, ['{"a": 1, "b": 2}'], ['{"c": 1}']),
        ({"type": "object", "propertyNames": False}, ["{}"], ['{"a": 1}']),
        (
            {"type": "object", "properties": {"card": {"type": "string"}, "billing": {"type": "string"}}, "dependentRequired": {"card": ["billing"]}},
            ['{"card": "x", "billing": "y"}', '{"billing": "y"}', "{}"],
            ['{"card": "x"}', '{"card": "x", "other": 1}'],
        ),
        (
            {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": {"a": {"type": "integer"}}, "dependencies": {"a": {"properties": {"b": {"type": "string"}}, "required": ["b"]}}},
            ['{"a": 1, "b": "s"}', '{"b": 2}', '{"c": null}'],
            ['{"a": 1}', '{"a": 1, "b": 2}'],
        ),
    ],
)
def test_object_key_keywords(smollm2_vocab, schema, good, bad):
    _check_good_bad(smollm2_vocab, schema, good, bad)


def _check_good_bad(smollm2_vocab, schema, good, bad):
    c = constrain.compile({"type": "json_schema", "json_schema": {"schema": schema}}, smollm2_vocab, cache=False)
    validator = validator_for(schema)
    for text in good:
        assert validator.is_valid(json.loads(text)), text
        assert accepts_text(c, text), text
    for text in bad:
        assert not validator.is_valid(json.loads(text)), text
        assert not accepts_text(c, text), text
    rng = random.Random(3)
    for _ in range(4):
        out = random_walk(c, rng, max_tokens=200)
        if out is not None:
            assert validator.is_valid(json.loads(out)), out


def test_pattern_class_escapes_satisfy_ecma_and_python(smollm2_vocab):
    """Schema patterns read \\W, \\D, \\S so that matches satisfy ECMA-262 and Python's re alike:
    'é' is \\W in ECMA but a word character for Python (and the jsonschema package)."""
    schema = {"type": "string", "pattern": "^\\W\\S\\D$"}
    c = constrain.compile({"type": "json_schema", "json_schema": {"schema": schema}}, smollm2_vocab, cache=False)
    validator = validator_for(schema)
    assert accepts_text(c, '"!!!"') and accepts_text(c, '"-a-"')
    for text in ('"\u00e9!x"', '"!\u00e9\u0663"'):
        assert not accepts_text(c, text), text
    rng = random.Random(11)
    for _ in range(20):
        out = random_walk(c, rng, max_tokens=40)
        if out is not None:
            assert validator.is_valid(json.loads(out)), out


# -- oneOf with overlapping branches: narrowed so each branch excludes every other ------------------

_OBJ_PROPS = {"c": {"type": "string", "maxLength": 5}, "s": {"type": "string", "maxLength": 5}}
_INT_PROP = {"type": "integer", "minimum": 0, "maximum": 9}
ONE_OF_NARROWED = {
    # Branches that differ in their required names alone: exactly "not all of the other's
    # names" (MaskBench o6184: {start, duration} was rejected when "start" was forbidden).
    "required_names_only": (
        {"type": "object", "properties": {"s": _INT_PROP, "e": _INT_PROP, "d": _INT_PROP}, "additionalProperties": False,
         "allOf": [{"oneOf": [{"required": ["s", "e"]}, {"required": ["d"]}]}]},
        [{"s": 1, "e": 2}, {"d": 3}, {"s": 1, "d": 3}, {"e": 2, "d": 3}],
        [{"s": 1, "e": 2, "d": 3}, {}, {"s": 1}],
    ),
    # Exact: the overlap ({c, s} together) is what oneOf rejects anyway.
    "required_pair": (
        {"oneOf": [
            {"type": "object", "required": ["c"], "additionalProperties": False, "properties": _OBJ_PROPS},
            {"type": "object", "required": ["s"], "additionalProperties": False, "properties": _OBJ_PROPS},
        ]},
        [{"c": "x"}, {"s": "y"}],
        [{"c": "x", "s": "y"}, {}],
    ),
    # An optional discriminator becomes required; {} and non-objects match both branches.
    "optional_discriminator": (
        {"oneOf": [
            {"properties": {"kind": {"enum": ["a"]}, "x": {"type": "integer"}}},
            {"properties": {"kind": {"enum": ["b"]}, "y": {"type": "string", "maxLength": 5}}},
        ]},
        [{"kind": "a", "x": 1}, {"kind": "b", "y": "z"}],
        [{}, "text", 3, {"x": 1}],
    ),
    # A branch without a discriminator is kept apart by forbidding what the others require.
    "known_type_or_type": (
        {"oneOf": [
            {"type": "object", "required": ["knownType"], "properties": {"knownType": {"enum": ["A", "B"]}}},
            {"type": "object", "required": ["knownType", "key"],
             "properties": {"knownType": {"enum": ["C"]}, "key": {"type": "string", "maxLength": 5}}},
            {"type": "object", "required": ["type"], "properties": {"type": {"type": "string", "maxLength": 5}}},
        ]},
        [{"knownType": "A"}, {"knownType": "C", "key": "k"}, {"type": "t"}],
        [{"knownType": "A", "type": "t"}, {"knownType": "D"}, {}],
    ),
    # Discriminator values seen through allOf (OpenAPI generators write enums so), and a
    # catch-all branch whose discriminator is a negated enum (MaskBench o35866, o10011 shapes).
    "discriminator_through_all_of_and_not": (
        {"oneOf": [
            {"properties": {"country": {"allOf": [{"type": "string"}, {"enum": ["CAN"]}]},
                            "state": {"enum": ["ON", "QC"]}}},
            {"properties": {"country": {"type": "string", "enum": ["USA"]},
                            "state": {"enum": ["NY", "ON"]}}},
            {"properties": {"country": {"not": {"type": "string", "enum": ["CAN", "USA"]}},
                            "state": {"type": "string", "maxLength": 4}}},
        ]},
        [{"country": "CAN", "state": "QC"}, {"country": "USA", "state": "ON"}, {"country": "FR"},
         {"country": "MEX", "state": "BC"}],
        [{}, {"state": "ON"}, {"country": "CAN", "state": "NY"}, {"country": 3, "state": "long state"}],
    ),
    # A required key that the other branch cannot hold: no declared property, additionalProperties
    # false, and no patternProperties pattern matching it.
    "required_key_outside_the_other_patterns": (
        {"oneOf": [
            {"type": "object", "required": ["ref"], "properties": {"ref": {"type": "string", "maxLength": 4}},
             "additionalProperties": False},
            {"type": "object", "patternProperties": {"^[0-9]+x$": {"type": "string", "maxLength": 4}},
             "additionalProperties": False},
        ]},
        [{"ref": "a"}, {"2x": "b"}, {}],
        [{"ref": "a", "2x": "b"}, {"3y": "c"}],
    ),
    # A property no branch may hold (schema false) is no discriminator: made required, it emptied
    # every branch (MaskBench semgrep, whose rules forbid pattern-sinks outside taint mode).
    "false_property_is_no_discriminator": (
        {"type": "object", "additionalProperties": False,
         "properties": {"z": False, "a": {"type": "integer"}, "b": {"type": "integer"}},
         "oneOf": [{"required": ["a"]}, {"required": ["b"]}]},
        [{"a": 1}, {"b": 2}],
        [{}, {"a": 1, "b": 2}],
    ),
    # Arrays of disjoint item types share only []: it satisfies both branches, so it is invalid.
    "arrays_of_disjoint_items": (
        {"oneOf": [{"type": "array", "items": {"type": "string", "maxLength": 3}, "maxItems": 3},
                   {"type": "array", "items": {"type": "integer"}, "maxItems": 3}]},
        [["a"], [1, 2], ["x", "y"]],
        [[], ["a", 1], [1.5]],
    ),
    # A branch with object keywords only accepts every non-object: a boolean/null branch is
    # wholly inside it (all invalid), and the object branch keeps objects (MaskBench o48661).
    "non_objects_inside_an_object_only_branch": (
        {"oneOf": [{"type": ["boolean", "null"]},
                   {"properties": {"enabled": {"type": "boolean"}}, "additionalProperties": False}]},
        [{}, {"enabled": True}, "s", 3, [1]],
        [True, None, False, {"enabled": 1}],
    ),
    # Neither branch requires anything: each must hold one of its own properties (MaskBench o74185).
    "one_of_own_properties": (
        {"oneOf": [
            {"type": "object", "properties": {"set": {"type": "integer"}, "delete": {"type": "boolean"}},
             "additionalProperties": False},
            {"type": "object", "properties": {"replace": {"type": "integer"}}, "additionalProperties": False},
        ]},
        [{"set": 1}, {"set": 2, "delete": True}, {"replace": 3}],
        [{}, {"set": 1, "replace": 3}, {"other": 1}],
    ),
    # Strings told apart by their automata.
    "disjoint_patterns": (
        {"oneOf": [{"type": "string", "pattern": "^a+$"}, {"type": "string", "pattern": "^b+$"}]},
        ["a", "bbb"],
        ["ab", ""],
    ),
    # Types seen through a nested oneOf.
    "nested_types": (
        {"oneOf": [
            {"type": "array", "items": {"type": "integer"}, "maxItems": 3},
            {"oneOf": [{"type": "string", "maxLength": 5},
                       {"type": "object", "required": ["v"], "properties": {"v": {"type": "string", "maxLength": 5}}}]},
        ]},
        [[1, 2], "s", {"v": "x"}],
        [{"w": 1}, None],
    ),
}


_INT = {"type": "integer", "minimum": 0, "maximum": 99}
COUNTED_AND_NEGATED = {
    # minProperties/maxProperties counted over optional members.
    "between_one_and_two": (
        {"type": "object", "properties": {"a": _INT, "b": _INT, "c": _INT}, "additionalProperties": False,
         "minProperties": 1, "maxProperties": 2},
        [{"a": 1}, {"b": 1, "c": 2}, {"a": 0, "c": 5}],
        [{}, {"a": 1, "b": 2, "c": 3}],
    ),
    # Extras allowed: at least one declared member is generated (a sound subset).
    "at_least_one_declared": (
        {"type": "object", "properties": {"a": _INT, "b": _INT}, "minProperties": 1,
         "propertyNames": {"maxLength": 2}, "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 9}},
        [{"a": 1}, {"a": 1, "b": 2}],
        [{}],
    ),
    # not {required, properties}: a forbidden combination of values.
    "not_both_true": (
        {"type": "object", "properties": {"x": {"type": "boolean"}, "y": {"type": "boolean"}},
         "additionalProperties": False,
         "not": {"properties": {"x": {"const": True}, "y": {"const": True}}, "required": ["x", "y"]}},
        [{}, {"x": True}, {"x": True, "y": False}, {"x": False, "y": True}],
        [{"x": True, "y": True}],
    ),
    # Non-strings satisfy {pattern} and non-objects satisfy {required}: their negations keep
    # strings and objects only (MaskBench Handwritten/string5 produced `true` before).
    "not_pattern_untyped": (
        {"not": {"pattern": "^a"}, "maxLength": 6},
        ["", "ba", "zzz"],
        ["abc", True, None, 3, {}, []],
    ),
    "not_required_untyped": (
        {"not": {"required": ["a"]}},
        [{}, {"b": 1}],
        [{"a": 1}, True, "s", 0, []],
    ),
    "not_required_together_untyped": (
        {"not": {"required": ["a", "b"]}},
        [{}, {"a": 1}, {"b": 2}],
        [{"a": 1, "b": 2}, "s", None],
    ),
    "anyof_of_not_patterns": (
        {"anyOf": [{"not": {"pattern": "^[a-z]+$"}}, {"not": {"pattern": "x"}}], "maxLength": 5},
        ["ab", "x1", "AB"],
        ["abx", True, 1],
    ),
    # uniqueItems over a finite set of values: the automaton remembers which were used.
    "unique_enum": (
        {"type": "array", "items": {"enum": ["a", "b", "c", 1]}, "uniqueItems": True, "minItems": 1},
        [["a"], ["c", "a"], ["a", "b", "c", 1]],
        [[], ["a", "a"], ["b", "c", "b"], [1, 1.0]],
    ),
    "unique_booleans": (
        {"type": "array", "items": {"type": "boolean"}, "uniqueItems": True},
        [[], [True, False], [False]],
        [[True, True]],
    ),
    # Without type: object in the negated schema, non-objects satisfy it, so they are excluded.
    "not_required_only_objects": (
        {"not": {"properties": {"k": {"const": "v"}}, "required": ["k"]}},
        [{}, {"k": "w"}],
        [{"k": "v"}, 1, "s", None],
    ),
}


@pytest.mark.parametrize("name", sorted(COUNTED_AND_NEGATED))
def test_counted_properties_and_object_not_are_sound(smollm2_vocab, name):
    _check_schema_sound(smollm2_vocab, name, *COUNTED_AND_NEGATED[name])


@pytest.mark.parametrize("name", sorted(ONE_OF_NARROWED))
def test_one_of_narrowing_is_sound(smollm2_vocab, name):
    _check_schema_sound(smollm2_vocab, name, *ONE_OF_NARROWED[name])


def _check_schema_sound(smollm2_vocab, name, schema, valid, invalid, min_ended=3):
    """Valid values accepted, invalid ones rejected, and seeded random walks validate."""
    validator = validator_for(schema)
    for value in valid:
        assert validator.is_valid(value), value
    for value in invalid:
        assert not validator.is_valid(value), value
    compiled = constrain.compile({"type": "json_schema", "json_schema": {"schema": schema}}, smollm2_vocab, cache=False)
    for value in valid:
        assert accepts_text(compiled, json.dumps(value)), value
    for value in invalid:
        assert not accepts_text(compiled, json.dumps(value)), value
    rng = random.Random(name)
    ended = 0
    for _ in range(40):
        out = random_walk(compiled, rng, max_tokens=300)
        if out is None:
            continue
        ended += 1
        assert validator.is_valid(json.loads(out)), out
    assert ended >= min_ended


#: oneOf whose branches overlap, made exact as "this branch and not the others", and `not` of
#: scalar schemas (complements of string and number automata), name -> (schema, valid, invalid).
EXCLUSIVE_AND_NEGATED = {
    "one_of_object_and_object_with_a": (
        {"oneOf": [{"type": "object"}, {"type": "object", "required": ["a"]}]},
        [{}, {"b": 1}],
        [{"a": 1}, {"a": 1, "b": 2}, "s"],
    ),
    "one_of_typeless_properties_and_string": (
        {"oneOf": [{"properties": {"a": {"type": "integer"}}}, {"type": "string"}]},
        [{"a": 1}, 3, None, [1]],
        ["s", "", {"a": "x"}],
    ),
    # Lengths above 16 (strings then run as rules of their own) overlap too: a string of at
    # most 20 characters satisfies both branches (it was accepted: the overlap check read the
    # rule call as no string at all).
    "one_of_overlapping_lengths": (
        {"oneOf": [{"type": "string", "maxLength": 20}, {"type": "string", "maxLength": 30}]},
        ["a" * 21, "é" * 30],
        ["abc", "", "a" * 20, "a" * 31],
    ),
    "one_of_overlapping_patterns": (
        {"oneOf": [{"type": "string", "pattern": "^a", "maxLength": 5}, {"type": "string", "pattern": "b$", "maxLength": 5}]},
        ["ax", "xb", "a", "b"],
        ["ab", "axb", "x", ""],
    ),
    "one_of_enum_and_string": (
        {"oneOf": [{"enum": ["linux"]}, {"type": "string", "maxLength": 8}]},
        ["mac", "windows"],
        ["linux", "very long name", 1],
    ),
    "one_of_multiples": (
        {"type": "integer", "minimum": 1, "maximum": 40, "oneOf": [{"multipleOf": 3}, {"multipleOf": 5}]},
        [3, 5, 9, 10, 25, 27],
        [15, 30, 7, 0, 45],
    ),
    "nested_one_of_in_all_of": (
        {"type": "integer", "minimum": 1, "maximum": 200,
         "allOf": [{"oneOf": [{"multipleOf": 5}, {"multipleOf": 10}]}, {"oneOf": [{"not": {"multipleOf": 5}}, {"multipleOf": 7}]}]},
        [35, 105],
        [70, 140, 5, 10, 7, 3],
    ),
    "not_multiple_of_for_numbers": (
        {"type": "number", "minimum": 0, "maximum": 10, "not": {"multipleOf": 3}},
        [1, 2.5, 4, 8.75],
        [0, 3, 3.0, 6, 9],
    ),
    "not_integer_for_numbers": (
        {"type": "number", "not": {"type": "integer"}},
        [1.5, -0.25],
        [1, 2.0, 0, "x"],
    ),
    "not_numeric_enum_and_range": (
        {"type": "integer", "minimum": -5, "maximum": 20, "not": {"anyOf": [{"enum": [0, 7]}, {"minimum": 10, "maximum": 12}]}},
        [-5, 1, 9, 13, 20],
        [0, 7, 10, 11, 12, 21],
    ),
    "not_string_length": (
        {"type": "string", "not": {"minLength": 2, "maxLength": 3}},
        ["", "a", "abcd"],
        ["ab", "abc", 1],
    ),
    "not_typeless_string_keyword_keeps_short_strings_only": (
        {"not": {"minLength": 2}},
        ["", "a"],
        ["ab", 1, None, [], {}],
    ),
    # Python's re reads \d as any Unicode digit and lets "$" match before a final newline: the
    # negated pattern takes the widest reading, so both are excluded too.
    "not_pattern_wide_reading": (
        {"type": "string", "maxLength": 4, "not": {"pattern": "^\\d+$"}},
        ["a", "1a", ""],
        ["12", "12\n", "\u0663"],
    ),
    # Every keyword is exact over a finite set of candidates, even those refused elsewhere.
    "enum_checked_against_if_then": (
        {"type": "array", "oneOf": [{"enum": [[2], [2, 4], [6]]}, {"enum": [[], [2, 3], [2, 4]]}],
         "if": {"minItems": 1}, "then": {"minItems": 2, "items": {"multipleOf": 2}}},
        [[]],
        [[2, 4], [2], [6], [2, 3]],
    ),
    "const_and_not_enum": (
        {"allOf": [{"enum": [False, 0, "0"]}, {"not": {"enum": [0]}}]},
        [False, "0"],
        [0],
    ),
    # Two patterns from allOf and an enum: the enum values are checked against both patterns.
    "enum_with_two_patterns": (
        {"allOf": [{"pattern": "a"}, {"pattern": "b"}, {"enum": ["a", "ab", "b", "ba"]}]},
        ["ab", "ba"],
        ["a", "b"],
    ),
    # contains: the items before the first match satisfy items and not contains.
    "contains_const": (
        {"type": "array", "maxItems": 4, "contains": {"const": 3}},
        [[3], [1, 3], [3, 3, "a"]],
        [[], [1, 2], [1, 1, 1, 1, 3]],
    ),
    "contains_with_items_and_bounds": (
        {"type": "array", "items": {"type": "integer", "maximum": 20}, "contains": {"minimum": 5}, "minItems": 3, "maxItems": 4},
        [[5, 1, 1], [1, 1, 5], [9, 9, 9, 9]],
        [[1, 1, 1], [1, 5], [1, 1, 1, 1, 9], [25, 1, 1]],
    ),
    # not A and not B is not (A or B): both names are forbidden, not just one of them.
    "two_nots_merged_from_all_of": (
        {"type": "object", "allOf": [{"not": {"required": ["a"]}}, {"not": {"required": ["b"]}}]},
        [{}, {"c": 1}],
        [{"a": 1}, {"b": 1}, {"a": 1, "b": 2}],
    ),
}


@pytest.mark.parametrize("name", sorted(EXCLUSIVE_AND_NEGATED))
def test_exclusive_one_of_and_scalar_not_are_exact(smollm2_vocab, name):
    _check_schema_sound(smollm2_vocab, name, *EXCLUSIVE_AND_NEGATED[name], min_ended=1)


@pytest.mark.parametrize(
    "schema",
    [
        # not {minProperties} has no supported form, so objects with "a" cannot be told apart.
        {"oneOf": [{"type": "object", "minProperties": 1}, {"type": "object", "required": ["a"]}]},
        # contains needs its negation for the items before the match: not {minProperties} has none.
        {"type": "array", "contains": {"type": "object", "minProperties": 1}, "oneOf": [{"maxItems": 2}, {"minItems": 1}]},
        # A negated format: our format automata accept less than validators, so no complement.
        {"oneOf": [{"type": "string", "format": "date"}, {"type": "string", "maxLength": 12}]},
    ],
)
def test_one_of_still_refused_when_inseparable(smollm2_vocab, schema):
    with pytest.raises(constrain.UnsupportedSchemaError, match="oneOf|contains"):
        constrain.compile({"type": "json_schema", "json_schema": {"schema": schema}}, smollm2_vocab, cache=False)


def test_small_objects_accept_any_property_order(smollm2_vocab):
    """property_order="any": up to 8 declared properties in any order, each at most once, required ones present."""
    schema = {"type": "object", "properties": {"a": _INT, "b": {"type": "string", "maxLength": 3}, "c": {"type": "boolean"}},
              "required": ["b"]}
    compiled = constrain.compile({"type": "json_schema", "json_schema": {"schema": schema}}, smollm2_vocab, cache=False,
                                 property_order="any")
    for text in ['{"b": "x"}', '{"c": true, "a": 1, "b": "x"}', '{"b":"x","a":2}', '{"a": 1, "zz": [1], "b": "y"}']:
        assert accepts_text(compiled, text), text
    for text in ['{"a": 1}', '{"b": "x", "b": "y"}', '{"a": 1, "b": "x", "a": 2}', '{"c": 1, "b": "x"}']:
        assert not accepts_text(compiled, text), text
    strict = constrain.compile({"type": "json_schema", "json_schema": {"schema": dict(schema, additionalProperties=False)}},
                               smollm2_vocab, cache=False, property_order="any")
    assert accepts_text(strict, '{"c": false, "b": "x"}')
    assert not accepts_text(strict, '{"b": "x", "zz": 1}')
    # Walks on the strict form (uniform walks rarely close an object that takes any extra member).
    validator = validator_for(dict(schema, additionalProperties=False))
    rng = random.Random(3)
    orders = set()
    for _ in range(30):
        out = random_walk(strict, rng, max_tokens=200)
        if out is not None:
            value = json.loads(out)
            assert validator.is_valid(value), out
            orders.add(tuple(k for k in value if k in "abc"))
    assert len(orders) > 2  # several orders are actually generated
    # One declared member: additional ones may come before it too (MaskBench o61781).
    single = constrain.compile({"type": "json_schema", "json_schema": {"schema": {
        "type": "object", "properties": {"token": {"type": "string"}}, "required": ["token"]}}},
        smollm2_vocab, cache=False, property_order="any")
    assert accepts_text(single, '{"name": "x", "token": "t"}') and not accepts_text(single, '{"name": "x"}')


def test_recursive_schemas_through_merges_compile_and_unfinishable_values_are_cut(smollm2_vocab):
    """A $ref cycle through allOf makes a new merged schema on every visit: the grammar rule is
    still found again (by content), so compiling ends. A property that is required all the way
    down has no finite value: it is cut from the grammar, and a schema left with nothing is an
    input error."""
    loop = {"definitions": {"Leaf": {"type": "object"},
                            "Foo": {"type": "object", "required": ["child"],
                                    "properties": {"child": {"allOf": [{"$ref": "#/definitions/Foo"}, {"$ref": "#/definitions/Leaf"}]}}}},
            "type": "object", "properties": {"foo": {"$ref": "#/definitions/Foo"}, "n": {"type": "integer"}},
            "additionalProperties": False}
    compiled = constrain.compile({"type": "json_schema", "json_schema": {"schema": loop}}, smollm2_vocab, cache=False)
    assert accepts_text(compiled, '{"n": 1}')
    m = compiled.matcher()
    assert m.accept_string('{"')
    # "foo" can never be finished, so no token may start it.
    assert not any(smollm2_vocab.decode_bytes([t]).startswith(b"f") for t in m.allowed_token_ids().tolist())
    with pytest.raises(constrain.InvalidSchemaError, match="no finite JSON value"):
        constrain.compile({"type": "json_schema", "json_schema": {"schema": dict(loop, required=["foo"])}}, smollm2_vocab, cache=False)
    # A real recursive tree through allOf + $ref still works.
    tree = {"$defs": {"node": {"allOf": [{"$ref": "#/$defs/base"}],
                               "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}},
                      "base": {"type": "object", "properties": {"v": {"type": "integer"}}, "required": ["v"]}},
            "$ref": "#/$defs/node"}
    compiled = constrain.compile({"type": "json_schema", "json_schema": {"schema": tree}}, smollm2_vocab, cache=False)
    assert accepts_text(compiled, '{"v": 1, "kids": [{"v": 2, "kids": [{"v": 3}]}]}')
    assert not accepts_text(compiled, '{"v": 1, "kids": [{"kids": []}]}')


def test_all_of_keeps_pattern_properties_for_names_the_other_branch_declares(smollm2_vocab):
    # A property declared in one allOf branch obeys the other's patternProperties when a pattern
    # matches its name, not that branch's additionalProperties: false (MaskBench
    # hayson-json-schema: gridMeta = dict + {ver}, whose grid objects were all dropped).
    schema = {
        "allOf": [
            {"type": "object", "properties": {"_kind": {"enum": ["dict"]}},
             "patternProperties": {"^[a-z]": {"type": "string"}}, "additionalProperties": False},
            {"properties": {"ver": {"enum": ["3.0", 3]}}, "required": ["ver"]},
        ]
    }
    _check_schema_sound(smollm2_vocab, "pattern_properties_through_all_of", schema,
                        [{"ver": "3.0"}, {"_kind": "dict", "ver": "3.0"}, {"ver": "3.0", "abc": "x"}],
                        [{"ver": 3}, {}, {"_x": "y", "ver": "3.0"}, {"ver": "3.0", "abc": 1}], min_ended=1)


#: if/then/else as disjoint variants, and anyOf beside oneOf; name -> (schema, valid, invalid).
CONDITIONALS = {
    "if_then_else_on_a_string": (
        {"type": "string", "maxLength": 6, "if": {"pattern": "^a"}, "then": {"minLength": 3}, "else": {"maxLength": 2}},
        ["abc", "abcdef", "", "zz"],
        ["ab", "a", "zzz", "abcdefg"],
    ),
    # One property's value decides every if (MaskBench semgrep, minecraft-* shapes).
    "discriminated_conditionals": (
        {"type": "object", "properties": {"mode": {"enum": ["a", "b", "c"]}, "x": {"type": "integer"},
                                          "y": {"type": "boolean"}},
         "additionalProperties": False,
         "allOf": [
             {"if": {"properties": {"mode": {"const": "a"}}, "required": ["mode"]}, "then": {"required": ["x"]}},
             {"if": {"properties": {"mode": {"const": "b"}}}, "then": {"required": ["y"]},
              "else": {"properties": {"y": False}}},
         ]},
        [{"mode": "a", "x": 1}, {"mode": "b", "y": True}, {"y": False}, {"mode": "c"}, {"mode": "c", "x": 2}],
        [{"mode": "a"}, {"mode": "b"}, {}, {"mode": "a", "x": 1, "y": True}, {"mode": "c", "y": True}],
    ),
    # Exactly one of the patterns present, nested in an if (MaskBench semgrep): merged with an anyOf
    # branch, "required: [a, b]" lies inside "required: [a]" and is dropped.
    "one_of_required_inside_if": (
        {"type": "object", "additionalProperties": False,
         "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}, "x": {"type": "integer"}},
         "if": {"anyOf": [{"required": ["a"]}, {"required": ["b"]}]},
         "then": {"oneOf": [{"required": ["a"]}, {"required": ["b"]}]},
         "else": {"oneOf": [{"required": ["a"]}, {"required": ["b"]}, {"required": ["x"]}]}},
        [{"a": 1}, {"b": 2}, {"x": 3}, {"a": 1, "x": 3}],
        [{}, {"a": 1, "b": 2}, {"a": 1, "b": 2, "x": 3}],
    ),
    # A oneOf beside an anyOf holds in every anyOf branch (it must not be dropped from any).
    "any_of_beside_one_of": (
        {"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 3}],
         "oneOf": [{"type": "integer", "maximum": 5}, {"type": "boolean"}]},
        [1, 5, -3],
        ["x", 6, True],
    ),
}


@pytest.mark.parametrize("name", sorted(CONDITIONALS))
def test_conditionals_and_sibling_combinations_are_exact(smollm2_vocab, name):
    _check_schema_sound(smollm2_vocab, name, *CONDITIONALS[name], min_ended=1)


def test_if_is_not_a_keyword_before_draft_7(smollm2_vocab):
    schema = {"$schema": "http://json-schema.org/draft-06/schema#", "type": "integer",
              "if": {"minimum": 3}, "then": {"maximum": 4}}
    compiled = constrain.compile({"type": "json_schema", "json_schema": {"schema": schema}}, smollm2_vocab, cache=False)
    assert accepts_text(compiled, "10")  # draft-06 validators ignore if/then
    assert validator_for(schema).is_valid(10)


#: Shapes of MaskBench schemas whose valid instances need more than the plain keyword rules
#: (property order aside); name -> (schema, valid, invalid).
COMPLETENESS_FIXES = {
    # Up to draft 7 a $ref overrides its siblings (MaskBench o14421: "type": "string" beside a
    # $ref to an object schema; the objects were rejected).
    "ref_siblings_ignored_before_2019": (
        {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
         "properties": {"s": {"type": "string", "$ref": "#/definitions/point"}},
         "definitions": {"point": {"type": "object", "properties": {"x": {"type": "integer"}},
                                   "required": ["x"], "additionalProperties": False}}},
        [{"s": {"x": 1}}, {}],
        [{"s": "text"}, {"s": {}}, {"s": {"x": 1, "y": 2}}],
    ),
    # From 2019-09 on, $ref is one more keyword: siblings apply.
    "ref_siblings_apply_from_2019": (
        {"$defs": {"small": {"type": "integer", "maximum": 10}}, "$ref": "#/$defs/small", "minimum": 5},
        [5, 10],
        [4, 11, "5"],
    ),
    # additionalProperties true (outside) merged with false (a oneOf branch) is false, not a
    # schema no value satisfies that emptied the branch (MaskBench qodana-1.0 "profile").
    "additional_properties_true_and_false": (
        {"type": "object", "additionalProperties": True,
         "oneOf": [{"properties": {"name": {"type": "string"}}, "required": ["name"], "additionalProperties": False},
                   {"properties": {"path": {"type": "string"}}, "required": ["path"], "additionalProperties": False}]},
        [{"name": "a"}, {"path": "b"}],
        [{}, {"name": "a", "path": "b"}, {"name": "a", "x": 1}, {"name": 3}],
    ),
    # Two additionalProperties schemas that no value satisfies together: no extra key at all.
    "additional_properties_disjoint": (
        {"type": "object", "properties": {"a": {"type": "boolean"}}, "additionalProperties": {"type": "string"},
         "allOf": [{"additionalProperties": {"type": "integer"}}]},
        [{}],
        [{"b": "x"}, {"b": 1}, {"a": 1}, {"a": True}],  # "a" is an extra of the allOf branch
    ),
    # A position no value fits ends the array before it (found by fuzz_json seed 55 case 100:
    # the whole array property was dropped, [] included).
    "unsatisfiable_prefix_item": (
        {"type": "object", "properties": {"a": {"type": "array", "prefixItems": [
            {"type": "integer"}, {"oneOf": [{"type": "boolean"}, {"type": "boolean"}]}]}}, "required": ["a"]},
        [{"a": []}, {"a": [3]}],
        [{"a": [3, True]}, {"a": [3, 4]}, {"a": ["x"]}, {}],
    ),
    # A number whose multipleOf is an integer may be written with a zero fraction (MaskBench
    # o46322 "6000.0"); an integer-typed one stays integer text.
    "integer_multiple_of_a_number": (
        {"type": "object", "properties": {
            "n": {"type": "number", "minimum": 0, "maximum": 99999999, "multipleOf": 1},
            "m": {"type": "number", "minimum": -30, "maximum": 300, "multipleOf": 7}}},
        [{"n": 6000.0}, {"n": 6000}, {"m": 14.0}, {"m": -28}, {"n": 0.0}],
        [{"n": 6000.5}, {"m": 15.0}, {"n": 100000000.0}, {"m": 301}],
    ),
    # A oneOf branch whose "not: {required: [n]}" rejects every object of the other branch (which
    # requires n) makes them disjoint: no key is forbidden to keep them apart (MaskBench o57539:
    # "zones" beside "questionGroups" was rejected).
    "one_of_separated_by_not_required": (
        {"type": "object", "properties": {"a": {"type": "integer"}, "z": {"type": "integer"}, "n": {"type": "integer"}},
         "oneOf": [{"type": "object", "required": ["a", "n"]},
                   {"type": "object", "required": ["z"], "not": {"type": "object", "required": ["n"]}}]},
        [{"a": 1, "z": 2, "n": 3}, {"a": 1, "z": 2}, {"z": 1}, {"a": 1, "n": 2}],
        [{"z": 1, "n": 3}, {"a": 1}, {}],
    ),
    # enum/const numbers compare by value: 2.0 may be written 2 (MaskBench o61348 "since": 2
    # against "enum": [2.0]), also inside arrays and objects.
    "enum_numbers_by_value": (
        {"type": "object", "properties": {"since": {"enum": [2.0]}, "pair": {"const": [1.0, {"x": -3.0}]}}},
        [{"since": 2}, {"since": 2.0}, {"pair": [1, {"x": -3}]}, {"pair": [1.0, {"x": -3.0}]}],
        [{"since": 3}, {"since": 2.5}, {"pair": [1, {"x": 3}]}],
    ),
    # Without "type", a schema whose objects are all invalid (a required property no value
    # satisfies) still allows every other value (MaskBench o46142 was refused as unsatisfiable).
    "typeless_with_unsatisfiable_objects": (
        {"properties": {"a": {"oneOf": [{"type": "integer"}, {"type": "integer"}]}}, "required": ["a"]},
        ["x", 1, None, [], True],
        [{}, {"a": 1}],
    ),
    # maxLength/minLength beyond max_repeat are counted by the grammar automaton instead of
    # being tightened (MaskBench o9773: a 2,000-character certificate under maxLength 32767).
    "long_string_lengths_counted": (
        {"type": "object", "properties": {"cert": {"type": "string", "minLength": 300, "maxLength": 32767},
                                          "note": {"type": "string", "maxLength": 400}}, "required": ["cert"]},
        [{"cert": "A" * 2000}, {"cert": "é" * 300, "note": "n" * 400}, {"cert": "\n" * 300}],
        [{"cert": "A" * 299}, {"cert": "A" * 300, "note": "n" * 401}, {"cert": "😀" * 299}],
    ),
    # The viability search of a fractional multipleOf tries the shortest continuations first:
    # depth-first, it spent its budget on 1e0000... and found no multiple of 0.3 in [1, 101]
    # (fuzz_json seed 208 case 8, tekken).
    "fractional_multiple_found_breadth_first": (
        {"type": "array", "items": {"type": "number", "minimum": 1, "maximum": 101, "multipleOf": 0.3}},
        [[1.2], [63.9, 93.0], [1.5, 3, 101.1 - 0.3]],
        [[0.9], [1.3], [102], [0.3]],
    ),
    # An optional discriminator made required lost the objects without it that fail the other
    # branch anyway: here those holding p0 as an object (fuzz_json seed 601 case 1182, tekken).
    "one_of_optional_discriminator_keeps_other_separators": (
        {"oneOf": [
            {"type": "object", "additionalProperties": False,
             "properties": {"p0": {"type": "object"}, "p3": {"type": "object"}}},
            {"type": "object", "additionalProperties": False,
             "properties": {"p0": {"type": "string"}, "p3": {"enum": [True]}}}]},
        [{"p0": {}}, {"p3": {}}, {"p0": {"a": 1}, "p3": {}}, {"p0": "x"}, {"p3": True}, {"p0": "x", "p3": True}],
        [{}, {"p0": {}, "p3": True}, {"p0": 1}, {"q": 1}],
    ),
    # The same with constant discriminators and a property only one branch declares
    # (MaskBench o90946's shape: {"first": true} is valid, the other branch forbids "first").
    "one_of_const_discriminators_and_own_properties": (
        {"oneOf": [
            {"type": "object", "additionalProperties": False,
             "properties": {"kind": {"const": "first"}, "first": {"type": "boolean"}}},
            {"type": "object", "additionalProperties": False,
             "properties": {"kind": {"const": "second"}, "second": {"type": "boolean"}}}]},
        [{"first": True}, {"second": False}, {"kind": "first"}, {"kind": "second", "second": True}],
        [{}, {"kind": "first", "second": True}, {"first": True, "second": True}, {"kind": "third"}],
    ),
    # Against a closed branch (additionalProperties false), objects holding only properties it
    # does not declare fail it too: {"x": "s"} is valid (fuzz_json seed 603 case 2336).
    "one_of_closed_branch_rejects_undeclared_properties": (
        {"oneOf": [
            {"type": "object", "properties": {"p0": {"enum": ["é", "a"]}}, "additionalProperties": {"type": "string"}},
            {"type": "object", "properties": {"p0": {"type": "string", "pattern": "@"}}, "additionalProperties": False}]},
        [{"x": "s"}, {"p0": "a"}, {"p0": "é", "x": "y"}, {"p0": "a@"}, {"x": "s", "y": "t"}],
        [{}, {"x": 1}, {"p0": "zz"}, {"p0": "zz", "x": "s"}],
    ),
    # A discriminator beside a name only the other branch requires: objects without that name
    # fail the other branch, with or without the discriminator ({} was rejected: fuzz_json seed
    # 614 case 283, tekken); the other branch closed, open, or requiring a name it does not declare.
    "one_of_discriminator_and_a_name_the_other_branch_requires": (
        {"oneOf": [
            {"type": "object", "properties": {"p0": {"type": "number", "minimum": 0, "maximum": 0}}},
            {"type": "object", "properties": {"p0": {"type": "boolean"}, "p1": {"type": "array"}},
             "required": ["p1"], "additionalProperties": False}]},
        [{}, {"p0": 0}, {"x": 1}, {"p0": True, "p1": [1]}, {"p0": 0, "p1": [1]}, {"r": 1}],
        [{"p1": []}, {"p0": True}, {"p0": 1}, 5],
    ),
    "one_of_discriminator_and_a_name_the_open_branch_requires": (
        {"oneOf": [
            {"type": "object", "properties": {"p0": {"type": "number", "minimum": 0, "maximum": 0}}},
            {"type": "object", "properties": {"p0": {"type": "boolean"}}, "required": ["p1"]}]},
        [{}, {"x": 1}, {"r": 1}, {"p0": 0, "p1": 2}, {"p0": True, "p1": 2}],
        [{"p1": 2}, {"p0": True}, {"p0": 1, "p1": 2}],
    ),
    "one_of_discriminator_and_an_undeclared_name_the_closed_branch_requires": (
        {"oneOf": [
            {"type": "object", "properties": {"p0": {"type": "number", "minimum": 0, "maximum": 0}}},
            {"type": "object", "properties": {"p0": {"type": "boolean"}, "p1": {"type": "array"}},
             "required": ["r", "p1"], "additionalProperties": False}]},
        [{}, {"p1": []}, {"r": 1}, {"p0": 0}, {"x": 1}],
        [{"p0": True}, {"p0": 1}, "s"],
    ),
    # A discriminator the other branch requires: this branch's objects without it fail the
    # other one, so they are valid (they were dropped by making it required here too).
    "one_of_discriminator_required_by_the_other_branch": (
        {"oneOf": [
            {"type": "object", "properties": {"kind": {"const": "a"}, "x": {"type": "integer"}}},
            {"type": "object", "properties": {"kind": {"const": "b"}}, "required": ["kind"]}]},
        [{}, {"x": 1}, {"kind": "a"}, {"kind": "b"}, {"kind": "b", "x": "s"}],
        [{"kind": "c"}, {"x": "s"}, {"kind": "a", "x": "s"}, []],
    ),
    # A negated (or exclusive) number schema whose bounds no number fits holds for no number:
    # its complement is every number (fuzz_json seed 201 case 20 refused the whole oneOf).
    "negated_empty_number_range": (
        {"oneOf": [{"type": "string", "pattern": "[0-9]"}, {"type": "number", "minimum": 1, "maximum": 8, "exclusiveMaximum": -1},
                   {"type": "number", "minimum": -0.5, "maximum": 6.5}]},
        [0, 0.0, 6.5, -0.5, "1"],
        [7, -1, "x"],
    ),
}


@pytest.mark.parametrize("name", sorted(COMPLETENESS_FIXES))
def test_maskbench_completeness_fixes_are_exact(smollm2_vocab, name):
    _check_schema_sound(smollm2_vocab, name, *COMPLETENESS_FIXES[name], min_ended=1)


#: Patterns that allow non-ASCII characters (one way, or a few ranges, or counted).
NON_ASCII_PATTERNS = ["^[^/]+$", "^[a-zà-ÿ]{1,5}$", "^.{2,4}$", "é|😀", "^[Ā-￿]+$", "^x[^a]*y$", "^[a-z😀-🙏]*$"]


@pytest.mark.parametrize("pattern", NON_ASCII_PATTERNS)
def test_pattern_strings_accept_json_dumps_escapes_of_non_ascii(smollm2_vocab, pattern):
    """json.dumps writes non-ASCII characters as \\uXXXX (surrogate pairs beyond the BMP) by
    default: pattern-constrained strings accept that form as well as raw UTF-8, exactly."""
    schema = {"type": "string", "pattern": pattern}
    compiled = constrain.compile({"type": "json_schema", "json_schema": {"schema": schema}}, smollm2_vocab, cache=False)
    validator = validator_for(schema)
    chars = st.characters(blacklist_categories=("Cs",))
    producible = smollm2_vocab.trie.producible_bytes

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(st.one_of(st.from_regex(pattern), st.text(chars, max_size=6)), st.booleans())
    def check(text, upper_hex):
        escaped = json.dumps(text)
        if upper_hex:  # JSON allows either case of hex digits
            escaped = re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), escaped)
        # Where Python's re and ECMA-262 (ours) differ: "$" before a final newline, "." on line
        # terminators other than newline.
        assume(not any(c in text for c in "\n\r\u2028\u2029"))
        valid = validator.is_valid(text)
        assert accepts_text(compiled, escaped) == valid, (escaped, valid)
        raw = json.dumps(text, ensure_ascii=False)
        if all(producible[b] for b in raw.encode("utf-8")):  # SmolLM2 has no token with 0xF1, 0xF2...
            assert accepts_text(compiled, raw) == valid, text

    check()
    assert not accepts_text(compiled, '"\\udc00"')  # a lone low surrogate is no character
    rng = random.Random(pattern)
    for _ in range(20):
        out = random_walk(compiled, rng, max_tokens=60)
        if out is not None:
            assert validator.is_valid(json.loads(out)), out


@pytest.mark.parametrize("extra", [False, True])
def test_large_objects_accept_any_property_order(smollm2_vocab, extra):
    """property_order="any" on 24 declared properties (2**24 sets of them, built lazily): any
    order and serialization is accepted, repeats and missing required ones are not, and walks
    (with the member count bounded) validate."""
    props = {f"k{i}": ({"type": "integer"} if i % 3 else {"type": "string", "maxLength": 3}) for i in range(24)}
    schema = {"type": "object", "properties": props, "required": ["k5", "k17"], "additionalProperties": extra}
    compiled = constrain.compile({"type": "json_schema", "json_schema": {"schema": schema}}, smollm2_vocab,
                                 cache=False, property_order="any")
    validator = validator_for(schema)
    rng = random.Random(24)
    for _ in range(15):
        keys = list(dict.fromkeys(rng.sample(sorted(props), rng.randint(0, 10)) + ["k5", "k17"]))
        rng.shuffle(keys)
        value = {k: ("ab" if props[k]["type"] == "string" else rng.randint(-5, 5)) for k in keys}
        assert validator.is_valid(value)
        for text in serializations(value):
            assert accepts_text(compiled, text), text
    for text in ['{"k5": 1}', '{"k17": 1, "k5": "a", "k17": 2}', '{"k17": 1, "k5": "a",}', '{}']:
        assert not accepts_text(compiled, text), text
    assert accepts_text(compiled, '{"k17": 1, "zz": 0, "k5": 2}') == extra
    if extra:
        return  # maxProperties with additional properties allowed is refused (they are not counted)
    bounded = dict(schema, minProperties=3, maxProperties=4)
    compiled = constrain.compile({"type": "json_schema", "json_schema": {"schema": bounded}}, smollm2_vocab,
                                 cache=False, property_order="any")
    validator = validator_for(bounded)
    ended = 0
    for _ in range(30):
        out = random_walk(compiled, rng, max_tokens=300)
        if out is not None:
            ended += 1
            assert validator.is_valid(json.loads(out)), out
    assert ended >= 3


def test_draft_4_ids_anywhere_are_anchors(smollm2_vocab):
    """Draft 4 names identifiers "id" at any node: "#name" refs find them (MaskBench o35904's
    optional "jumpGate" was lost to a dangling ref)."""
    schema = {"$schema": "http://json-schema.org/draft-04/schema#",
              "definitions": {"gate": {"id": "#gate", "type": "object", "properties": {"n": {"type": "integer"}}}},
              "type": "object", "properties": {"g": {"$ref": "#gate"}, "id": {"type": "string"}}}
    compiled = constrain.compile({"type": "json_schema", "json_schema": {"schema": schema}}, smollm2_vocab, cache=False)
    assert accepts_text(compiled, '{"g": {"n": 1}, "id": "x"}')
    assert not accepts_text(compiled, '{"g": {"n": "1"}}')


#: Float semantics of the validators: exclusive bounds compare floats (a decimal just inside
#: rounds onto the bound), and a fractional multipleOf divides in floats (found by fuzz_json
#: seed 57: "-5E-7755..." was generated for exclusiveMaximum 0; 19.99 / 0.01 is not integral).
FLOAT_SEMANTICS = {
    "exclusive_bounds_round": (
        {"type": "object", "properties": {"a": {"type": "number", "exclusiveMinimum": 0.1, "maximum": 1},
                                          "b": {"type": "number", "minimum": -0.5, "exclusiveMaximum": 0}}},
        [{"a": 0.2}, {"a": 0.10000000000000002}, {"b": -5e-7}, {"b": -0.5}, {"b": -5e-324}],
        [{"a": 0.1}, {"b": 0}, {"b": -0.0}],
    ),
    # Each value is checked as the jsonschema package divides (MaskBench o17460's 10.99 and
    # o46322's 7.5 and 38.1 are valid there; 19.99 and 0.07 are not).
    "decimal_multiple_as_floats": (
        {"type": "object", "properties": {"m": {"type": "number", "multipleOf": 0.01, "minimum": -3, "maximum": 50},
                                          "q": {"type": "number", "multipleOf": 0.3}}},
        [{"m": 20}, {"m": -3}, {}, {"m": 10.99}, {"m": 7.5}, {"m": 38.1}, {"m": 20.0}, {"q": 0.9}, {"q": 3}, {"q": 0}],
        [{"m": 19.99}, {"m": 51}, {"m": 0.07}, {"q": 2.7}, {"q": 0.1}],
    ),
}


_CHECKED: dict[str, constrain.CompiledConstraint] = {}


def _check_decimal(vocab, schema: dict, multiple: float, kind: str, whole: int, fraction: int, digits: int) -> None:
    """The decimal ``whole.fraction`` (``digits`` fraction digits) is accepted exactly when the
    jsonschema package validates it, where it is a text the grammar generates (at most as many
    fraction digits as ``multiple``; none for integers); beyond that only soundness is checked."""
    key = json.dumps(schema)
    if key not in _CHECKED:
        try:
            _CHECKED[key] = constrain.compile({"type": "json_schema", "json_schema": {"schema": schema}}, vocab,
                                              cache=False)
        except constrain.InvalidSchemaError:
            _CHECKED[key] = None  # no value at all: checked below
    text = str(whole) if not digits else f"{whole}.{fraction % 10**digits:0{digits}d}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    places = len(repr(multiple).split(".")[1]) if "." in repr(multiple) else 0
    valid = validator_for(schema).is_valid(json.loads(text))
    if _CHECKED[key] is None:
        assert not valid, text
        return
    if digits <= (places if kind == "number" else 0):  # within the generated texts: exact
        assert accepts_text(_CHECKED[key], text) == valid, (schema, text)
    else:  # more fraction digits than the multiple: never generated, and sound
        assert not accepts_text(_CHECKED[key], text) or valid, (schema, text)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(multiple=st.sampled_from([0.01, 0.1, 0.05, 0.25, 0.3, 1.5, 0.001, 0.07]),
       bounds=st.sampled_from([(None, None), (0, None), (-3, 50), (0.5, 0.75), (-1000, -999)]),
       whole=st.integers(-1200, 1200), fraction=st.integers(0, 999), digits=st.integers(0, 3),
       kind=st.sampled_from(["number", "integer"]))
def test_fractional_multiple_of_is_exact_under_float_division(smollm2_vocab, multiple, bounds, whole, fraction, digits,
                                                              kind):
    """A fractional multipleOf (up to 3 decimal places) accepts a plain decimal (an integer, for
    integers) exactly when the jsonschema package validates it, within the bounds: -280 is no
    multiple of 0.07 there (-280 / 0.07 is not whole). Walks validate too (see FLOAT_SEMANTICS)."""
    lo, hi = bounds
    schema = {"type": kind, "multipleOf": multiple,
              **({} if lo is None else {"minimum": lo}), **({} if hi is None else {"maximum": hi})}
    _check_decimal(smollm2_vocab, schema, multiple, kind, whole, fraction, digits)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(multiple=st.sampled_from([0.01, 0.1, 0.25, 0.3, 0.07]),
       bounds=st.sampled_from([(None, None), (-3, 4), (0, 50)]),
       exclusion=st.sampled_from(["not enum", "not range", "not integer multiple", "oneOf with enum"]),
       whole=st.integers(-60, 60), fraction=st.integers(0, 999), digits=st.integers(0, 3),
       kind=st.sampled_from(["number", "integer"]))
def test_fractional_multiple_of_beside_a_negation_is_exact(smollm2_vocab, multiple, bounds, exclusion, whole, fraction,
                                                           digits, kind):
    """A fractional multipleOf beside a ``not`` (or in an overlapping oneOf branch, which becomes
    "this branch and not the others") keeps its value-by-value check, with the negated values
    taken out: fuzz_json seed 612 case 446, where -0.9 (a multiple of 0.1 in float division)
    was rejected because only integers were generated there."""
    lo, hi = bounds
    base = {"type": kind, "multipleOf": multiple,
            **({} if lo is None else {"minimum": lo}), **({} if hi is None else {"maximum": hi})}
    negated = {"not enum": {"enum": [2, 0.5, -0.9, "a"]}, "not range": {"minimum": -1, "maximum": 1},
               "not integer multiple": {"multipleOf": 3}}
    if exclusion == "oneOf with enum":
        schema = {"oneOf": [{"enum": ["with space", 2.0, 0.25, [1]]}, {"type": "null"}, base]}
    else:
        schema = {**base, "not": negated[exclusion]}
    _check_decimal(smollm2_vocab, schema, multiple, kind, whole, fraction, digits)


@pytest.mark.parametrize("name", sorted(FLOAT_SEMANTICS))
def test_numbers_follow_the_validators_float_semantics(smollm2_vocab, name):
    schema, valid, invalid = FLOAT_SEMANTICS[name]
    _check_schema_sound(smollm2_vocab, name, schema, valid, invalid, min_ended=1)
    if name == "exclusive_bounds_round":  # texts inside the bounds that parse onto them
        compiled = constrain.compile({"type": "json_schema", "json_schema": {"schema": schema}}, smollm2_vocab, cache=False)
        for text in ('{"a": 0.10000000000000000001}', '{"b": -5E-7755}', '{"b": -1e-400}'):
            assert not accepts_text(compiled, text), text


_LONG_STRINGS: dict[str, constrain.CompiledConstraint] = {}


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(lo=st.integers(0, 400), extra=st.one_of(st.none(), st.integers(0, 300)), near_max=st.booleans(),
       delta=st.integers(-2, 2), alphabet=st.lists(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=4),
       ascii_only=st.booleans())
def test_long_string_lengths_are_exact(smollm2_vocab, lo, extra, near_max, delta, alphabet, ascii_only):
    """Strings whose minLength/maxLength pass max_repeat (256) are counted exactly, in
    characters, whatever their escapes: accepted exactly when their length is in bounds."""
    hi = None if extra is None else lo + extra
    if max(lo, hi or 0) <= 256:
        hi = max(hi or 0, lo) + 257
    schema = {"type": "string", "minLength": lo, **({} if hi is None else {"maxLength": hi})}
    key = json.dumps(schema)
    if key not in _LONG_STRINGS:
        _LONG_STRINGS[key] = constrain.compile({"type": "json_schema", "json_schema": {"schema": schema}},
                                               smollm2_vocab, cache=False)
    length = max(0, (hi if near_max and hi is not None else lo) + delta)
    text = "".join(alphabet[i % len(alphabet)] for i in range(length))
    encoded = json.dumps(text, ensure_ascii=ascii_only)
    producible = smollm2_vocab.trie.producible_bytes
    assume(all(producible[b] for b in encoded.encode()))
    expected = lo <= length and (hi is None or length <= hi)
    assert accepts_text(_LONG_STRINGS[key], encoded) == expected, (lo, hi, length)


def test_objects_of_200_properties_accept_any_order(smollm2_vocab):
    """Up to any_order_max (240) declared properties run in any order (MaskBench clang-format:
    152 of them, written alphabetically while the schema lists them otherwise)."""
    props = {f"Opt{(i * 37) % 200:03d}": {"type": "boolean"} for i in range(200)}
    schema = {"type": "object", "properties": props, "patternProperties": {"^x-": {}}, "additionalProperties": False}
    compiled = constrain.compile({"type": "json_schema", "json_schema": {"schema": schema}}, smollm2_vocab,
                                 cache=False, property_order="any")
    rng = random.Random(200)
    for size in (200, 60):
        keys = sorted(rng.sample(sorted(props), size))
        value = {k: rng.random() < 0.5 for k in keys}
        for text in serializations(value):
            assert accepts_text(compiled, text), text[:80]
    assert not accepts_text(compiled, '{"Opt000": true, "Opt001": false, "Opt000": true}')
    assert accepts_text(compiled, '{"Opt001": false, "x-a": 1, "Opt000": true}')
    assert not accepts_text(compiled, '{"Opt001": false, "y-a": 1}')
