"""Regex constraints on the three real tokenizer families: soundness, completeness, rollback, copy.

For every tokenizer family (SmolLM2 byte-level BPE, Mistral tekken, Mistral SentencePiece v3) and
every regex of ``regex_corpus.REGEX_CORPUS``:

* soundness: seeded random walks through the token masks never get stuck, every chosen token is
  accepted, sampled disallowed tokens are refused without changing the state, and every walk that
  ends with EOS spells UTF-8 text that the independent oracle (Python ``re``) fullmatches;
* completeness: strings drawn by hypothesis from the oracle's language are accepted byte-wise
  (``accept_string``) and token by token along the tokenizer's canonical tokenization, with EOS
  allowed at the end;
* ``rollback(k)`` + re-accepting gives back identical states and masks, ``copy()`` is independent.
"""

from __future__ import annotations

import functools
import random
import re
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import constrain
from regex_corpus import REGEX_CORPUS, generator_regex, oracle_regex

WALKS_PER_REGEX = 6
UNIFORM_STEPS = 64  # tokens chosen uniformly among the allowed ones
FINISH_STEPS = 64  # then: steer towards acceptance (see _finishing_choice)
DISALLOWED_SAMPLE = 6  # disallowed ids checked against accept_token at every step
SAMPLES_PER_REGEX = 8  # hypothesis strings per regex for completeness

CASES = [pytest.param(name, pattern, id=name) for name, pattern in REGEX_CORPUS]

# (family, regex name) -> (walks ended during the uniform phase, walks ended in all, walks)
WALK_STATS: dict[tuple[str, str], tuple[int, int, int]] = {}
# (family, how) -> count: how canonical tokenizations were obtained (see canonical_ids)
TOKENIZATION_STATS: dict[tuple[str, str], int] = {}


@pytest.fixture(scope="module", autouse=True)
def _report_stats():
    yield
    if not WALK_STATS:
        return
    lines = ["", "regex random walks (uniform phase ended / ended in all / walks):"]
    by_family: dict[str, list[int]] = {}
    for (fam, _), (u, e, n) in WALK_STATS.items():
        agg = by_family.setdefault(fam, [0, 0, 0])
        agg[0] += u
        agg[1] += e
        agg[2] += n
    for fam, (u, e, n) in sorted(by_family.items()):
        lines.append(f"  {fam:14s} uniform {u}/{n} = {u / n:.0%}   in all {e}/{n} = {e / n:.0%}")
    if TOKENIZATION_STATS:
        lines.append("canonical tokenizations: " + ", ".join(
            f"{fam}:{how}={k}" for (fam, how), k in sorted(TOKENIZATION_STATS.items())
        ))
    print("\n".join(lines))


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def oracle_of(pattern: str) -> re.Pattern[str]:
    return oracle_regex(pattern)


def compiled_for(vocab: constrain.Vocabulary, pattern: str) -> constrain.CompiledConstraint:
    return constrain.compile({"type": "regex", "schema": pattern}, vocab)


def bit(row: np.ndarray, token_id: int) -> bool:
    return bool((int(row[token_id >> 5]) >> (token_id & 31)) & 1)


@functools.lru_cache(maxsize=None)
def _single_byte_tokens(vocab: constrain.Vocabulary) -> dict[int, int]:
    """byte value -> one token id spelling exactly that byte (tekken and SentencePiece have all
    256; the SmolLM2 GGUF tokenizer lacks 21 byte values, see test_unproducible_bytes_*)."""
    found: dict[int, int] = {}
    for tid, data in enumerate(vocab.token_bytes):
        if data is not None and len(data) == 1 and data[0] not in found:
            found[data[0]] = tid
    return found


@functools.lru_cache(maxsize=None)
def _bytes_in_tokens(vocab: constrain.Vocabulary) -> frozenset[int]:
    seen: set[int] = set()
    for data in vocab.token_bytes:
        if data:
            seen.update(data)
    return frozenset(seen)


_DISTANCES: dict[tuple[int, int], tuple[object, object, list[int]]] = {}


def _distance_to_accept(dfa, vocab: constrain.Vocabulary) -> list[int]:
    """Fewest single-byte tokens from each DFA state to an accepting state (reverse BFS)."""
    hit = _DISTANCES.get((id(dfa), id(vocab)))
    if hit is not None and hit[0] is dfa and hit[1] is vocab:
        return hit[2]
    table = dfa.table
    n = table.shape[0]
    usable_classes = sorted({int(dfa.byte_class[b]) for b in _single_byte_tokens(vocab)})
    preds: list[set[int]] = [set() for _ in range(n)]
    for s in range(n):
        row = table[s]
        for c in usable_classes:
            t = int(row[c])
            if t >= 0:
                preds[t].add(s)
    inf = 1 << 30
    dist = [inf] * n
    frontier = [s for s in range(n) if dfa.accepting[s]]
    for s in frontier:
        dist[s] = 0
    while frontier:
        nxt = []
        for t in frontier:
            for s in preds[t]:
                if dist[s] == inf:
                    dist[s] = dist[t] + 1
                    nxt.append(s)
        frontier = nxt
    _DISTANCES[(id(dfa), id(vocab))] = (dfa, vocab, dist)
    return dist


def _finishing_choice(m: constrain.Matcher, allowed: np.ndarray, rng: random.Random) -> int:
    """After the uniform phase: EOS when allowed, else a token that gets closest to acceptance.

    Candidates are a random sample of the allowed tokens plus every allowed single-byte token; the
    distance is counted in single-byte tokens, so while it is finite it strictly decreases at each
    step and the walk ends.
    """
    compiled = m.compiled
    eos = compiled.vocab.eos_token_ids[0]
    if m.can_terminate():
        return eos
    dist = _distance_to_accept(compiled.dfa, compiled.vocab)
    row = m.next_token_bitmask()
    candidates = {int(allowed[rng.randrange(len(allowed))]) for _ in range(min(300, len(allowed)))}
    candidates.update(t for t in _single_byte_tokens(compiled.vocab).values() if bit(row, t))
    best = None
    best_d = None
    for t in sorted(candidates):
        nxt = compiled.next_state(m.state, t)
        if nxt < 0:
            continue
        d = dist[nxt]
        if best_d is None or d < best_d or (d == best_d and rng.random() < 0.5):
            best, best_d = t, d
    assert best is not None
    return best


def _disallowed_sample(allowed: np.ndarray, vocab_size: int, rng: random.Random, k: int) -> list[int]:
    out: list[int] = []
    tries = 0
    while len(out) < k and tries < 20 * k:
        tries += 1
        t = rng.randrange(vocab_size)
        i = int(np.searchsorted(allowed, t))
        if i < len(allowed) and allowed[i] == t:
            continue
        out.append(t)
    return out


def random_walk(compiled: constrain.CompiledConstraint, seed: int, check_mask: bool = True):
    """One seeded walk; returns (token ids incl. a final EOS if it ended, ended_in_uniform_phase).

    Asserts on the way: a non-empty mask, the chosen token accepted, and (check_mask) sampled
    disallowed ids (EOS included when not allowed) refused by accept_token without any state change.
    """
    rng = random.Random(seed)
    m = compiled.matcher()
    vocab = compiled.vocab
    eos = vocab.eos_token_ids[0]
    ids: list[int] = []
    for step in range(UNIFORM_STEPS + FINISH_STEPS):
        allowed = m.allowed_token_ids()
        assert len(allowed) > 0, f"stuck: no token allowed after {vocab.decode_bytes(ids)!r}"
        assert (eos in allowed) == m.can_terminate()
        if check_mask:
            state, steps = m.state, m.num_steps
            probe = _disallowed_sample(allowed, vocab.size, rng, DISALLOWED_SAMPLE)
            if not m.can_terminate():
                probe.append(eos)
            for t in probe:
                assert not m.is_token_allowed(t)
                assert m.accept_token(t) is False, (t, vocab.token_bytes[t], vocab.decode_bytes(ids))
                assert m.state == state and m.num_steps == steps
        if step < UNIFORM_STEPS:
            t = int(allowed[rng.randrange(len(allowed))])
        else:
            t = _finishing_choice(m, allowed, rng)
        assert m.accept_token(t), (t, vocab.token_bytes[t])
        ids.append(t)
        if m.is_terminated():
            assert t in vocab.eos_token_ids
            return ids, step < UNIFORM_STEPS
    return ids, False


def canonical_ids(family_name: str, vocab: constrain.Vocabulary, encode, s: str) -> tuple[list[int] | None, str]:
    """The tokenizer's own tokenization of ``s`` (exact bytes), and how it was obtained.

    Byte-level BPE (SmolLM2, tekken) round-trips exactly. SentencePiece always prepends its dummy
    prefix '▁' (a space) to the text; a model continuing a constrained output would not produce it,
    so: if the first piece is the bare '▁', drop it; if the '▁' merged into the first piece
    ('▁abc'), tokenize after a newline sentinel instead (a byte-fallback piece that merges with
    nothing), i.e. how SentencePiece tokenizes ``s`` mid-text, and drop the sentinel's pieces.
    """
    data = s.encode("utf-8")
    ids = [int(t) for t in encode(s)]
    got = vocab.decode_bytes(ids)
    if got == data:
        return ids, "exact"
    if family_name == "sentencepiece" and got == b" " + data:
        if ids and vocab.token_bytes[ids[0]] == b" ":
            return ids[1:], "dummy-prefix-dropped"
        ids2 = [int(t) for t in encode("\n" + s)]
        for k in range(len(ids2) + 1):
            head = vocab.decode_bytes(ids2[:k])
            if head == b" \n":
                if vocab.decode_bytes(ids2[k:]) == data:
                    return ids2[k:], "after-sentinel"
                break
            if len(head) > 2:
                break
    return None, f"no exact round trip ({got!r} for {data!r})"


@functools.lru_cache(maxsize=None)
def corpus_samples(pattern: str) -> tuple[str, ...]:
    """A few deterministic strings from the oracle's language (hypothesis from_regex)."""
    out: list[str] = []

    @settings(
        max_examples=4 * SAMPLES_PER_REGEX,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.from_regex(generator_regex(pattern), fullmatch=True))
    def collect(s):
        if not any(0xD800 <= ord(c) <= 0xDFFF for c in s) and s not in out:
            out.append(s)

    collect()
    # hypothesis starts from the simplest strings; keep the first two and the longest others
    head, tail = out[:2], sorted(out[2:], key=len, reverse=True)
    return tuple(head + tail[: SAMPLES_PER_REGEX - len(head)])


# --------------------------------------------------------------------------------------------
# soundness
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, pattern", CASES)
def test_random_walks_are_sound(family, name, pattern, record_property):
    fam, vocab, _ = family
    compiled = compiled_for(vocab, pattern)
    oracle = oracle_of(pattern)
    eos_ids = set(vocab.eos_token_ids)
    ended_uniform = ended = 0
    for w in range(WALKS_PER_REGEX):
        seed = w * 1_000_003 + zlib.crc32(f"{fam}/{name}".encode())
        ids, in_uniform = random_walk(compiled, seed)
        if ids and ids[-1] in eos_ids:
            ended += 1
            ended_uniform += in_uniform
            data = vocab.decode_bytes(ids[:-1])
            text = data.decode("utf-8")  # strict: the walk must spell valid UTF-8
            assert oracle.fullmatch(text), (fam, name, seed, text)
    WALK_STATS[(fam, name)] = (ended_uniform, ended, WALKS_PER_REGEX)
    record_property("uniform_walks_ended", f"{ended_uniform}/{WALKS_PER_REGEX}")
    # the finishing phase always reaches acceptance (distance strictly decreases)
    assert ended == WALKS_PER_REGEX


EXHAUSTIVE_CASES = [c for c in CASES if c.id in (
    "iso_date", "email", "phone_us", "csv_line", "hangul", "emoji_literal", "greetings_scripts",
    "negated_class", "dot_bounded", "whitespace_words", "lazy_tag", "optional_empty",
)]


@pytest.mark.parametrize("name, pattern", EXHAUSTIVE_CASES)
def test_mask_equals_accept_token_over_whole_vocabulary(family, name, pattern):
    """At the start and after 1 and 3 tokens of a walk, the mask is exactly {t : next_state != -1}
    over every id of the vocabulary, and accept_token agrees on a stride of ids."""
    _, vocab, _ = family
    compiled = compiled_for(vocab, pattern)
    walk, _ = random_walk(compiled, seed=99, check_mask=False)
    m = compiled.matcher()
    checked = 0
    for k in range(4):
        if m.is_terminated():
            break
        if k in (0, 1, 3):
            state = m.state
            allowed = set(m.allowed_token_ids().tolist())
            by_walk = {t for t in range(vocab.size) if compiled.next_state(state, t) != -1}
            assert allowed == by_walk, (k, sorted(allowed ^ by_walk)[:10])
            steps = m.num_steps
            for t in range(k, vocab.size, 211):
                assert m.accept_token(t) == (t in allowed)
                if m.num_steps > steps:
                    m.rollback(1)
                assert m.state == state
            checked += 1
        if k < len(walk):
            assert m.accept_token(walk[k])
    assert checked >= 1


# --------------------------------------------------------------------------------------------
# completeness
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, pattern", CASES)
def test_oracle_strings_are_reachable(family, name, pattern):
    fam, vocab, encode = family
    compiled = compiled_for(vocab, pattern)
    eos = vocab.eos_token_ids[0]
    samples = corpus_samples(pattern)
    assert samples, "hypothesis produced no sample"
    for s in samples:
        assert oracle_of(pattern).fullmatch(s)
        spellable = set(s.encode("utf-8")) <= _bytes_in_tokens(vocab)
        # byte-wise; a string holding a byte that no token holds cannot be generated, and the
        # compiled automaton drops such bytes (so no matcher is stranded): it must be refused.
        m = compiled.matcher()
        if not spellable:
            assert not (m.accept_string(s) and m.can_terminate()), (fam, s)
            TOKENIZATION_STATS[(fam, "unspellable")] = TOKENIZATION_STATS.get((fam, "unspellable"), 0) + 1
            continue
        assert m.accept_string(s), (fam, s)
        assert m.can_terminate(), (fam, s)
        assert eos in m.allowed_token_ids()
        assert m.accept_token(eos) and m.is_terminated()
        # token by token, along the canonical tokenization
        if fam == "sentencepiece" and "\u2581" in s:
            # s holds a literal '▁' (U+2581), which SentencePiece reads as its space symbol: no
            # tokenization spells s. The byte-wise check above still covers s.
            TOKENIZATION_STATS[(fam, "untokenizable")] = TOKENIZATION_STATS.get((fam, "untokenizable"), 0) + 1
            continue
        ids, how = canonical_ids(fam, vocab, encode, s)
        key = (fam, how if ids is not None else "failed")
        TOKENIZATION_STATS[key] = TOKENIZATION_STATS.get(key, 0) + 1
        assert ids is not None, (fam, s, how)
        m = compiled.matcher()
        for i, t in enumerate(ids):
            allowed = m.allowed_token_ids()
            j = int(np.searchsorted(allowed, t))
            assert j < len(allowed) and allowed[j] == t, (
                f"{fam}: canonical token {t} ({vocab.token_bytes[t]!r}) of {s!r} is masked out "
                f"after {vocab.decode_bytes(ids[:i])!r}"
            )
            assert m.accept_token(t)
        assert m.can_terminate(), (fam, s, ids)
        assert eos in m.allowed_token_ids()
        assert m.accept_token(eos) and m.is_terminated()


# --------------------------------------------------------------------------------------------
# rollback and copy
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, pattern", CASES)
def test_rollback_and_copy(family, name, pattern):
    fam, vocab, _ = family
    compiled = compiled_for(vocab, pattern)
    ids, _ = random_walk(compiled, seed=4242 + len(name), check_mask=False)
    ids = ids[:32]
    m = compiled.matcher()
    states = [m.state]
    masks = [m.next_token_bitmask().copy()]
    for t in ids:
        assert m.accept_token(t)
        states.append(m.state)
        masks.append(m.next_token_bitmask().copy())
    n = len(ids)
    for k in sorted({1, 2, 3, n // 2, n}):
        if not 0 < k <= n:
            continue
        m.rollback(k)
        assert m.num_steps == n - k
        assert m.state == states[n - k]
        np.testing.assert_array_equal(m.next_token_bitmask(), masks[n - k])
        for i in range(n - k, n):
            assert m.accept_token(ids[i])
            assert m.state == states[i + 1]
            np.testing.assert_array_equal(m.next_token_bitmask(), masks[i + 1])
    with pytest.raises(constrain.ConstraintError):
        m.rollback(n + 1)

    # copy(): advancing either side leaves the other untouched
    m.rollback(n - n // 2)
    mid_state, mid_steps, mid_mask = m.state, m.num_steps, m.next_token_bitmask().copy()
    c = m.copy()
    rng = random.Random(7)
    advanced = 0
    for _ in range(5):
        if c.is_terminated():
            break
        allowed = c.allowed_token_ids()
        assert c.accept_token(int(allowed[rng.randrange(len(allowed))]))
        advanced += 1
        assert m.state == mid_state and m.num_steps == mid_steps
        np.testing.assert_array_equal(m.next_token_bitmask(), mid_mask)
    assert c.num_steps == mid_steps + advanced
    c_state, c_steps = c.state, c.num_steps
    c_mask = c.next_token_bitmask().copy()
    # advance the original along the recorded walk: the copy does not move
    for t in ids[mid_steps:]:
        assert m.accept_token(t)
    assert c.state == c_state and c.num_steps == c_steps
    np.testing.assert_array_equal(c.next_token_bitmask(), c_mask)
    # terminating the copy does not terminate the original
    if not c.is_terminated():
        while not c.can_terminate():
            allowed = c.allowed_token_ids()
            c.accept_token(_finishing_choice(c, allowed, rng))
        assert c.accept_token(vocab.eos_token_ids[0])
    assert c.is_terminated()
    assert not m.is_terminated() or ids[-1] in vocab.eos_token_ids


def test_rollback_mixes_strings_and_tokens(tekken_vocab, tekken_encoder):
    compiled = compiled_for(tekken_vocab, r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])")
    m = compiled.matcher()
    start_mask = m.next_token_bitmask().copy()
    assert m.accept_string("2024-")
    after_string = (m.state, m.next_token_bitmask().copy())
    for t in tekken_encoder("07-14"):
        assert m.accept_token(t)
    assert m.can_terminate()
    m.rollback(len(tekken_encoder("07-14")))
    assert m.state == after_string[0]
    np.testing.assert_array_equal(m.next_token_bitmask(), after_string[1])
    m.rollback(1)  # the string counts as one step
    assert m.num_steps == 0
    np.testing.assert_array_equal(m.next_token_bitmask(), start_mask)
    assert not m.accept_string("2024-13")
    assert m.num_steps == 0


# --------------------------------------------------------------------------------------------
# vocabularies that cannot spell every byte
# --------------------------------------------------------------------------------------------


def test_smollm2_lacks_some_bytes(smollm2_vocab):
    """The SmolLM2 GGUF tokenizer has no token holding bytes 0x04, 0x06, 0x13, 0x14, 0x16, 0x1D,
    0xF1, 0xF2 (nor the never-valid 0xC0, 0xC1, 0xF5..0xFF): U+40000..U+BFFFF cannot be generated."""
    missing = set(range(256)) - _bytes_in_tokens(smollm2_vocab)
    assert {0x04, 0x06, 0x13, 0x14, 0x16, 0x1D, 0xF1, 0xF2} <= missing


@pytest.mark.parametrize("pattern", [r"x\x04|y", r"\u{50000}", r"a(\x06|\u{40000})b|c"])
def test_unproducible_bytes_never_strand_the_matcher(smollm2_vocab, pattern):
    r"""A constraint whose continuation needs a byte no token holds must not lead to an empty mask.

    Transitions on bytes that no token holds are dropped at compile time (and the regex refused
    when nothing is left), so r"x\x04|y" only allows "y" and r"\u{50000}" is refused.
    """
    try:
        compiled = constrain.compile({"type": "regex", "schema": pattern}, smollm2_vocab, cache=False)
    except constrain.InvalidRegexError:
        return  # refusing the regex outright is fine
    for seed in range(5):
        random_walk(compiled, seed, check_mask=False)  # asserts a non-empty mask at every step
