"""constrain.chat.sampling: each chat-completions sampling field, the order of the stages, seeds, logprobs."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from constrain.chat.sampling import (
    SampledToken,
    Sampler,
    SamplingParams,
    apply_logit_bias,
    apply_mask,
    apply_min_tokens,
    apply_penalties,
    apply_temperature,
    choice_seeds,
    draw,
    log_softmax,
    make_rng,
    min_p_filter,
    top_k_filter,
    top_logprobs,
    top_p_filter,
    xtc_filter,
)
from constrain.errors import ConstraintError, InvalidRequestError, InvalidTokenError

V = 16
EOS = 15
NEG = -np.inf


def sampler(vocab: int = V, eos: tuple[int, ...] = (EOS,), prompt: tuple[int, ...] = (), choice: int = 0, **kw) -> Sampler:
    return Sampler(SamplingParams(**kw), vocab_size=vocab, eos_token_ids=eos, prompt_token_ids=prompt, choice_index=choice)


def f32(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def ref_log_softmax(x: np.ndarray) -> np.ndarray:
    """Hand-written log-softmax over the finite entries, for comparison."""
    x = np.asarray(x, dtype=np.float64)
    finite = np.isfinite(x)
    m = x[finite].max()
    z = math.log(sum(math.exp(v - m) for v in x[finite]))
    return np.where(finite, x - m - z, -np.inf)


def sample_many(s: Sampler, logits: np.ndarray, k: int, allowed=None) -> list[int]:
    return [s.sample(logits, allowed).token_id for _ in range(k)]


logit_rows = st.lists(
    st.floats(min_value=-20, max_value=20, allow_nan=False, width=32), min_size=2, max_size=40
).map(f32)


# --------------------------------------------------------------------------- penalties


def test_frequency_and_presence_penalties_match_the_openai_formula():
    logits = f32(np.linspace(-3, 3, V))
    s = sampler(frequency_penalty=0.5, presence_penalty=0.25)
    for t in (3, 3, 3, 7):
        s.accept(t)
    out = s.process(logits)
    expected = logits.astype(np.float64).copy()
    expected[3] -= 3 * 0.5 + 0.25
    expected[7] -= 1 * 0.5 + 0.25
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-6)
    # the two fields are distinct: swapping them changes token 3 by a different amount
    s2 = sampler(frequency_penalty=0.25, presence_penalty=0.5)
    for t in (3, 3, 3, 7):
        s2.accept(t)
    assert s2.process(logits)[3] == pytest.approx(logits[3] - (3 * 0.25 + 0.5), abs=1e-6)


def test_frequency_and_presence_ignore_prompt_tokens():
    logits = f32(np.zeros(V))
    s = sampler(prompt=(1, 2, 3), frequency_penalty=1.0, presence_penalty=1.0)
    np.testing.assert_array_equal(s.process(logits), logits)


def test_negative_penalties_encourage():
    logits = f32(np.zeros(V))
    s = sampler(frequency_penalty=-1.0, presence_penalty=-2.0)
    s.accept(4)
    s.accept(4)
    assert s.process(logits)[4] == pytest.approx(4.0)


def test_repetition_penalty_divides_positive_multiplies_negative_and_covers_prompt():
    logits = f32([2.0, -2.0, 2.0, -2.0, 1.0] + [0.5] * (V - 5))
    s = sampler(prompt=(0, 1), repetition_penalty=2.0)
    s.accept(2)
    s.accept(3)
    out = s.process(logits)
    np.testing.assert_allclose(out[:5], [1.0, -4.0, 1.0, -4.0, 1.0])  # 0,1 from the prompt; 2,3 generated; 4 unseen
    np.testing.assert_array_equal(out[5:], logits[5:])


def test_repetition_penalty_comes_before_additive_penalties():
    # rep first: (4 / 2) - 1 = 1; additive first would give (4 - 1) / 2 = 1.5
    out = apply_penalties(f32([4.0, 0.0]), np.array([1, 0]), frequency_penalty=1.0, repetition_penalty=2.0)
    assert out[0] == pytest.approx(1.0)


def test_apply_penalties_alone_on_a_batch():
    logits = f32([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]])
    out = apply_penalties(logits, np.array([0, 2, 0]), prompt_ids=[0], presence_penalty=1.0, repetition_penalty=2.0)
    np.testing.assert_allclose(out, [[0.5, -0.5, 1.0], [1.0, 0.0, 2.0]])
    assert logits[0, 0] == 1.0  # input untouched


# --------------------------------------------------------------------------- logit_bias


def test_logit_bias_minus_100_bans_even_the_best_token():
    logits = f32(np.arange(V))  # token V-1 (EOS here, but no min_tokens) is the best by far
    s = sampler(temperature=0, logit_bias={V - 1: -100})
    assert s.sample(logits).token_id == V - 2
    # and with sampling: never drawn, even from an overwhelming logit
    logits2 = f32([0.0] * (V - 1) + [1000.0])
    s2 = sampler(seed=1, logit_bias={V - 1: -100})
    assert V - 1 not in sample_many(s2, logits2, 50)
    assert apply_logit_bias(logits2, {V - 1: -100})[V - 1] == NEG


def test_logit_bias_plus_100_forces():
    logits = f32(np.linspace(0, 10, V))
    s = sampler(seed=3, logit_bias={2: 100})
    assert set(sample_many(s, logits, 50)) == {2}


def test_logit_bias_is_added_and_accepts_json_string_keys():
    out = apply_logit_bias(f32(np.zeros(4)), {"1": 2.5, 3: -1.0})
    np.testing.assert_allclose(out, [0.0, 2.5, 0.0, -1.0])


def test_bans_that_empty_the_constraint_fall_back_to_minus_100():
    # the constraint allows 2 and 3, both banned: the constraint wins, the bans act as -100
    allowed = np.zeros(V, dtype=bool)
    allowed[[2, 3]] = True
    logits = f32(np.zeros(V))
    logits[3] = 1.0
    s = sampler(temperature=0, logit_bias={2: -100, 3: -100})
    out = s.process(logits, allowed)
    assert out[2] == pytest.approx(-100.0) and out[3] == pytest.approx(-99.0)
    assert s.sample(logits, allowed).token_id == 3


def test_penalties_come_before_logit_bias():
    # repetition (x / 2) then bias (+2): 4 / 2 + 2 = 4; bias first would give (4 + 2) / 2 = 3
    s = sampler(prompt=(0,), repetition_penalty=2.0, logit_bias={0: 2.0})
    assert s.process(f32([4.0] + [0.0] * (V - 1)))[0] == pytest.approx(4.0)


# --------------------------------------------------------------------------- mask and order


def test_mask_is_applied_after_bias_plus_100_cannot_resurrect():
    allowed = np.ones(V, dtype=bool)
    allowed[5] = False
    s = sampler(seed=0, logit_bias={5: 100})
    logits = f32(np.zeros(V))
    assert s.process(logits, allowed)[5] == NEG
    assert 5 not in sample_many(s, logits, 100, allowed)


def test_mask_accepts_int32_bitmask_row_and_narrow_masks():
    from constrain.bitmask import ids_to_bitmask_row

    logits = f32(np.zeros(40))
    out = apply_mask(logits, ids_to_bitmask_row(np.array([1, 33]), 40))
    assert set(np.flatnonzero(out > NEG)) == {1, 33}
    # a boolean mask narrower than the logits (padded model vocab): the extra ids are disallowed
    out2 = apply_mask(logits, np.ones(30, dtype=bool))
    assert set(np.flatnonzero(out2 > NEG)) == set(range(30))
    with pytest.raises(ValueError):
        apply_mask(logits, np.ones(40, dtype=np.int64))


def test_nothing_allowed_raises():
    s = sampler()
    with pytest.raises(ConstraintError):
        s.sample(f32(np.zeros(V)), np.zeros(V, dtype=bool))


@settings(max_examples=60, deadline=None)
@given(
    logits=logit_rows,
    data=st.data(),
    temperature=st.sampled_from([0.0, 0.5, 1.0, 2.0]),
    top_k=st.integers(0, 5),
    top_p=st.sampled_from([1.0, 0.9, 0.3]),
    min_p=st.sampled_from([0.0, 0.1, 0.9]),
    xtc=st.sampled_from([0.0, 1.0]),
    seed=st.integers(0, 2**32),
)
def test_sampled_token_is_always_allowed(logits, data, temperature, top_k, top_p, min_p, xtc, seed):
    n = logits.shape[0]
    allowed = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    if not allowed.any():
        allowed[data.draw(st.integers(0, n - 1))] = True
    bias = {0: 100.0} if data.draw(st.booleans()) else {}
    s = Sampler(
        SamplingParams(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p, xtc_probability=xtc,
                       xtc_threshold=0.05, seed=seed, logit_bias=bias, min_tokens=3, logprobs=True, top_logprobs=5),
        vocab_size=n, eos_token_ids=[n - 1],
    )
    for _ in range(4):
        tok = s.sample(logits, allowed)
        assert allowed[tok.token_id]
        assert math.isfinite(tok.logprob)
        assert all(allowed[t] for t, _ in tok.top_logprobs)
        s.accept(tok.token_id)


# --------------------------------------------------------------------------- min_tokens


def test_min_tokens_blocks_eos_until_reached_then_allows_it():
    logits = f32(np.zeros(V))
    logits[EOS] = 50.0  # EOS would win every time
    s = sampler(temperature=0, min_tokens=3)
    for _ in range(3):
        tok = s.sample(logits)
        assert tok.token_id != EOS
        s.accept(tok.token_id)
    assert s.num_generated == 3
    assert s.sample(logits).token_id == EOS


def test_min_tokens_counts_jump_forward_tokens_passed_to_accept():
    logits = f32(np.zeros(V))
    logits[EOS] = 50.0
    s = sampler(temperature=0, min_tokens=2)
    s.accept(1)
    s.accept(2)  # e.g. forced tokens
    assert s.sample(logits).token_id == EOS


def test_min_tokens_yields_to_a_constraint_that_allows_only_eos():
    allowed = np.zeros(V, dtype=bool)
    allowed[EOS] = True
    s = sampler(seed=0, min_tokens=10)
    assert s.sample(f32(np.zeros(V)), allowed).token_id == EOS
    # several EOS ids: all are blocked, and the fallback restores the row as it was
    out = apply_min_tokens(f32([0.0, 1.0, 2.0]), 0, 5, [1, 2])
    np.testing.assert_array_equal(out, [0.0, NEG, NEG])
    out = apply_min_tokens(f32([NEG, 1.0, 2.0]), 0, 5, [1, 2])
    np.testing.assert_array_equal(out, [NEG, 1.0, 2.0])


def test_min_tokens_comes_after_the_mask_and_the_bias():
    # a +100 bias on EOS does not beat min_tokens
    logits = f32(np.zeros(V))
    s = sampler(seed=0, min_tokens=5, logit_bias={EOS: 100})
    assert EOS not in sample_many(s, logits, 30)


# --------------------------------------------------------------------------- temperature, top-k


@settings(max_examples=40, deadline=None)
@given(logits=logit_rows, seed=st.integers(0, 2**32))
def test_temperature_zero_is_argmax(logits, seed):
    s = Sampler(SamplingParams(temperature=0, seed=seed), vocab_size=logits.shape[0], eos_token_ids=[])
    assert s.sample(logits).token_id == int(np.argmax(logits))


def test_temperature_zero_ties_go_to_lowest_id_and_draw_nothing():
    s = sampler(temperature=0, seed=5)
    state = s.rng.bit_generator.state
    assert s.sample(f32([1.0, 3.0, 3.0] + [0.0] * (V - 3))).token_id == 1
    assert s.rng.bit_generator.state == state


def test_temperature_divides_logits():
    np.testing.assert_allclose(apply_temperature(f32([1.0, -2.0]), 0.5), [2.0, -4.0])
    np.testing.assert_allclose(sampler(temperature=0.5).process(f32(np.arange(V))), np.arange(V) * 2.0)


def test_high_temperature_flattens_the_distribution():
    logits = f32([0.0, 2.0])
    cold = np.mean(sample_many(sampler(vocab=2, eos=(), temperature=0.1, seed=0), logits, 400))
    hot = np.mean(sample_many(sampler(vocab=2, eos=(), temperature=2.0, seed=0), logits, 400))
    assert cold > 0.99 and 0.6 < hot < 0.85  # p(1) = 1 at T=0.1, sigmoid(1) = 0.73 at T=2


@settings(max_examples=60, deadline=None)
@given(logits=logit_rows, seed=st.integers(0, 2**32), temperature=st.sampled_from([0.3, 1.0, 2.0]))
def test_top_k_1_equals_greedy(logits, seed, temperature):
    n = logits.shape[0]
    greedy = Sampler(SamplingParams(temperature=0), vocab_size=n, eos_token_ids=[])
    k1 = Sampler(SamplingParams(temperature=temperature, top_k=1, seed=seed), vocab_size=n, eos_token_ids=[])
    assert k1.sample(logits).token_id == greedy.sample(logits).token_id


def test_top_k_1_equals_greedy_with_ties():
    logits = f32([0.0, 5.0, 5.0, 5.0])
    assert np.flatnonzero(top_k_filter(logits, 1) > NEG).tolist() == [1]
    assert np.flatnonzero(top_k_filter(logits, 2) > NEG).tolist() == [1, 2]


def test_top_k_keeps_the_k_best():
    logits = f32([3.0, 1.0, 4.0, 1.5, 9.0, 2.0])
    out = top_k_filter(logits, 3)
    assert set(np.flatnonzero(out > NEG)) == {0, 2, 4}
    np.testing.assert_array_equal(out[[0, 2, 4]], logits[[0, 2, 4]])
    np.testing.assert_array_equal(top_k_filter(logits, 0), logits)
    np.testing.assert_array_equal(top_k_filter(logits, None), logits)
    s = sampler(vocab=6, eos=(), top_k=3, seed=0)
    assert set(sample_many(s, f32(np.zeros(6)) + logits / 10, 200)) == {0, 2, 4}


def test_top_k_on_a_batch():
    out = top_k_filter(f32([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]), 1)
    np.testing.assert_array_equal(out > NEG, [[False, False, True], [True, False, False]])


# --------------------------------------------------------------------------- top-p, min-p


def test_top_p_keeps_the_smallest_nucleus():
    probs = np.array([0.1, 0.4, 0.05, 0.3, 0.15])
    logits = f32(np.log(probs))

    def kept(p: float) -> set[int]:
        return set(np.flatnonzero(top_p_filter(logits, p) > NEG).tolist())

    assert kept(0.35) == {1}
    assert kept(0.45) == {1, 3}
    assert kept(0.69) == {1, 3}
    assert kept(0.72) == {1, 3, 4}
    assert kept(0.01) == {1}  # always at least one
    assert kept(1.0) == {0, 1, 2, 3, 4}


def test_top_p_sampling_stays_in_the_nucleus_and_renormalizes_after_top_k():
    probs = np.array([0.4, 0.3, 0.3])
    logits = f32(np.log(probs))
    s = sampler(vocab=3, eos=(), top_p=0.6, seed=2)
    assert set(sample_many(s, logits, 200)) == {0, 1}
    # top-k first (k=2 keeps {0,1}, renormalized to 4/7, 3/7) then top-p 0.5 keeps only 0;
    # the other order would keep {0, 1}
    s = sampler(vocab=3, eos=(), top_k=2, top_p=0.5, seed=2)
    assert set(sample_many(s, logits, 100)) == {0}


def test_top_p_uses_the_tempered_distribution():
    logits = f32(np.log([0.6, 0.4]))
    # at T=1 top_p 0.56 keeps one token (0.6); at T=2 the top token has 0.5505 < 0.56 and both stay
    assert set(sample_many(sampler(vocab=2, eos=(), top_p=0.56, seed=0), logits, 100)) == {0}
    assert set(sample_many(sampler(vocab=2, eos=(), top_p=0.56, temperature=2.0, seed=0), logits, 200)) == {0, 1}


@settings(max_examples=60, deadline=None)
@given(logits=logit_rows, top_p=st.floats(0.01, 1.0))
def test_top_p_property_smallest_prefix(logits, top_p):
    kept = top_p_filter(logits, top_p) > NEG
    probs = np.exp(ref_log_softmax(logits))
    order = np.argsort(-logits, kind="stable")
    k = int(kept.sum())
    assert k >= 1
    assert set(np.flatnonzero(kept)) == set(order[:k].tolist())  # a prefix of the ranking
    mass = probs[order[:k]].sum()
    assert mass >= top_p - 1e-9 or k == len(logits)
    assert k == 1 or probs[order[: k - 1]].sum() < top_p + 1e-9  # one fewer would not reach top_p


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    top_p=st.sampled_from([0.05, 0.5, 0.9, 0.999]),
    scale=st.sampled_from([0.5, 3.0, 8.0]),
    vocab=st.sampled_from([3000, 40000]),
)
def test_top_p_fast_path_matches_the_full_sort(seed, top_p, scale, vocab):
    """Large rows take the partial-sort path in 1-D; the 2-D path always sorts everything."""
    rng = np.random.default_rng(seed)
    row = f32(np.round(rng.normal(size=vocab) * scale, 1))  # rounding makes ties
    row[rng.random(vocab) < 0.2] = NEG
    one = top_p_filter(row, top_p)
    both = top_p_filter(np.stack([row, row]), top_p)
    np.testing.assert_array_equal(one, both[0])
    np.testing.assert_array_equal(one, both[1])


def test_min_p_drops_tokens_below_a_fraction_of_the_best():
    probs = np.array([0.5, 0.3, 0.12, 0.08])
    logits = f32(np.log(probs))
    assert set(np.flatnonzero(min_p_filter(logits, 0.2) > NEG)) == {0, 1, 2}  # cut-off 0.1
    assert set(np.flatnonzero(min_p_filter(logits, 0.5) > NEG)) == {0, 1}  # cut-off 0.25
    assert set(np.flatnonzero(min_p_filter(logits, 1.0) > NEG)) == {0}
    np.testing.assert_array_equal(min_p_filter(logits, 0.0), logits)
    s = sampler(vocab=4, eos=(), min_p=0.5, seed=0)
    assert set(sample_many(s, logits, 200)) == {0, 1}


def test_min_p_comes_after_top_p():
    logits = f32(np.log([0.4, 0.35, 0.25]))
    # top_p 0.5 keeps {0, 1}, min_p 0.7 (cut-off 0.28) keeps them; min_p first would renormalize
    # {0, 1} to (0.53, 0.47) and top_p 0.5 would then keep only 0
    s = sampler(vocab=3, eos=(), top_p=0.5, min_p=0.7, seed=0)
    assert set(sample_many(s, logits, 200)) == {0, 1}


# --------------------------------------------------------------------------- XTC


def test_xtc_removes_all_top_choices_but_the_least_probable_when_it_fires():
    probs = np.array([0.05, 0.4, 0.25, 0.2, 0.1])
    logits = f32(np.log(probs))
    out = xtc_filter(logits, 0.15, 1.0, np.random.default_rng(0))
    # above 0.15: tokens 1, 2, 3; all but the least probable (3) go
    assert set(np.flatnonzero(out > NEG)) == {0, 3, 4}
    s = sampler(vocab=5, eos=(), xtc_threshold=0.15, xtc_probability=1.0, seed=0)
    drawn = sample_many(s, logits, 300)
    assert set(drawn) == {0, 3, 4}


def test_xtc_never_fires_with_probability_zero_and_needs_two_top_choices():
    probs = np.array([0.05, 0.4, 0.25, 0.2, 0.1])
    logits = f32(np.log(probs))
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    np.testing.assert_array_equal(xtc_filter(logits, 0.15, 0.0, rng), logits)
    assert rng.bit_generator.state == state  # off: no draw
    s = sampler(vocab=5, eos=(), xtc_threshold=0.15, xtc_probability=0.0, seed=0)
    assert 1 in sample_many(s, logits, 100)
    # only one token above the threshold: nothing to exclude
    np.testing.assert_array_equal(xtc_filter(logits, 0.3, 1.0, rng), logits)


def test_xtc_fires_with_its_probability():
    probs = np.array([0.5, 0.5])
    logits = f32(np.log(probs))
    rng = np.random.default_rng(7)
    fired = sum(int((xtc_filter(logits, 0.3, 0.25, rng) == NEG).any()) for _ in range(2000))
    assert 400 < fired < 600


def test_xtc_leaves_a_step_alone_when_it_would_remove_eos():
    probs = np.array([0.45, 0.35, 0.2])
    logits = f32(np.log(probs))
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(xtc_filter(logits, 0.3, 1.0, rng, protected_token_ids=[0]), logits)
    # EOS as the kept (least probable) top choice does not protect anything
    out = xtc_filter(logits, 0.3, 1.0, rng, protected_token_ids=[1])
    assert set(np.flatnonzero(out > NEG)) == {1, 2}
    s = sampler(vocab=3, eos=(0,), xtc_threshold=0.3, xtc_probability=1.0, seed=0)
    assert 0 in sample_many(s, logits, 100)


def test_xtc_comes_after_top_k():
    # top_k=2 keeps {0,1}; renormalized both are >= 0.3, so XTC leaves only 1
    logits = f32(np.log([0.4, 0.35, 0.25]))
    s = sampler(vocab=3, eos=(), top_k=2, xtc_threshold=0.3, xtc_probability=1.0, seed=0)
    assert set(sample_many(s, logits, 50)) == {1}


def test_xtc_comes_after_min_p():
    # min_p 0.7 keeps {0, 1}, renormalized (0.53, 0.47): both >= 0.38, so XTC leaves only 1;
    # XTC first would see one top choice (0.4) and do nothing
    logits = f32(np.log([0.4, 0.35, 0.25]))
    s = sampler(vocab=3, eos=(), min_p=0.7, xtc_threshold=0.38, xtc_probability=1.0, seed=0)
    assert set(sample_many(s, logits, 50)) == {1}


# --------------------------------------------------------------------------- seeds


def test_seed_reproduces_sequences():
    rng = np.random.default_rng(123)
    steps = [f32(rng.normal(size=V) * 2) for _ in range(30)]

    def run(seed, choice=0):
        s = sampler(seed=seed, choice=choice, top_p=0.95, frequency_penalty=0.3, xtc_probability=0.5)
        out = []
        for x in steps:
            t = s.sample(x).token_id
            s.accept(t)
            out.append(t)
        return out

    assert run(42) == run(42)
    assert run(42) != run(43)
    assert run(42, choice=0) != run(42, choice=1)
    assert run(42, choice=1) == run(42, choice=1)


def test_choice_index_uses_choice_seeds_spawn():
    children = choice_seeds(9, 3)
    for i, child in enumerate(children):
        a = np.random.Generator(np.random.PCG64(child)).random(4)
        b = make_rng(9, i).random(4)
        np.testing.assert_array_equal(a, b)
    # child i does not depend on n
    np.testing.assert_array_equal(
        np.random.Generator(np.random.PCG64(choice_seeds(9, 5)[1])).random(3), make_rng(9, 1).random(3)
    )
    assert make_rng(-1).random() == make_rng(-1).random()  # negative seeds work too


def test_without_seed_draws_differ():
    logits = f32(np.zeros(1000))
    a = sample_many(Sampler(SamplingParams(), vocab_size=1000, eos_token_ids=[]), logits, 20)
    b = sample_many(Sampler(SamplingParams(), vocab_size=1000, eos_token_ids=[]), logits, 20)
    assert a != b


def test_draw_follows_the_distribution_and_skips_zero_probability():
    probs = np.array([0.0, 0.2, 0.0, 0.8])
    logits = f32(np.log(np.where(probs > 0, probs, 1)))
    logits[probs == 0] = NEG
    rng = np.random.default_rng(0)
    picks = np.array([draw(logits, rng) for _ in range(2000)])
    assert set(picks.tolist()) == {1, 3}
    assert 0.75 < np.mean(picks == 3) < 0.85


# --------------------------------------------------------------------------- logprobs


def test_logprobs_report_the_documented_distribution():
    """log-softmax after penalties, bias, mask, min_tokens, temperature; before top-k/top-p/min-p/XTC."""
    logits = f32([1.0, 2.0, 0.5, -1.0, 3.0, 0.0, 2.5, 1.5])
    allowed = np.array([True, True, True, True, False, True, True, True])
    s = Sampler(
        SamplingParams(temperature=0.5, top_k=2, top_p=0.5, min_p=0.5, presence_penalty=1.0, logit_bias={2: 1.0},
                       min_tokens=5, seed=0, logprobs=True, top_logprobs=20),
        vocab_size=8, eos_token_ids=[7],
    )
    s.accept(1)
    tok = s.sample(logits, allowed)
    by_hand = logits.astype(np.float64).copy()
    by_hand[1] -= 1.0  # presence
    by_hand[2] += 1.0  # bias
    by_hand[4] = NEG  # mask
    by_hand[7] = NEG  # min_tokens blocks EOS
    by_hand /= 0.5  # temperature
    ref = ref_log_softmax(by_hand)
    assert tok.logprob == pytest.approx(ref[tok.token_id], abs=1e-6)
    listed = dict(tok.top_logprobs)
    assert set(listed) == {0, 1, 2, 3, 5, 6}  # finite for alternatives that top_k=2 cut; 4 and 7 excluded
    for t, lp in listed.items():
        assert lp == pytest.approx(ref[t], abs=1e-6)
    values = [lp for _, lp in tok.top_logprobs]
    assert values == sorted(values, reverse=True)
    np.testing.assert_allclose(log_softmax(s.process(logits, allowed)), ref, atol=1e-6)


def test_logprobs_at_temperature_zero_use_temperature_one():
    logits = f32([1.0, 3.0, 2.0, 0.0])
    s = sampler(vocab=4, eos=(), temperature=0, logprobs=True, top_logprobs=2)
    tok = s.sample(logits)
    ref = ref_log_softmax(logits)
    assert tok.token_id == 1
    assert tok.logprob == pytest.approx(ref[1], abs=1e-6)
    assert [t for t, _ in tok.top_logprobs] == [1, 2]


def test_logprobs_off_by_default_and_top_logprobs_length():
    logits = f32(np.arange(V))
    assert sampler(seed=0).sample(logits) == SampledToken(token_id=sampler(seed=0).sample(logits).token_id)
    tok = sampler(seed=0).sample(logits)
    assert tok.logprob is None and tok.top_logprobs == []
    tok = sampler(seed=0, logprobs=True).sample(logits)
    assert tok.logprob is not None and tok.top_logprobs == []
    tok = sampler(seed=0, logprobs=True, top_logprobs=3).sample(logits)
    assert [t for t, _ in tok.top_logprobs] == [15, 14, 13]
    # fewer allowed tokens than requested: only the allowed ones are listed
    allowed = np.zeros(V, dtype=bool)
    allowed[[2, 9]] = True
    tok = sampler(seed=0, logprobs=True, top_logprobs=5).sample(logits, allowed)
    assert [t for t, _ in tok.top_logprobs] == [9, 2]


def test_top_logprobs_ties_go_to_lowest_id():
    assert [t for t, _ in top_logprobs(np.array([-1.0, -0.5, -0.5, -2.0, -0.5]), 2)] == [1, 2]


# --------------------------------------------------------------------------- validate, API


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("temperature", -0.1), ("temperature", 2.5), ("temperature", float("nan")), ("temperature", True),
        ("top_p", 0.0), ("top_p", 1.1), ("top_k", -1), ("top_k", 1.5), ("min_p", -0.1), ("min_p", 1.5),
        ("frequency_penalty", 2.1), ("presence_penalty", -2.1), ("repetition_penalty", 0.0),
        ("repetition_penalty", -1.0), ("logit_bias", {5: 101}), ("logit_bias", {5: -101}),
        ("logit_bias", {V: 1}), ("logit_bias", {-1: 1}), ("logit_bias", {"x": 1}), ("logit_bias", [1]),
        ("min_tokens", -1), ("xtc_threshold", 1.5), ("xtc_probability", -0.5), ("top_logprobs", 21),
        ("top_logprobs", -1), ("seed", "7"),
    ],
)
def test_validate_names_the_field(field, value):
    kwargs = {field: value}
    if field == "top_logprobs":
        kwargs["logprobs"] = True
    with pytest.raises(InvalidRequestError) as info:
        SamplingParams(**kwargs).validate(vocab_size=V)
    assert info.value.field == field
    with pytest.raises(InvalidRequestError):  # Sampler validates too
        Sampler(SamplingParams(**kwargs), vocab_size=V, eos_token_ids=[EOS])


def test_validate_accepts_the_edges():
    SamplingParams(temperature=0, top_p=1.0, top_k=0, min_p=1.0, frequency_penalty=-2, presence_penalty=2,
                   repetition_penalty=0.5, logit_bias={0: -100, "15": 100}, xtc_threshold=0, xtc_probability=1,
                   seed=-3, logprobs=True, top_logprobs=20).validate(vocab_size=V)
    SamplingParams(logit_bias={10**6: 1}).validate()  # no vocab known: only the sign is checked
    SamplingParams(top_k=None).validate()  # type: ignore[arg-type]


def test_top_logprobs_requires_logprobs():
    with pytest.raises(InvalidRequestError) as info:
        SamplingParams(top_logprobs=2).validate()
    assert info.value.field == "top_logprobs"


def test_sampler_rejects_bad_token_ids_and_shapes():
    with pytest.raises(InvalidTokenError):
        sampler(eos=(V,))
    with pytest.raises(InvalidTokenError):
        sampler(prompt=(-1,))
    s = sampler()
    with pytest.raises(InvalidTokenError):
        s.accept(V)
    with pytest.raises(ValueError):
        s.sample(f32(np.zeros(V + 1)))


def test_sampler_takes_a_1_by_vocab_row_and_leaves_input_alone():
    logits = f32(np.arange(V))[None, :]
    before = logits.copy()
    s = sampler(temperature=0.5, logit_bias={0: 5}, repetition_penalty=1.5, prompt=(3,))
    assert s.process(logits).shape == (1, V)
    assert s.sample(logits).token_id in range(V)
    np.testing.assert_array_equal(logits, before)


def test_stage_functions_do_not_mutate_their_input():
    x = f32(np.linspace(-2, 2, V))
    before = x.copy()
    rng = np.random.default_rng(0)
    for out in (
        apply_penalties(x, np.ones(V, dtype=int), [1], frequency_penalty=1, presence_penalty=1, repetition_penalty=2),
        apply_logit_bias(x, {1: -100, 2: 3}), apply_mask(x, np.zeros(V, dtype=bool)),
        apply_min_tokens(x, 0, 1, [EOS]), apply_temperature(x, 0.5), top_k_filter(x, 2), top_p_filter(x, 0.5),
        min_p_filter(x, 0.5), xtc_filter(x, 0.01, 1.0, rng),
    ):
        assert out is not x and out.dtype == np.float32
    np.testing.assert_array_equal(x, before)


def test_sampling_module_does_not_import_torch():
    code = "import sys, constrain.chat.sampling; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
