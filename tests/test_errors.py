"""Bad input gets a typed error (a ConstraintError, hence a ValueError) that names the problem, fast."""

from __future__ import annotations

import time

import pytest

import constrain
from constrain.regex import compile_regex

VOCAB = constrain.Vocabulary.from_token_bytes([None, b"a", b"b", b"0", b"1"], eos_token_ids=[0])


@pytest.mark.parametrize(
    ("pattern", "error", "fragment", "position"),
    [
        ("(ab", constrain.InvalidRegexError, "missing ')'", 0),
        ("ab)", constrain.InvalidRegexError, "unbalanced ')'", 2),
        ("*a", constrain.InvalidRegexError, "nothing to repeat", 0),
        ("a{3,2}", constrain.InvalidRegexError, "out of order", 1),
        ("[z-a]", constrain.InvalidRegexError, "range out of order", 2),
        ("[abc", constrain.InvalidRegexError, "missing ']'", 0),
        ("abc\\", constrain.InvalidRegexError, "lone backslash", 3),
        ("\\xZZ", constrain.InvalidRegexError, "hexadecimal", 0),
        ("\\q", constrain.InvalidRegexError, "unknown escape", 0),
        ("a**", constrain.InvalidRegexError, "multiple repeat", 2),
        ("(?<1x>a)", constrain.InvalidRegexError, "group name", 3),
        ("(a)\\1", constrain.UnsupportedRegexError, "backreference", 3),
        ("(?<n>a)\\k<n>", constrain.UnsupportedRegexError, "named backreference", 7),
        ("a(?=b)", constrain.UnsupportedRegexError, "lookahead", 1),
        ("a(?!b)", constrain.UnsupportedRegexError, "lookahead", 1),
        ("(?<=a)b", constrain.UnsupportedRegexError, "lookbehind", 0),
        ("(?<!a)b", constrain.UnsupportedRegexError, "lookbehind", 0),
        ("\\bword\\b", constrain.UnsupportedRegexError, "word boundary", 0),
        ("(?i)abc", constrain.UnsupportedRegexError, "inline flags", 0),
        ("\\p{L}+", constrain.UnsupportedRegexError, "Unicode property", 0),
        ("a++", constrain.UnsupportedRegexError, "possessive", 2),
        ("[[:alpha:]]", constrain.UnsupportedRegexError, "POSIX", 1),
    ],
)
def test_regex_errors_name_the_construct_and_position(pattern, error, fragment, position):
    with pytest.raises(error) as info:
        constrain.compile({"type": "regex", "schema": pattern}, VOCAB)
    assert fragment in str(info.value)
    assert info.value.position == position
    assert f"at position {position}" in str(info.value)
    assert isinstance(info.value, constrain.ConstraintError) and isinstance(info.value, ValueError)


def test_empty_language_is_an_error():
    with pytest.raises(constrain.InvalidRegexError, match="matches no string"):
        constrain.compile({"type": "regex", "schema": "a^b"}, VOCAB)
    with pytest.raises(constrain.InvalidRegexError, match="matches no string"):
        constrain.compile({"type": "regex", "schema": "[]"}, VOCAB)


@pytest.mark.parametrize(
    ("pattern", "kwargs"),
    [
        ("(a|b)*a(a|b){24}", {}),  # the classic exponential DFA
        ("((a{1000}){1000}){1000}", {}),  # NFA blow-up
        ("[ab]*a[ab]{12}", {"max_dfa_states": 500}),  # a smaller, configured budget
    ],
)
def test_state_budget_overflow_fails_fast(pattern, kwargs):
    start = time.perf_counter()
    with pytest.raises(constrain.AutomatonTooLargeError) as info:
        constrain.compile({"type": "regex", "schema": pattern}, VOCAB, cache=False, **kwargs)
    assert "budget" in str(info.value)
    assert time.perf_counter() - start < 20  # bounded; typically well under a second


def test_budget_is_configurable_both_ways():
    compile_regex("[ab]*a[ab]{8}")  # 2^9 states fits the default
    with pytest.raises(constrain.AutomatonTooLargeError):
        compile_regex("[ab]*a[ab]{8}", max_dfa_states=100)


# Many mid-sized automata, each within the state budgets: a pattern intersected with a length
# range per branch (the shape of MaskBench's Handwritten allany16, which took minutes).
SLOW_SCHEMA = {
    "anyOf": [
        {"type": "string", "pattern": f"[aA][12].*{c}[zZ]", "minLength": 10, "maxLength": 90}
        for c in "bcdefghijklmnopqrstuvwxy"
    ]
}


def test_compile_time_budget_names_the_schema_location():
    start = time.perf_counter()
    with pytest.raises(constrain.CompileTimeoutError) as info:
        constrain.compile({"type": "json_schema", "json_schema": {"schema": SLOW_SCHEMA}}, VOCAB,
                          cache=False, max_compile_seconds=0.2)
    elapsed = time.perf_counter() - start
    assert elapsed < 5  # checked inside the long loops, not only between schemas
    # Usually inside a branch; on a loaded machine the budget may already be spent at the root.
    pointer = info.value.pointer
    assert pointer is not None and (pointer == "" or pointer.startswith("/anyOf/")), pointer
    assert f"at {pointer or '/'}" in str(info.value) and "max_compile_seconds" in str(info.value)
    assert isinstance(info.value, constrain.AutomatonTooLargeError)  # a budget error like the others


def test_compile_time_budget_covers_regexes_and_can_be_lifted():
    with pytest.raises(constrain.CompileTimeoutError) as info:
        constrain.compile({"type": "regex", "schema": "[ab]*a[ab]{12}"}, VOCAB, cache=False, max_compile_seconds=1e-4)
    assert info.value.pointer is None
    compiled = constrain.compile({"type": "regex", "schema": "[ab]*a[ab]{12}"}, VOCAB, cache=False,
                                 max_compile_seconds=None)
    assert compiled.description == "[ab]*a[ab]{12}"


def _nested_schema(levels: int) -> dict:
    schema: dict = {"type": "integer"}
    for _ in range(levels):
        schema = {"type": "array", "items": schema, "maxItems": 1}
    return schema


@pytest.mark.parametrize("response_format", [
    {"type": "json_schema", "json_schema": {"schema": _nested_schema(5000)}},
    {"type": "regex", "schema": "(" * 5000 + "a" + ")" * 5000},
], ids=["schema", "regex"])
def test_nesting_past_the_recursion_limit_is_a_budget_error(response_format):
    """A format nested past Python's recursion limit is a typed budget error naming the nesting,
    not a RecursionError from deep inside."""
    with pytest.raises(constrain.AutomatonTooLargeError, match="nested too deeply"):
        constrain.compile(response_format, VOCAB, cache=False)


def test_schema_whose_validation_never_ends_is_refused_not_a_crash():
    """Checking enum values of a schema that refers to itself without end ({oneOf: [..., {$ref:
    itself}]}) ran jsonschema under compile's raised recursion limit, past the C stack: the
    process died (fuzz_json seed 616 case 2400). It is refused now."""
    schema = {"$ref": "#/$defs/d0", "$defs": {"d0": {"oneOf": [
        {"anyOf": [{"type": "integer", "maximum": -10}, {"enum": ["with space"]}]}, {"$ref": "#/$defs/d0"}]}}}
    with pytest.raises(constrain.UnsupportedSchemaError, match="oneOf"):
        constrain.compile({"type": "json_schema", "json_schema": {"schema": schema}}, VOCAB, cache=False)


@pytest.mark.parametrize("budget", [0, -1.0, "10", True, float("nan")])
def test_compile_time_budget_must_be_positive(budget):
    with pytest.raises(constrain.ConstraintError, match="max_compile_seconds"):
        constrain.compile({"type": "json_object"}, VOCAB, cache=False, max_compile_seconds=budget)


def test_nested_time_budgets_keep_the_earlier_deadline():
    from constrain import deadline

    with deadline.time_budget(1e-6):
        with deadline.time_budget(1000.0):
            time.sleep(0.01)
            with pytest.raises(constrain.CompileTimeoutError, match="1e-06 s"):
                deadline.check()
        with deadline.time_budget(None):
            with pytest.raises(constrain.CompileTimeoutError):
                deadline.check()
    deadline.check()  # no budget outside the blocks


@pytest.mark.parametrize(
    ("response_format", "fragment"),
    [
        ({"type": "yaml"}, "unknown response_format type 'yaml'"),
        ({}, "missing its 'type'"),
        ({"schema": "a"}, "missing its 'type'"),
        ("regex", "must be an object"),
        (["regex"], "must be an object"),
        ({"type": "regex"}, "needs a 'schema'"),
        ({"type": "regex", "schema": 42}, "must be a regex string"),
        ({"type": "regex", "schema": None}, "must be a regex string"),
        ({"type": "regex", "schema": "a", "pattern": "b"}, "unknown field(s) ['pattern']"),
        ({"type": "text", "schema": "a"}, "unknown field(s) ['schema']"),
        ({"type": None}, "unknown response_format type None"),
    ],
)
def test_malformed_response_formats(response_format, fragment):
    with pytest.raises(constrain.InvalidResponseFormatError) as info:
        constrain.compile(response_format, VOCAB)
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_vocab_must_be_a_vocabulary():
    with pytest.raises(constrain.ConstraintError, match="constrain.Vocabulary"):
        constrain.compile({"type": "text"}, ["a", "b"])  # type: ignore[arg-type]


def test_bad_vocabularies():
    with pytest.raises(constrain.VocabularyError, match="token 1 must be bytes"):
        constrain.Vocabulary.from_token_bytes([b"a", "b"], eos_token_ids=[0])  # type: ignore[list-item]
    with pytest.raises(constrain.VocabularyError, match="eos token id 5"):
        constrain.Vocabulary.from_token_bytes([b"a"], eos_token_ids=[5])
    with pytest.raises(constrain.VocabularyError, match="cannot shrink"):
        VOCAB.padded(2)
    with pytest.raises(constrain.VocabularyError, match="tekken"):
        constrain.Vocabulary.from_tekken("/nonexistent/tekken.json")


def test_bitmask_shape_mismatch():
    m = constrain.compile({"type": "regex", "schema": "a"}, VOCAB).matcher()
    import numpy as np

    with pytest.raises(constrain.ConstraintError, match="words"):
        m.fill_next_token_bitmask(np.zeros((1, 7), dtype=np.int32))
    with pytest.raises(constrain.ConstraintError, match="numpy array or torch tensor"):
        m.fill_next_token_bitmask([[0]])
