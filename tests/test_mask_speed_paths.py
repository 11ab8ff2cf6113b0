"""The fast mask paths give exactly the brute-force masks.

The mask of a state is computed by a hybrid trie walk (plain-Python chains, sparse and dense numpy
levels), by the string "slicer" (plain string tokens taken wholesale where a simulation proves the
automaton reads all plain text, only the other tokens walked) and cached per matcher position under
the whitespace guard. Each is checked here against a per-token walk of the automaton, on the three
real tokenizer families, at many states reached by seeded random walks.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import constrain
from constrain.bitmask import bitmask_row_to_ids, mask_to_bitmask_row
from constrain.tokentrie import TokenTrie, plain_utf8_table, simulates_plain_utf8


def _schema(schema):
    return {"type": "json_schema", "json_schema": {"schema": schema}}


FORMATS = [
    _schema({"type": "object", "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}},
             "required": ["name", "tags"]}),
    _schema({"type": "object", "properties": {"a": {"type": "string", "minLength": 2, "maxLength": 6},
                                              "b": {"type": "string", "pattern": "^[a-z]+é?$"},
                                              "c": {"enum": ["red", "gr\"een", "blü"]}},
             "required": ["a", "b", "c"]}),
    _schema({"type": "object", "properties": {"id": {"type": "integer"}}, "additionalProperties": {"type": "string"}}),
    # Counted strings: far from both bounds (after the prefixes below), masks are shared.
    _schema({"type": "object", "properties": {"s": {"type": "string", "minLength": 20, "maxLength": 90},
                                              "t": {"type": "string", "maxLength": 400}},
             "additionalProperties": False}),
    {"type": "json_object"},
    {"type": "regex", "schema": r'"[^"\\]*"( [a-z]{1,3})?'},
    {"type": "regex", "schema": r"[a-zé ]*\.?"},
    {"type": "regex", "schema": r'"(ab|[^"\\a])[^"\\]*"'},
    {"type": "text"},
]


def _brute_automaton_mask(compiled, state: int) -> np.ndarray:
    """Tokens the automaton reads from ``state``, one ``automaton.walk`` per byte (prefixes memoized)."""
    automaton = compiled.automaton
    memo = {b"": state}

    def state_of(p: bytes) -> int:
        s = memo.get(p)
        if s is None:
            prev = state_of(p[:-1])
            s = -1 if prev < 0 else automaton.walk(prev, p[-1:])
            memo[p] = s
        return s

    allowed = np.zeros(compiled.vocab.size, dtype=bool)
    for tid, t in enumerate(compiled.vocab.token_bytes):
        if t and state_of(t) >= 0:
            allowed[tid] = True
    return allowed


def _expected_row(compiled, position: int) -> np.ndarray:
    state = compiled.automaton_state(position)
    allowed = _brute_automaton_mask(compiled, state)
    if compiled.automaton.is_accepting(state):
        allowed[list(compiled.vocab.eos_token_ids)] = True
    row = mask_to_bitmask_row(allowed)
    if compiled.max_whitespace is not None:
        row = row & compiled._ws_rows[position % (compiled.max_whitespace + 1)]
    return row


def _walk_positions(compiled, rng: random.Random, steps: int, prefixes: list[str]):
    """Matcher positions along random walks (uniform among allowed tokens), after each prefix."""
    for prefix in prefixes:
        m = compiled.matcher()
        if prefix and not m.accept_string(prefix):
            continue
        for _ in range(steps):
            yield m
            ids = m.allowed_token_ids()
            ids = ids[~np.isin(ids, compiled.vocab.eos_token_ids)]
            if not ids.size:
                break
            assert m.accept_token(int(ids[rng.randrange(ids.size)]))


PREFIXES = {
    "json": ["", '{"name": "x', '{"a": "', '{"zz": "ab', '{"id": 1, "q', '{"id": 1, "', '{"',
             '{"s": "abcdefghijklmnopq', '{"t": "' + "x" * 150],
    "regex": ["", '"ab', '"'],
    "text": [""],
}


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f["type"] + ":" + str(f.get("json_schema", f.get("schema", "")))[:30])
def test_masks_equal_brute_force(family, fmt):
    name, vocab, _ = family
    compiled = constrain.compile(fmt, vocab, cache=False)
    kind = "json" if fmt["type"].startswith("json") else fmt["type"]
    rng = random.Random(f"{name}:{fmt}")
    steps = 3 if name == "tekken" else 5
    checked = 0
    for m in _walk_positions(compiled, rng, steps, PREFIXES[kind]):
        position = m.state
        if m.is_terminated():
            continue
        expected = _expected_row(compiled, position)
        got = m.next_token_bitmask()
        assert np.array_equal(got, expected), (
            f"{name} {fmt} position {position}: extra {np.setdiff1d(bitmask_row_to_ids(got, vocab.size), bitmask_row_to_ids(expected, vocab.size))[:10]}"
            f" missing {np.setdiff1d(bitmask_row_to_ids(expected, vocab.size), bitmask_row_to_ids(got, vocab.size))[:10]}"
        )
        # The filled caller row is the same (numpy fast path, 2-D and 1-D).
        out = np.zeros((2, got.shape[0]), dtype=np.int32)
        m.fill_next_token_bitmask(out, 1)
        assert np.array_equal(out[1], expected) and not out[0].any()
        flat = np.zeros(got.shape[0], dtype=np.int32)
        m.fill_next_token_bitmask(flat)
        assert np.array_equal(flat, expected)
        # Spot-check the per-token rule (guard and EOS included) on a few ids.
        for t in rng.sample(range(vocab.size), 40):
            assert (m.is_token_allowed(t)) == bool(expected[t // 32] >> (t % 32) & 1)
        checked += 1
    assert checked >= 3


def test_plain_split_matches_python_utf8(family):
    """Plain tokens: no quote, backslash, control byte or DEL, and a strict UTF-8 prefix (Python's decoder)."""
    name, vocab, _ = family
    plain, rest = vocab.trie.plain_split
    producible = vocab.producible_bytes
    for tid, t in enumerate(vocab.token_bytes):
        expected = bool(t) and not any(b < 0x20 or b in (0x22, 0x5C, 0x7F) for b in t)
        if expected:
            try:
                t.decode("utf-8")
            except UnicodeDecodeError as exc:
                expected = exc.reason == "unexpected end of data" and all(producible[b] for b in t)
        assert plain[tid] == expected, (name, tid, t)
        if t and not expected:
            assert rest.token_node[tid] < rest.num_nodes  # every other token is in the rest trie


def test_plain_chars_counts_character_starts(family):
    """plain_chars (computed for the whole vocabulary at once) is each token's count of bytes
    that start a UTF-8 character; for a plain token, the characters it takes, counted here by
    Python's decoder."""
    name, vocab, _ = family
    counts = vocab.trie.plain_chars
    plain, _ = vocab.trie.plain_split
    assert counts.shape == (vocab.size,) and not counts.flags.writeable
    for tid, t in enumerate(vocab.token_bytes):
        assert counts[tid] == sum(1 for b in (t or b"") if b & 0xC0 != 0x80), (name, tid, t)
        if plain[tid]:
            # A token ending inside a character: that character counts as one.
            assert counts[tid] == len(t.decode("utf-8", errors="ignore")) + (t.decode("utf-8", "replace") != t.decode(
                "utf-8", "ignore")), (name, tid, t)


def test_simulation_refuses_counting_and_narrow_states():
    vocab = constrain.Vocabulary.from_token_bytes([None, b"a", b"ab", b'"', "é".encode(), b"\xc3", b"\xa9"], eos_token_ids=[0])
    table = plain_utf8_table(vocab.trie.producible_bytes)
    loop = constrain.compile({"type": "regex", "schema": r'[^"\\]*"'}, vocab, cache=False)
    assert simulates_plain_utf8(loop.automaton, loop.automaton.start, 0, table, {})
    counted = constrain.compile({"type": "regex", "schema": r'[^"\\]{0,3}"'}, vocab, cache=False)
    assert not simulates_plain_utf8(counted.automaton, counted.automaton.start, 0, table, {})
    ascii_only = constrain.compile({"type": "regex", "schema": r"[ -~]*"}, vocab, cache=False)
    assert not simulates_plain_utf8(ascii_only.automaton, ascii_only.automaton.start, 0, table, {})


def test_long_narrow_chains():
    """Runs of spaces far longer than the small-frontier threshold, and wide nodes under them."""
    tokens = [b" " * k for k in range(1, 80)] + [b" " * k + b"x" for k in range(0, 80, 3)]
    tokens += [b"  " + bytes([c]) for c in range(0x21, 0x7F)]
    vocab = constrain.Vocabulary.from_token_bytes([None] + tokens, eos_token_ids=[0])
    for pattern in [r" {0,50}x?", r" *[!-~]", r" {2}[a-z]"]:
        c = constrain.compile({"type": "regex", "schema": pattern}, vocab, cache=False)
        got = c.vocab.trie.walk(c.automaton, c._byte_class256, c.automaton.start)
        assert np.array_equal(got, _brute_automaton_mask(c, c.automaton.start)), pattern


def test_walk_from_roots_is_the_restriction():
    vocab = constrain.Vocabulary.from_token_bytes([None, b"a", b"ab", b"b", b"ba", b"c"], eos_token_ids=[0])
    c = constrain.compile({"type": "regex", "schema": r"[ab]+"}, vocab, cache=False)
    trie: TokenTrie = vocab.trie
    roots = trie.root_of_byte[[ord("b")]]
    got = trie.walk(c.automaton, c._byte_class256, c.automaton.start, roots)
    assert np.flatnonzero(got).tolist() == [3, 4]


# -- counted strings: counts far from both bounds share one mask --------------------------------
# Tokens of 1..9 characters (the longest is 10 bytes: the horizon), an escape, a two-byte
# character and tokens that close the string and go on into the array around it.
_COUNTING_TOKENS = [None, b'"', b"[", b"]", b",", b'",', b'"]', b'a"', b'aa",', b"\\n", "é".encode(), b"\xc3", b"\xa9"]
_COUNTING_TOKENS += [b"a" * k for k in range(1, 10)] + [b"ab" * 4 + "é".encode()]


def _counting_vocab() -> constrain.Vocabulary:
    return constrain.Vocabulary.from_token_bytes(_COUNTING_TOKENS, eos_token_ids=[0])


def _check_counted_walks(low: int, high: int | None, seed: int, walks: int = 4, steps: int = 40) -> bool:
    """Random walks through an array of ``low..high``-character strings; every mask must equal the
    brute-force one. Returns whether some state's mask was shared with an equivalent state."""
    vocab = _counting_vocab()
    bounds = {"minLength": low} if high is None else {"minLength": low, "maxLength": high}
    compiled = constrain.compile(_schema({"type": "array", "items": {"type": "string", **bounds}}), vocab, cache=False)
    rng = random.Random(seed)
    deep = '["' + "a" * (vocab.trie.max_depth + 2)  # a count past the horizon (when the bounds allow it)
    for _ in range(walks):
        for m in _walk_positions(compiled, rng, steps, ["", deep]):
            if m.is_terminated():
                continue
            assert np.array_equal(m.next_token_bitmask(), _expected_row(compiled, m.state)), (low, high, m.state)
    keys = getattr(compiled.automaton, "_mask_keys", {})
    return any(key[0] != same for key, same in keys.items())


@settings(max_examples=40, deadline=None)
@given(low=st.integers(0, 30), span=st.integers(3, 60), seed=st.integers(0, 2**16))
def test_counted_string_masks_equal_brute_force(low, span, seed):
    shared = _check_counted_walks(low, low + span, seed)
    horizon = _counting_vocab().trie.max_depth
    if span > 2 * horizon + 2 and low == 0:
        assert shared  # the walks go far enough from both bounds to share masks


def test_counted_string_without_upper_bound():
    # minLength above max_repeat (256): counted, levels capped at minLength.
    assert _check_counted_walks(260, None, 7, walks=2, steps=60)


@settings(max_examples=300, deadline=None)
@given(level=st.integers(0, 400), low=st.integers(0, 300), span=st.one_of(st.none(), st.integers(0, 200)),
       horizon=st.integers(1, 40))
def test_canonical_count_keeps_what_a_token_can_see(level, low, span, horizon):
    from constrain.grammar import _canonical_count

    high = None if span is None else low + span
    if high is not None:
        level = min(level, high)
    if high is None:
        level = min(level, low)  # unbounded counted strings stop counting at minLength
    same = _canonical_count(level, low, high, horizon)
    assert 0 <= same and (high is None or same <= high) and (high is not None or same <= low)
    for j in range(horizon + 1):  # j more characters written within one token
        assert (level + j >= low) == (same + j >= low)
        if high is not None:
            assert (level + j <= high) == (same + j <= high)


# -- the projected trie (dense passes over byte-class strings) ------------------------------------
@pytest.mark.parametrize("fmt", [f for f in FORMATS if f["type"] in ("regex", "json_object")] + [FORMATS[1]],
                         ids=lambda f: f["type"] + ":" + str(f.get("json_schema", f.get("schema", "")))[:30])
def test_projected_dense_passes_equal_brute_force(family, fmt, monkeypatch):
    """Every dense pass goes over the projected trie (built at once): the masks stay exact."""
    monkeypatch.setattr(TokenTrie, "PROJECT_AFTER_PASSES", 1)
    monkeypatch.setattr(TokenTrie, "PROJECT_AFTER_PASSES_LAZY", 1)
    from constrain.tokentrie import ProjectedTrie

    walks = []
    projected_walk = ProjectedTrie.walk
    monkeypatch.setattr(ProjectedTrie, "walk", lambda self, *a: walks.append(1) or projected_walk(self, *a))
    name, vocab, _ = family
    compiled = constrain.compile(fmt, vocab, cache=False)
    kind = "json" if fmt["type"].startswith("json") else fmt["type"]
    rng = random.Random(f"projected:{name}:{fmt}")
    checked = 0
    for m in _walk_positions(compiled, rng, 3, PREFIXES[kind]):
        if not m.is_terminated():
            assert np.array_equal(m.next_token_bitmask(), _expected_row(compiled, m.state)), (name, fmt, m.state)
            # The whole-vocabulary walk too (the mask above may have used the string slicer).
            state = compiled.automaton_state(m.state)
            walked = vocab.trie.walk(compiled.automaton, compiled._byte_class256, state)
            assert np.array_equal(walked, _brute_automaton_mask(compiled, state)), (name, fmt, state)
            checked += 1
    assert checked >= 3
    if kind == "regex":  # these patterns allow most tokens somewhere: dense passes happen
        assert walks, "no dense pass used the projected trie"


_PROJECTION_PATTERNS = [r"[a-c]{1,4}(x|yz)*", r"[^a]b?[ab]{2,5}", r"(ab|a)*c?", r"[a-z]+é?[0-9]{0,2}", r".{0,3}a"]


@settings(max_examples=60, deadline=None)
@given(tokens=st.lists(st.binary(min_size=1, max_size=6).filter(lambda b: b.isascii()) | st.sampled_from(
    [b"ab", b"abc", b"aaaa", b"zz", "é".encode(), b"\xc3", b"12", b"x"]), min_size=1, max_size=60, unique=True),
    pattern=st.sampled_from(_PROJECTION_PATTERNS))
def test_projected_trie_walk_is_the_byte_trie_walk(tokens, pattern):
    """On random small vocabularies, a dense walk over the projected trie gives the brute-force
    mask in every state of the regex's DFA."""
    vocab = constrain.Vocabulary.from_token_bytes([None] + tokens, eos_token_ids=[0])
    try:
        c = constrain.compile({"type": "regex", "schema": pattern}, vocab, cache=False)
    except constrain.ConstraintError:
        return  # no output of this vocabulary can match
    projected = c.vocab.trie.projection(c._byte_class256)
    projected = projected or c.vocab.trie.projection(c._byte_class256)  # built on the second ask
    assert projected is not None
    for state in range(c.automaton.num_states):
        trie = c.vocab.trie  # the walk's first level, as TokenTrie.walk hands it over
        first = trie.root_children
        nxt = c.automaton.flat_table[state * c.automaton.num_classes + c._byte_class256[trie.byte[first]]]
        got = projected.walk(c.automaton, 2, [first[nxt >= 0]], [nxt[nxt >= 0].astype(np.int64)])
        assert np.array_equal(got, _brute_automaton_mask(c, state)), (pattern, state)


@pytest.mark.parametrize("pattern", [r"[a-z]+@[a-z]+\.(com|org)", r'"[^"\\]*"', r"\d{1,3}(\.\d{1,3}){3}", r"."])
def test_projected_trie_merges_exactly_the_equal_class_strings(family, pattern):
    """ProjectedTrie on a real vocabulary: each projected node is one (parent, class) pair, and
    every trie node maps to the node of its parent's projection and its own class, so two
    prefixes share a projected node exactly when their class strings are equal."""
    from constrain.tokentrie import ProjectedTrie

    _, vocab, _ = family
    c = constrain.compile({"type": "regex", "schema": pattern}, vocab, cache=False)
    trie = vocab.trie
    classes = np.asarray(trie.edge_classes(c._byte_class256), dtype=np.int64)
    projected = ProjectedTrie(trie, classes)
    node = projected.node[: trie.num_nodes]
    assert node[0] == 0
    assert np.array_equal(projected.cls[node[1:]], classes[1:])
    assert np.array_equal(projected.parent[node[1:]], node[trie.parent[1:]])
    pairs = set(zip(projected.parent[1:].tolist(), projected.cls[1:].tolist()))
    assert len(pairs) == projected.num_nodes - 1  # no pair twice
    assert np.array_equal(np.unique(node), np.arange(projected.num_nodes))  # every node used
    depth = np.zeros(projected.num_nodes, dtype=np.int64)
    depth[node] = trie.depth
    assert np.array_equal(depth[node], trie.depth)  # a projected node holds prefixes of one length
    starts = projected.level_start
    for d in range(len(starts) - 1):  # levels hold their depth, breadth-first
        assert (depth[starts[d]:starts[d + 1]] == d).all()


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string", "maxLength": 3},
                                      "c": {"type": "string", "pattern": "^[a-z]*$"}, "d": {"enum": ["xy", "é\"z"]}}},
    {"type": "array", "items": {"type": "string", "format": "date"}},
    {"type": "object", "additionalProperties": {"type": "string", "minLength": 2}},
])
def test_a_rule_reading_plain_text_means_every_plain_token(family, schema):
    """GrammarAutomaton.top_reads_plain (the slicer's proof on a string rule's own states,
    shared by every context) holds only where every plain token is read; and it does hold
    inside plain strings."""
    name, vocab, _ = family
    compiled = constrain.compile(_schema(schema), vocab, cache=False)
    automaton, trie = compiled.automaton, vocab.trie
    plain, _ = trie.plain_split
    plain_ids = np.flatnonzero(plain)
    sample = plain_ids[:: max(1, plain_ids.size // 400)]
    rng = random.Random(f"{name}:{schema}")
    proved = 0
    for prefix in ['{"a": "', '{"b": "', '{"c": "', '{"d": "', '["', '{"k": "', '{"k": "x', '{"']:
        m = compiled.matcher()
        if not m.accept_string(prefix):
            continue
        for _ in range(4):
            state = compiled.automaton_state(m.state)
            if state >= 0 and automaton.top_reads_plain(state, 0, trie.plain_utf8):
                proved += 1
                for tid in sample.tolist():
                    assert automaton.walk(state, vocab.token_bytes[tid]) >= 0, (prefix, vocab.token_bytes[tid])
            ids = m.allowed_token_ids()
            ids = ids[~np.isin(ids, vocab.eos_token_ids)]
            if not ids.size:
                break
            assert m.accept_token(int(ids[rng.randrange(ids.size)]))
    if "additionalProperties" in schema or "a" in schema.get("properties", {}):
        assert proved


@pytest.mark.parametrize("schema, prefixes", [
    ({"type": "object", "properties": {"s": {"type": "string", "minLength": 2, "maxLength": 6}}},
     ['{"s": "', '{"s": "a', '{"s": "ab', '{"s": "é中', '{"s": "abcde', '{"s": "abcdef']),
    ({"type": "array", "items": {"type": "string", "maxLength": 40}},
     ['["', '["' + "x" * 30, '["' + "é" * 37, '["' + "y" * 39, '["a", "' + "z" * 20]),
])
def test_counted_string_budgets_equal_brute_force(family, schema, prefixes):
    """Inside a counted string near its bound, plain tokens are taken by character count
    (GrammarAutomaton.counted_budgets) and the rest walked: the mask is the per-token walk's,
    at every budget from several left down to none."""
    name, vocab, _ = family
    compiled = constrain.compile(_schema(schema), vocab, cache=False)
    automaton, plain_table = compiled.automaton, vocab.trie.plain_utf8
    used = 0
    for prefix in prefixes:
        m = compiled.matcher()
        assert m.accept_string(prefix), prefix
        state = compiled.automaton_state(m.state)
        budgets = automaton.counted_budgets(state, plain_table)
        assert budgets is not None, prefix
        used += 1
        got = compiled._automaton_mask(state)
        expected = _brute_automaton_mask(compiled, state)
        if automaton.is_accepting(state):
            expected[list(vocab.eos_token_ids)] = True
        assert np.array_equal(got, expected), (prefix, np.flatnonzero(got & ~expected)[:10],
                                               np.flatnonzero(expected & ~got)[:10])
    assert used == len(prefixes)
