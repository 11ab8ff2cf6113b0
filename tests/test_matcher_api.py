"""The public matcher API on small, hand-made vocabularies (fast; no tokenizer files needed)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import constrain
from constrain.bitmask import bitmask_row_to_ids, ids_to_bitmask_row

# id 0 is EOS, id 1 a special token that must never be generated; the rest are text.
TOKENS = [None, None, b"a", b"b", b"ab", b"abc", b"1", b"12", b"-", b"\xea", b"\xb0\x80", b"\xea\xb0\x80", b" ", b"c"]
EOS = 0


@pytest.fixture()
def vocab() -> constrain.Vocabulary:
    return constrain.Vocabulary.from_token_bytes(TOKENS, eos_token_ids=[EOS])


def ids_of(vocab, *pieces: bytes) -> set[int]:
    return {i for i, t in enumerate(vocab.token_bytes) if t in pieces}


def test_allowed_ids_follow_the_regex_and_eos_only_when_complete(vocab):
    m = constrain.compile({"type": "regex", "schema": "ab?c?"}, vocab).matcher()
    assert set(m.allowed_token_ids().tolist()) == ids_of(vocab, b"a", b"ab", b"abc")
    assert m.accept_token(2)  # "a"
    allowed = set(m.allowed_token_ids().tolist())
    assert allowed == ids_of(vocab, b"b", b"c") | {EOS}
    assert m.can_terminate()
    assert m.accept_token(EOS)
    assert m.is_terminated()
    # A terminated matcher only lets EOS through (padding for finished batch rows) and accepts nothing.
    assert m.allowed_token_ids().tolist() == [EOS]
    assert not m.accept_token(EOS)


def test_refused_token_leaves_state_unchanged(vocab):
    m = constrain.compile({"type": "regex", "schema": r"\d+"}, vocab).matcher()
    before = m.next_token_bitmask().copy()
    assert not m.accept_token(2)  # "a"
    assert not m.accept_token(EOS)  # output incomplete
    assert not m.accept_token(1)  # special token, never text
    assert np.array_equal(before, m.next_token_bitmask())
    assert m.num_steps == 0


@pytest.mark.parametrize("bad", [-1, len(TOKENS), 10**9, "x", None])
def test_out_of_range_token_is_a_typed_error(vocab, bad):
    m = constrain.compile({"type": "regex", "schema": "a"}, vocab).matcher()
    with pytest.raises(constrain.InvalidTokenError) as info:
        m.accept_token(bad)
    assert isinstance(info.value, constrain.ConstraintError) and isinstance(info.value, ValueError)
    assert "token id" in str(info.value)


def test_multibyte_character_split_across_tokens(vocab):
    # '가' is EA B0 80: reachable as one token or as the partial tokens EA + B0 80.
    c = constrain.compile({"type": "regex", "schema": "[가-힣]"}, vocab)
    m = c.matcher()
    assert set(m.allowed_token_ids().tolist()) == ids_of(vocab, b"\xea", b"\xea\xb0\x80")
    assert m.accept_token(TOKENS.index(b"\xea"))
    assert set(m.allowed_token_ids().tolist()) == ids_of(vocab, b"\xb0\x80")
    assert m.accept_token(TOKENS.index(b"\xb0\x80"))
    assert m.can_terminate()


def test_rollback_and_copy(vocab):
    c = constrain.compile({"type": "regex", "schema": "(ab|1|-)*"}, vocab)
    m = c.matcher()
    masks = [m.next_token_bitmask().copy()]
    seq = [TOKENS.index(b"a"), TOKENS.index(b"b"), TOKENS.index(b"1"), TOKENS.index(b"-")]
    for t in seq:
        assert m.accept_token(t)
        masks.append(m.next_token_bitmask().copy())
    m.rollback(3)
    assert np.array_equal(m.next_token_bitmask(), masks[1])
    for k, t in enumerate(seq[1:], start=2):
        assert m.accept_token(t)
        assert np.array_equal(m.next_token_bitmask(), masks[k])
    clone = m.copy()
    assert clone.accept_token(TOKENS.index(b"a"))
    assert np.array_equal(m.next_token_bitmask(), masks[-1])
    assert m.num_steps == 4 and clone.num_steps == 5
    with pytest.raises(constrain.ConstraintError):
        m.rollback(5)
    m.reset()
    assert np.array_equal(m.next_token_bitmask(), masks[0])


def test_rollback_over_eos_unterminates(vocab):
    m = constrain.compile({"type": "regex", "schema": "a"}, vocab).matcher()
    assert m.accept_token(2) and m.accept_token(EOS) and m.is_terminated()
    m.rollback(1)
    assert not m.is_terminated() and m.can_terminate()


# Every single byte as a token (plus EOS at id 256): any UTF-8 text can be produced.
BYTE_VOCAB = constrain.Vocabulary.from_token_bytes([bytes([b]) for b in range(256)] + [None], eos_token_ids=[256])


def test_accept_string():
    m = constrain.compile({"type": "regex", "schema": r"\d{3}-[a-c]+"}, BYTE_VOCAB).matcher()
    assert not m.accept_string("12x")
    assert m.num_steps == 0
    assert m.accept_string("123-")
    assert m.accept_string(b"ab")
    assert m.can_terminate()
    m.rollback(1)
    assert not m.can_terminate()


def test_jump_forward():
    c = constrain.compile({"type": "regex", "schema": r"name: (Ann|Bob)\.|name: 가+"}, BYTE_VOCAB)
    m = c.matcher()
    assert m.find_jump_forward_string() == "name: "
    assert m.accept_string("name: A")
    assert m.find_jump_forward_string() == "nn."
    assert m.accept_string("nn.")
    assert m.find_jump_forward_string() == ""  # complete: EOS is a choice
    m2 = constrain.compile({"type": "regex", "schema": "가나|가다"}, BYTE_VOCAB).matcher()
    # The first character is forced, then only a common partial byte: the string stops at a whole char.
    assert m2.find_jump_forward_string() == "가"
    assert m2.find_jump_forward_bytes() == "가".encode() + b"\xeb"


def test_text_format_allows_every_text_token(vocab):
    for rf in (None, {"type": "text"}):
        m = constrain.compile(rf, vocab).matcher()
        expected = {i for i, t in enumerate(TOKENS) if t} | {EOS}
        assert set(m.allowed_token_ids().tolist()) == expected


def test_bitmask_layout_and_fill(vocab):
    c = constrain.compile({"type": "regex", "schema": "1|12"}, vocab)
    m = c.matcher()
    bm = constrain.allocate_token_bitmask(2, vocab.size)
    assert bm.shape == (2, 1) and bm.dtype == np.int32
    m.fill_next_token_bitmask(bm, 1)
    word = int(bm[1, 0]) & 0xFFFFFFFF
    assert {t for t in range(32) if word >> t & 1} == ids_of(vocab, b"1", b"12")
    assert bm[0, 0] == -1  # untouched row: everything allowed


def test_bitmask_conversions_roundtrip():
    rng = np.random.default_rng(0)
    for size in (1, 31, 32, 33, 1000, 49152):
        ids = np.unique(rng.integers(0, size, size=min(size, 50)))
        row = ids_to_bitmask_row(ids, size)
        assert row.shape == ((size + 31) // 32,)
        assert np.array_equal(bitmask_row_to_ids(row, size), ids)
        for t in ids[:5]:
            assert (int(row[t // 32]) >> (t % 32)) & 1


def test_apply_bitmask_numpy_and_torch(vocab):
    c = constrain.compile({"type": "regex", "schema": "a|b"}, vocab)
    bm = constrain.allocate_token_bitmask(1, vocab.size)
    c.matcher().fill_next_token_bitmask(bm)
    logits = np.zeros((1, vocab.size + 3), dtype=np.float32)  # wider than the vocabulary
    constrain.apply_token_bitmask_inplace(logits, bm)
    assert set(np.flatnonzero(np.isfinite(logits[0])).tolist()) == ids_of(vocab, b"a", b"b")
    torch = pytest.importorskip("torch")
    t_logits = torch.zeros(vocab.size)
    constrain.apply_token_bitmask_inplace(t_logits, torch.from_numpy(bm[0]))
    assert set(torch.nonzero(torch.isfinite(t_logits)).flatten().tolist()) == ids_of(vocab, b"a", b"b")
    t_bm = constrain.allocate_token_bitmask(1, vocab.size, backend="torch")
    c.matcher().fill_next_token_bitmask(t_bm)
    assert np.array_equal(t_bm.numpy(), bm)


def test_eos_token_override(vocab):
    v2 = vocab.with_eos_token_ids([1])
    m = constrain.compile({"type": "regex", "schema": "a"}, v2).matcher()
    m.accept_token(2)
    assert m.allowed_token_ids().tolist() == [1]
    with pytest.raises(constrain.InvalidTokenError):
        vocab.with_eos_token_ids([99])


def test_bytes_no_token_holds_are_pruned(vocab):
    # "3" is in no token: "1|3" can only produce "1", and "3" alone is refused at compile time.
    m = constrain.compile({"type": "regex", "schema": "13|1"}, vocab).matcher()
    assert m.accept_token(TOKENS.index(b"1")) and m.allowed_token_ids().tolist() == [EOS]
    with pytest.raises(constrain.InvalidRegexError, match="no output of this vocabulary"):
        constrain.compile({"type": "regex", "schema": "3"}, vocab)


def test_empty_tokens_are_never_generated():
    v = constrain.Vocabulary.from_token_bytes([b"", b"a", None], eos_token_ids=[2])
    m = constrain.compile({"type": "regex", "schema": "a*"}, v).matcher()
    assert m.allowed_token_ids().tolist() == [1, 2]


def test_processor_hand_written_loop(vocab):
    c = constrain.compile({"type": "regex", "schema": "ab-12"}, vocab)
    proc = constrain.ConstraintLogitsProcessor(c)
    rng = np.random.default_rng(1)
    ids = np.array([[5, 5, 5]])  # a prompt of three ids
    for _ in range(10):
        logits = rng.normal(size=(1, vocab.size)).astype(np.float32)
        proc(ids, logits)
        nxt = int(np.argmax(logits[0]))
        ids = np.concatenate([ids, [[nxt]]], axis=1)
        if nxt == EOS:
            break
    assert ids[0, -1] == EOS
    assert vocab.decode_bytes(ids[0, 3:-1]) == b"ab-12"


# -- the trie walk agrees with a direct walk of every token ---------------------------------
PATTERNS = [r"\d{1,3}(\.\d+)?", r"[a-c]+ ?", r"(ab|abc)*-", r"[^a]*", r"가?[1-2]+", r"(a|\xea\xb0)b?", ".{2,4}"]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    tokens=st.lists(st.binary(min_size=1, max_size=5), min_size=1, max_size=60),
    pattern=st.sampled_from(PATTERNS),
    walk=st.lists(st.integers(min_value=0, max_value=10**6), max_size=8),
)
def test_mask_equals_brute_force(tokens, pattern, walk):
    alphabet = [b"a", b"b", b"c", b"1", b"2", b".", b"-", b" ", "가".encode(), b"\xea", b"\xb0\x80"]
    vocab = constrain.Vocabulary.from_token_bytes([None] + alphabet + tokens, eos_token_ids=[0])
    c = constrain.compile({"type": "regex", "schema": pattern}, vocab, cache=False)
    m = c.matcher()
    accepted: list[int] = []
    for choice in walk + [None]:
        state = m.state
        expected = {i for i, t in enumerate(vocab.token_bytes) if t and c.dfa.walk(state, t) >= 0}
        if c.dfa.accepting[state]:
            expected.add(0)
        allowed = m.allowed_token_ids().tolist()
        assert set(allowed) == expected
        assert all(m.is_token_allowed(t) == (t in expected) for t in range(vocab.size))
        if choice is None or not allowed:
            break
        t = allowed[choice % len(allowed)]
        assert m.accept_token(t)
        if m.is_terminated():
            assert c.dfa.fullmatch(vocab.decode_bytes(accepted))
            break
        accepted.append(t)


def test_random_walk_outputs_fullmatch(vocab):
    rng = np.random.default_rng(2)
    pattern = r"(ab|c)+-?\d{0,2}"
    c = constrain.compile({"type": "regex", "schema": pattern}, vocab)
    for _ in range(30):
        m = c.matcher()
        out = []
        for _ in range(40):
            allowed = m.allowed_token_ids()
            assert allowed.size, "a live state always allows something"
            t = int(rng.choice(allowed))
            assert m.accept_token(t)
            if m.is_terminated():
                assert re.fullmatch(pattern, vocab.decode_bytes(out).decode())
                break
            out.append(t)


def test_processor_follows_reordered_rows(vocab):
    """Beam search reorders and duplicates rows: each row's mask must follow its own tokens."""
    c = constrain.compile({"type": "regex", "schema": "ab-12|1-ab"}, vocab)
    proc = constrain.ConstraintLogitsProcessor(c)
    a, one, b, dash = TOKENS.index(b"a"), TOKENS.index(b"1"), TOKENS.index(b"b"), TOKENS.index(b"-")
    prompt = [[5, 5], [5, 5]]
    proc(np.array(prompt), np.zeros((2, vocab.size), dtype=np.float32))
    proc(np.array([[5, 5, a], [5, 5, one]]), np.zeros((2, vocab.size), dtype=np.float32))
    # Swap the rows and duplicate row 0's parent into row 1 (as beam search does).
    for ids, expected in (
        ([[5, 5, one, dash], [5, 5, a, b]], [{a, TOKENS.index(b"ab")}, {dash}]),
        ([[5, 5, one, dash, a], [5, 5, one, dash, TOKENS.index(b"ab")]], [{b}, {EOS}]),
    ):
        logits = np.zeros((2, vocab.size), dtype=np.float32)
        proc(np.array(ids), logits)
        for row, allowed in enumerate(expected):
            assert set(np.flatnonzero(np.isfinite(logits[row])).tolist()) == {t for t in allowed if t is not None}, (ids, row)


@pytest.mark.parametrize("response_format", [
    {"type": "regex", "schema": "(ab|a)+c?"},
    {"type": "json_schema", "json_schema": {"schema": {"type": "array", "items": {"type": "integer"}}}},
])
def test_clear_mask_cache_drops_rows_and_masks_come_back_the_same(vocab, response_format):
    if response_format["type"] != "regex":
        vocab = constrain.Vocabulary.from_token_bytes([None, b"[", b"]", b",", b", ", b" ", b"1", b"12", b"-", b"2"],
                                                      eos_token_ids=[0])
    compiled = constrain.compile(response_format, vocab, cache=False)
    m = compiled.matcher()
    text = b"abab" if response_format["type"] == "regex" else b"[12, -1"
    before = []
    assert m.accept_string(text[:1])
    held = m.next_token_bitmask()  # a row handed out before the clear
    held_copy = held.copy()
    for k in range(1, len(text) + 1):
        m2 = compiled.matcher()
        assert m2.accept_string(text[:k])
        before.append(m2.next_token_bitmask().copy())
    assert compiled._mask_cache  # noqa: SLF001 - the rows above were cached
    compiled.clear_mask_cache()
    assert not compiled._mask_cache and not compiled._state_rows  # noqa: SLF001
    assert np.array_equal(held, held_copy)  # rows handed out stay valid
    for k in range(1, len(text) + 1):
        m2 = compiled.matcher()
        assert m2.accept_string(text[:k])
        assert np.array_equal(m2.next_token_bitmask(), before[k - 1])
