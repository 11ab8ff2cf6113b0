"""The grammar automaton determinizes rules lazily: same languages, same errors as building all up front."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

import constrain
from constrain.errors import ConstraintError
from constrain.grammar import Grammar, GrammarAutomaton
from constrain.jsonschema.compiler import JsonOptions, SchemaCompiler
from constrain.regex import compile_regex, parse
from constrain.regex.automaton import Call, Embed, build_nfa, determinize, restrict_bytes
from constrain.regex.lazy import rule_is_nullable, tree_byte_classes
from constrain.regex.parser import Alt, Chars, Concat, Repeat

ANCHORED = [
    "", "a", "a*", "^", "$", "^$", "$^", "a^", "^a?$", "(^|x)y", "(a|^)*", "($|a)(^|b)", "(?:^$)*",
    "(?:$^)?", "(?:$|^){3}", "(?:^|a)(?:$|b)(?:^)", "x{0,3}", "(?:a?){5}", "(?:a|$){2,}^", "(?:$a|^)*",
    "(?:^|$){0,2}(?:a|^)", "[é-ü]?", "(?:$)*(?:^)", "(?:^)*(?:$)*",
]


@pytest.mark.parametrize("pattern", ANCHORED)
def test_nullable_agrees_with_the_dfa(pattern):
    dfa = compile_regex(pattern)
    assert rule_is_nullable(parse(pattern)) == bool(dfa.accepting[dfa.start])


def test_nullable_random_trees():
    rng = random.Random(5)
    atoms = ["a", "b", "^", "$", "", "[ab]", "é"]

    def gen(depth):
        if depth == 0 or rng.random() < 0.3:
            return rng.choice(atoms)
        kind = rng.randrange(4)
        if kind == 0:
            return gen(depth - 1) + gen(depth - 1)
        if kind == 1:
            return f"(?:{gen(depth - 1)}|{gen(depth - 1)})"
        if kind == 2:
            return f"(?:{gen(depth - 1)})" + rng.choice(["*", "?", "+", "{2}", "{0,3}", "{2,}"])
        return f"(?:{gen(depth - 1)})"

    for _ in range(400):
        pattern = gen(4)
        dfa = compile_regex(pattern)
        assert rule_is_nullable(parse(pattern)) == bool(dfa.accepting[dfa.start]), pattern


def _refines(fine: np.ndarray, coarse: np.ndarray) -> bool:
    """Every class of ``fine`` lies inside one class of ``coarse``."""
    pairs = {(int(f), int(c)) for f, c in zip(fine.tolist(), coarse.tolist())}
    return len({f for f, _ in pairs}) == len(pairs)


SCHEMAS = [
    {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20}, "age": {"type": "integer", "minimum": 0},
                                      "tags": {"type": "array", "items": {"enum": ["a", "bé", "c"]}}},
     "required": ["name"]},
    {"type": "array", "items": {"anyOf": [{"type": "number"}, {"type": "string", "pattern": "^[a-z]+$"},
                                          {"$ref": "#"}]}},
    {"type": "object", "additionalProperties": {"type": "boolean"}},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_tree_byte_classes_refine_every_rule(schema, smollm2_vocab):
    grammar = SchemaCompiler(schema, JsonOptions()).compile()
    producible = smollm2_vocab.producible_bytes
    classes = tree_byte_classes(grammar.rules, producible)
    for node in grammar.rules:
        dfa = node.dfa if isinstance(node, Embed) else determinize(build_nfa(node))
        dfa = restrict_bytes(dfa, producible)
        assert _refines(classes, dfa.byte_class[:256])
    # Unproducible bytes share one class.
    assert len(set(classes[~producible].tolist())) <= 1


@pytest.mark.parametrize("schema", SCHEMAS)
def test_lazy_and_eager_agree(schema, smollm2_vocab):
    grammar = SchemaCompiler(schema, JsonOptions()).compile()
    lazy = GrammarAutomaton(grammar, producible_bytes=smollm2_vocab.producible_bytes)
    eager = GrammarAutomaton(grammar, producible_bytes=smollm2_vocab.producible_bytes, eager=True)
    assert eager.rules_built == len(grammar.rules)
    assert lazy.rules_built <= len(grammar.rules)
    rng = random.Random(1)
    for _ in range(30):
        # Random walks over bytes of the eager automaton; the lazy one must agree at every step.
        a, b = lazy.start, eager.start
        for _ in range(60):
            assert lazy.is_accepting(a) == eager.is_accepting(b)
            assert lazy.forced_bytes(a, 8) == eager.forced_bytes(b, 8)
            live = [x for x in range(256) if eager.walk(b, bytes((x,))) >= 0]
            assert live == [x for x in range(256) if lazy.walk(a, bytes((x,))) >= 0]
            if not live:
                break
            x = bytes((rng.choice(live),))
            a, b = lazy.walk(a, x), eager.walk(b, x)


def test_lazy_first_mask_builds_few_rules(smollm2_vocab):
    props = {f"p{i}": {"type": "object", "properties": {"x": {"type": "string", "maxLength": 5 + i}}} for i in range(30)}
    schema = {"type": "object", "properties": {"first": {"type": "integer"}, "rest": {"type": "object", "properties": props}},
              "required": ["first", "rest"], "additionalProperties": False}
    compiled = constrain.compile({"type": "json_schema", "json_schema": {"schema": schema}}, smollm2_vocab, cache=False)
    m = compiled.matcher()
    m.allowed_token_ids()
    automaton = compiled.automaton
    assert automaton.rules_built < len(automaton.grammar.rules) // 2
    text = json.dumps({"first": 3, "rest": {"p7": {"x": "abc"}, "p29": {}}})
    assert m.accept_string(text) and m.can_terminate()
    assert not compiled.matcher().accept_string(json.dumps({"first": 3, "rest": {"p7": {"x": "a" * 13}}}))


def test_nullable_callee_is_still_refused_up_front():
    grammar = Grammar(rules=(Concat((Chars(((97, 97),)), Call(1))), Repeat(Chars(((98, 98),)), 0, 3)), names=("root", "bs"))
    with pytest.raises(ConstraintError, match="matches the empty string"):
        GrammarAutomaton(grammar)
    # Unreachable rules are checked too, as before.
    grammar = Grammar(rules=(Chars(((97, 97),)), Alt((Concat(()), Chars(((98, 98),))))), names=("root", "unused"))
    with pytest.raises(ConstraintError, match="matches the empty string"):
        GrammarAutomaton(grammar)


def test_budget_errors_of_large_rules_stay_compile_time():
    from constrain.errors import AutomatonTooLargeError

    def grammar(pattern):
        return Grammar(rules=(Concat((Chars(((97, 97),)), Call(1))), parse(pattern)), names=("root", "tail"))

    # A large rule (its NFA estimated above max_dfa_states / EAGER_SIZE_DIVISOR) is built up front.
    with pytest.raises(AutomatonTooLargeError):
        GrammarAutomaton(grammar("(a|b)*a(a|b){400}"), max_dfa_states=4000)
    # A small rule that blows up exponentially is built state by state as parses reach it,
    # unless eager=True: short inputs work, and the budget error comes once a parse has made
    # more states than the budget (2**15 states exist: one per last 15 bytes).
    small = grammar("(a|b)*a(a|b){14}")
    with pytest.raises(AutomatonTooLargeError):
        GrammarAutomaton(small, max_dfa_states=4000, eager=True)
    automaton = GrammarAutomaton(small, max_dfa_states=4000)
    assert automaton.rules_built == 1
    assert automaton.walk(automaton.start, b"ab") >= 0
    rng = random.Random(0)
    with pytest.raises(AutomatonTooLargeError):
        automaton.walk(automaton.start, b"a" + bytes(rng.choice(b"ab") for _ in range(20_000)))
    # Within budget, the same grammar works either way.
    for eager in (False, True):
        ok = GrammarAutomaton(grammar("(a|b)*a(a|b){3}"), max_dfa_states=4000, eager=eager)
        assert ok.is_accepting(ok.walk(ok.start, b"aabbb")) and not ok.is_accepting(ok.walk(ok.start, b"abbbb"))


def test_threads_sharing_a_lazy_automaton_get_the_same_masks(smollm2_vocab):
    """Several threads walk one compiled constraint at once (a server filling a batch), growing
    its lazy automaton together; every mask they saw must be the one a lone thread computes."""
    import sys
    import threading

    fmt = {"type": "json_schema", "json_schema": {"schema": {
        "type": "object",
        "properties": {"name": {"type": "string", "maxLength": 40}, "tags": {"type": "array", "items": {"type": "string"}},
                       "child": {"$ref": "#"}, "n": {"type": "number", "minimum": 0, "maximum": 100, "multipleOf": 0.5}},
        "additionalProperties": {"type": "integer"}}}}
    shared = constrain.compile(fmt, smollm2_vocab, cache=False)
    seen: list[list[tuple[list[int], np.ndarray]]] = [[] for _ in range(4)]
    errors: list[BaseException] = []

    def walk(k: int) -> None:
        try:
            rng = random.Random(k)
            for _ in range(3):
                m, tokens = shared.matcher(), []
                for _ in range(40):
                    mask = m.next_token_bitmask().copy()
                    seen[k].append((list(tokens), mask))
                    ids = m.allowed_token_ids()
                    ids = ids[~np.isin(ids, smollm2_vocab.eos_token_ids)]
                    if not ids.size:
                        break
                    token = int(ids[rng.randrange(ids.size)])
                    assert m.accept_token(token)
                    tokens.append(token)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [threading.Thread(target=walk, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors
    alone = constrain.compile(fmt, smollm2_vocab, cache=False)
    checked = 0
    for records in seen:
        for tokens, mask in records:
            m = alone.matcher()
            assert m.accept_tokens(tokens)
            assert np.array_equal(m.next_token_bitmask(), mask), tokens
            checked += 1
    assert checked > 100


def _productive_fixed_point(rules):
    """Reference: rules that match some finite text, by iterating to a fixed point."""

    def finishes(node, productive):
        if isinstance(node, Call):
            return node.rule in productive
        if isinstance(node, Chars):
            return bool(node.ranges)
        if isinstance(node, Concat):
            return all(finishes(n, productive) for n in node.items)
        if isinstance(node, Alt):
            return any(finishes(n, productive) for n in node.options)
        if isinstance(node, Repeat):
            return node.min == 0 or finishes(node.item, productive)
        return True

    productive: set[int] = set()
    while True:
        grown = {k for k, tree in enumerate(rules) if finishes(tree, productive)}
        if grown == productive:
            return productive
        productive = grown


def _random_rules(rng: random.Random, num_rules: int):
    def tree(depth):
        kind = rng.randrange(6 if depth < 3 else 2)
        if kind == 0:
            return Call(rng.randrange(num_rules))  # callees numbered before callers too (recursion)
        if kind == 1:
            return Chars(((97, 98),) if rng.random() < 0.9 else ())
        if kind == 2:
            return Concat(tuple(tree(depth + 1) for _ in range(rng.randint(1, 3))))
        if kind == 3:
            return Alt(tuple(tree(depth + 1) for _ in range(rng.randint(1, 3))))
        return Repeat(tree(depth + 1), rng.choice([0, 1, 2]), rng.choice([None, 3]))

    return [tree(0) for _ in range(num_rules)]


@pytest.mark.parametrize("seed", range(60))
def test_unproductive_rules_are_the_fixed_point(seed):
    """Cutting unproductive rules (a fast single pass, the worklist when it fails) agrees with
    the plain fixed point on random rule sets, recursion included."""
    from constrain.jsonschema.compiler import _without_unproductive_rules

    rng = random.Random(seed)
    rules = _random_rules(rng, rng.randint(1, 6))
    productive = _productive_fixed_point(rules)
    out = _without_unproductive_rules(rules)
    if 0 not in productive:
        assert out is None
        return
    assert out is not None and len(out) == len(rules)
    # Pruning keeps exactly the productive rules productive, and no call into a cut rule.
    assert _productive_fixed_point(list(out)) == productive
    for k in range(len(rules)):
        if k not in productive:
            assert out[k] == Chars(())
        elif len(productive) == len(rules):
            assert out[k] is rules[k]
        stack = [out[k]]
        while stack:
            node = stack.pop()
            assert not (isinstance(node, Call) and node.rule not in productive)
            stack.extend(getattr(node, "items", ()) or getattr(node, "options", ()))
            if isinstance(node, Repeat):
                stack.append(node.item)


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "array", "items": {"type": "integer"}}},
     "required": ["a"]},
    {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "object", "additionalProperties": {"type": "number"}}]},
    {"$defs": {"t": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/t"}}}}},
     "$ref": "#/$defs/t"},
])
def test_batched_and_single_entry_resolution_build_the_same_automaton(schema):
    """resolve() (a walk's batch, classes grouped per configuration) and resolve_entry() (one
    entry) reach the same configurations, by content, from every configuration explored."""
    grammar = SchemaCompiler(schema, JsonOptions()).compile()
    batched, single = GrammarAutomaton(grammar), GrammarAutomaton(grammar)
    assert batched.num_classes == single.num_classes
    k = batched.num_classes
    todo, seen = [(batched.start, single.start)], {batched.start}
    while todo and len(seen) < 150:
        a, b = todo.pop()
        assert batched._configs[a] == single._configs[b]
        batched.resolve(a * k + np.arange(k))
        row = batched.flat_table[a * k:(a + 1) * k].tolist()
        for cls in range(k):
            nb = single.resolve_entry(b * k + cls)
            na = row[cls]
            assert (na < 0) == (nb < 0)
            if na >= 0 and na not in seen:
                seen.add(na)
                todo.append((na, nb))


def _deepest_nesting(schema: dict, value: str, max_depth: int) -> int:
    """How many objects deep ``{"v": <value>, "n": {...}}`` can be written under ``max_depth``."""
    vocab = constrain.Vocabulary.from_token_bytes([None] + [bytes([b]) for b in range(32, 127)], eos_token_ids=[0])
    compiled = constrain.compile({"type": "json_schema", "json_schema": {"schema": schema}}, vocab,
                                 max_depth=max_depth, cache=False, whitespace="compact")
    deepest = 0
    for depth in range(1, max_depth + 3):
        text = '{"v":%s,"n":' % value * (depth - 1) + '{"v":%s}' % value + "}" * (depth - 1)
        m = compiled.matcher()
        if m.accept_string(text) and m.can_terminate():
            deepest = depth
    return deepest


@pytest.mark.parametrize("max_depth", [3, 4, 6, 9])
def test_values_that_call_nothing_do_not_use_up_the_depth_limit(max_depth):
    """A string value is a rule of its own (shared by every property of that type); at the depth
    limit it is still called, so objects nest as deep with string values as with literals, and
    the deepest object can still be finished."""
    def schema(value: dict) -> dict:
        return {"type": "object", "properties": {"v": value, "n": {"$ref": "#"}}, "required": ["v"],
                "additionalProperties": False}

    with_literal = _deepest_nesting(schema({"type": "boolean"}), "true", max_depth)
    assert with_literal >= 1
    assert _deepest_nesting(schema({"type": "string"}), '"x"', max_depth) == with_literal
    assert _deepest_nesting(schema({"type": "string", "format": "date"}), '"2024-01-31"', max_depth) == with_literal
    assert _deepest_nesting(schema({"type": "string", "maxLength": 5}), '"abc"', max_depth) == with_literal


_DEPTH_FORMATS = [
    {"type": "json_object"},
    {"type": "json_schema", "json_schema": {"schema": {
        "type": "object", "properties": {"a": {"type": "string"}, "n": {"$ref": "#"}}, "required": ["a"]}}},
    {"type": "json_schema", "json_schema": {"schema": {
        "type": "object", "properties": {"v": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#"}}},
        "required": ["kids"], "additionalProperties": False}}},
    {"type": "json_schema", "json_schema": {"schema": {"$ref": "#/$defs/a", "$defs": {
        "a": {"type": "object", "properties": {"b": {"$ref": "#/$defs/b"}}, "required": ["b"]},
        "b": {"type": "object", "properties": {"c": {"type": "array", "items": {"$ref": "#/$defs/a"}}}, "required": ["c"]}}}}},
]


@pytest.mark.parametrize("order", ["schema", "any"])
@pytest.mark.parametrize("fmt", _DEPTH_FORMATS, ids=["json_object", "optional-recursion", "array-recursion", "required-chain"])
def test_no_dead_end_at_the_depth_limit(fmt, order):
    """Random walks that open objects and arrays whenever they may, under small depth limits,
    never reach a point where no token is allowed before the value is complete: near the
    limit, a key or element whose value could not be finished there is not offered."""
    pieces = [bytes([b]) for b in range(32, 127)] + [b'{"', b'":', b'": {', b'": [', b"[{", b"},", b'"n', b'"a']
    vocab = constrain.Vocabulary.from_token_bytes([None] + pieces, eos_token_ids=[0])
    opening = {i + 1 for i, p in enumerate(pieces) if b"{" in p or b"[" in p}
    for max_depth in (1, 2, 3, 4, 5, 7):
        try:
            compiled = constrain.compile(fmt, vocab, max_depth=max_depth, cache=False, property_order=order,
                                         whitespace="compact")
        except ConstraintError:
            continue
        rng = random.Random(f"{fmt}:{order}:{max_depth}")
        for _ in range(25):
            m = compiled.matcher()
            if not m.allowed_token_ids().size:
                break  # nothing fits this limit at all (the root needs deeper nesting)
            for _ in range(300):
                if m.is_terminated():
                    break
                ids = m.allowed_token_ids()
                assert ids.size, (max_depth, order, m.text if hasattr(m, "text") else None)
                opens = [t for t in ids.tolist() if t in opening]
                t = rng.choice(opens) if opens and rng.random() < 0.7 else int(ids[rng.randrange(ids.size)])
                assert m.accept_token(t)


def test_a_depth_limit_too_small_for_any_output_is_a_clear_error():
    """When not even the shallowest output fits ``max_depth`` (an any-order object needs three
    nested rules under the root), compile says so instead of handing out an empty mask."""
    vocab = constrain.Vocabulary.from_token_bytes([None] + [bytes([b]) for b in range(32, 127)], eos_token_ids=[0])
    schema = {"type": "json_schema", "json_schema": {"schema": {
        "type": "object", "properties": {"v": {"type": "string"}}, "required": ["v"]}}}
    with pytest.raises(ConstraintError, match="max_depth=3 is too small"):
        constrain.compile(schema, vocab, max_depth=3, property_order="any", cache=False)
    with pytest.raises(ConstraintError, match="max_depth=1 is too small"):
        constrain.compile({"type": "json_object"}, vocab, max_depth=1, cache=False)
    m = constrain.compile(schema, vocab, max_depth=4, property_order="any", cache=False).matcher()
    assert m.accept_string('{"v": "x"}') and m.can_terminate()
    m = constrain.compile(schema, vocab, max_depth=2, cache=False).matcher()
    assert m.accept_string('{"v": "x"}') and m.can_terminate()
