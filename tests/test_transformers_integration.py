"""The model-facing layer: the transformers LogitsProcessor, the framework-free processor in a
hand-written numpy loop, and the KV-cache generation loop of :mod:`constrain.chat.generate`.

A tiny randomly initialised Llama (SmolLM2's 49,152-id vocabulary, hidden size 16) stands in for a
real model: its outputs are arbitrary, which is what we want — only the masks make them valid.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from transformers import LlamaConfig, LlamaForCausalLM, LogitsProcessorList  # noqa: E402

import constrain  # noqa: E402
from constrain.chat.generate import compare_jump_forward, generate  # noqa: E402
from constrain.integrations.transformers import (  # noqa: E402
    ConstrainLogitsProcessor,
    build_logits_processor,
    vocabulary_for,
)

DATE = r"\d{4}-\d{2}-\d{2}"
# Bounded regexes (every output ends within a few tokens), written in the common subset of Python
# `re` and ECMA-262 so that Python can check the outputs.
REGEXES = [
    DATE,
    r"(yes|no|maybe)",
    r"[A-Z][a-z]{1,6}( [A-Z][a-z]{1,6})?",
    r"-?(0|[1-9]\d{0,3})\.\d{2}",
    r"#[0-9a-f]{6}",
]
PERSON = r'\{"name": "[A-Z][a-z]{1,8}", "age": \d{1,2}\}'


def regex_format(pattern: str) -> dict:
    return {"type": "regex", "schema": pattern}


@pytest.fixture(scope="module")
def tiny_model():
    """A deterministic random Llama with SmolLM2's vocabulary size (fast: about 1.6M parameters)."""
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=49152,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
    )
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():  # sharper logits, so greedy picks are not near-ties
        model.lm_head.weight.mul_(50.0)
    return model


@pytest.fixture(scope="module")
def prompt_ids(smollm2_tokenizer) -> list[int]:
    return smollm2_tokenizer.encode("What is today's date?")


def _generated(out: torch.Tensor, prompt_len: int) -> list[list[int]]:
    return out[:, prompt_len:].tolist()


def _text_until_eos(ids: list[int], vocab: constrain.Vocabulary) -> tuple[str, bool]:
    """(text before the first EOS, whether an EOS was emitted)."""
    eos = set(vocab.eos_token_ids)
    for i, t in enumerate(ids):
        if t in eos:
            return vocab.decode(ids[:i]), True
    return vocab.decode(ids), False


# -- transformers LogitsProcessor ------------------------------------------------------------


def test_unconstrained_tiny_model_does_not_produce_a_date(tiny_model, smollm2_vocab, prompt_ids):
    """Control for the tests below: without the processor the random model's output is no date."""
    ids = torch.tensor([prompt_ids])
    out = tiny_model.generate(ids, max_new_tokens=12, do_sample=False)
    text, _ = _text_until_eos(_generated(out, ids.shape[1])[0], smollm2_vocab)
    assert not re.fullmatch(DATE, text)


@pytest.mark.parametrize("pattern", REGEXES)
def test_generate_with_processor_obeys_regex(tiny_model, smollm2_tokenizer, smollm2_vocab, prompt_ids, pattern):
    proc = build_logits_processor(regex_format(pattern), smollm2_tokenizer)
    ids = torch.tensor([prompt_ids])
    out = tiny_model.generate(
        ids, logits_processor=LogitsProcessorList([proc]), max_new_tokens=20, do_sample=False
    )
    text, finished = _text_until_eos(_generated(out, ids.shape[1])[0], smollm2_vocab)
    assert finished, f"no EOS within 20 tokens: {text!r}"
    assert re.fullmatch(pattern, text), text


def test_batch_of_two_rows_with_different_formats_and_prompt_lengths(tiny_model, smollm2_tokenizer, smollm2_vocab):
    # Left-padded by hand: row 0 has a longer prompt than row 1.
    a = smollm2_tokenizer.encode("Give me a date, please, in ISO format.")
    b = smollm2_tokenizer.encode("Yes or no?")
    width = max(len(a), len(b))
    pad = smollm2_tokenizer.pad_token_id
    input_ids = torch.tensor([[pad] * (width - len(r)) + r for r in (a, b)])
    attention_mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in (a, b)])
    proc = build_logits_processor([regex_format(DATE), regex_format("(yes|no)")], smollm2_tokenizer)
    out = tiny_model.generate(
        input_ids,
        attention_mask=attention_mask,
        logits_processor=LogitsProcessorList([proc]),
        max_new_tokens=16,
        do_sample=False,
    )
    rows = _generated(out, width)
    date, done0 = _text_until_eos(rows[0], smollm2_vocab)
    answer, done1 = _text_until_eos(rows[1], smollm2_vocab)
    assert done0 and done1
    assert re.fullmatch(DATE, date), date
    assert answer in ("yes", "no")
    # Row 1 finished first and was then fed padding: its matcher stayed terminated, no error.
    assert rows[1][-1] == pad
    # The processor never sees the last EOS of the longest row (generate stops right after it).
    assert proc.matchers[1].is_terminated() and proc.matchers[0].can_terminate()


def test_num_return_sequences_with_sampling(tiny_model, smollm2_tokenizer, smollm2_vocab):
    prompts = [smollm2_tokenizer.encode("A date:"), smollm2_tokenizer.encode("A hex:")]
    assert len(prompts[0]) == len(prompts[1])  # same length: no padding needed
    proc = build_logits_processor([regex_format(DATE), regex_format("#[0-9a-f]{6}")], smollm2_tokenizer)
    torch.manual_seed(1234)
    out = tiny_model.generate(
        torch.tensor(prompts),
        logits_processor=LogitsProcessorList([proc]),
        max_new_tokens=16,
        do_sample=True,
        num_return_sequences=2,
    )
    assert out.shape[0] == 4
    texts = [_text_until_eos(r, smollm2_vocab) for r in _generated(out, len(prompts[0]))]
    assert all(done for _, done in texts)
    # Rows 0-1 answer prompt 0 (dates), rows 2-3 prompt 1 (hex colours).
    assert re.fullmatch(DATE, texts[0][0]) and re.fullmatch(DATE, texts[1][0]), texts
    assert re.fullmatch("#[0-9a-f]{6}", texts[2][0]) and re.fullmatch("#[0-9a-f]{6}", texts[3][0]), texts
    assert texts[0][0] != texts[1][0]  # sampled, not copies of one another


def test_processor_is_reusable_across_generate_calls(tiny_model, smollm2_tokenizer, smollm2_vocab):
    proc = build_logits_processor(regex_format(DATE), smollm2_tokenizer)
    for prompt in ("Date?", "When did the second world war end? Give the exact day."):
        ids = torch.tensor([smollm2_tokenizer.encode(prompt)])
        out = tiny_model.generate(ids, logits_processor=LogitsProcessorList([proc]), max_new_tokens=12, do_sample=False)
        text, finished = _text_until_eos(_generated(out, ids.shape[1])[0], smollm2_vocab)
        assert finished and re.fullmatch(DATE, text), text


def test_wider_logits_than_tokenizer(smollm2_tokenizer, smollm2_vocab):
    """Models often have more logits than tokens: the extra ids are always masked."""
    proc = build_logits_processor(regex_format("(yes|no)"), smollm2_tokenizer, vocab_size=smollm2_vocab.size + 64)
    scores = torch.zeros(1, smollm2_vocab.size + 64)
    scores[0, -1] = 100.0  # the model loves a padding id
    masked = proc(torch.tensor([[1, 2, 3]]), scores)
    allowed = torch.isfinite(masked[0]).nonzero().flatten().tolist()
    assert allowed and max(allowed) < smollm2_vocab.size
    assert {smollm2_vocab.decode([t]) for t in allowed} <= {"y", "ye", "yes", "n", "no"}


def test_build_logits_processor_inputs(smollm2_tokenizer, smollm2_vocab):
    assert vocabulary_for(smollm2_tokenizer) is vocabulary_for(smollm2_tokenizer)  # cached conversion
    compiled = constrain.compile(regex_format(DATE), smollm2_vocab)
    proc = build_logits_processor([compiled, None], smollm2_vocab)
    assert isinstance(proc, ConstrainLogitsProcessor)
    scores = torch.zeros(2, smollm2_vocab.size)
    proc(torch.tensor([[5], [5]]), scores)
    finite = torch.isfinite(scores)
    # Row 1 is free text: every token with text is allowed, and EOS; other special tokens are not.
    text_or_eos = [b is not None or i in smollm2_vocab.eos_token_ids for i, b in enumerate(smollm2_vocab.token_bytes)]
    assert finite[1].tolist() == text_or_eos
    assert sorted(finite[0].nonzero().flatten().tolist()) == compiled.matcher().allowed_token_ids().tolist()
    with pytest.raises(constrain.ConstraintError):
        build_logits_processor({"type": "regex", "schema": "(a"}, smollm2_vocab)
    with pytest.raises(constrain.ConstraintError):
        build_logits_processor([], smollm2_vocab)
    with pytest.raises(constrain.ConstraintError):
        build_logits_processor("not a format", smollm2_vocab)


# -- framework-free processor, numpy logits --------------------------------------------------


def test_numpy_processor_in_hand_written_loop(smollm2_vocab):
    vocab = smollm2_vocab
    patterns = [DATE, r"(true|false)"]
    proc = constrain.ConstraintLogitsProcessor([constrain.compile(regex_format(p), vocab) for p in patterns])
    rng = np.random.default_rng(0)
    ids = np.array([[1, 5, 7], [1, 5, 7]])
    eos = vocab.eos_token_ids[0]
    finished = [False, False]
    for _ in range(20):
        logits = rng.normal(size=(2, vocab.size)).astype(np.float32)
        masked = proc(ids, logits)
        assert masked is logits  # in place
        nxt = masked.argmax(axis=1)
        nxt[finished] = eos  # a finished row keeps emitting EOS (padding)
        finished = [f or int(t) == eos for f, t in zip(finished, nxt)]
        ids = np.concatenate([ids, nxt[:, None]], axis=1)
        if all(finished):
            break
    assert all(finished)
    for row, pattern in zip(ids[:, 3:].tolist(), patterns):
        text, done = _text_until_eos(row, vocab)
        assert done and re.fullmatch(pattern, text), text


def test_numpy_processor_rejects_unmasked_token(smollm2_vocab):
    proc = constrain.ConstraintLogitsProcessor(constrain.compile(regex_format(DATE), smollm2_vocab))
    logits = np.zeros(smollm2_vocab.size, dtype=np.float32)
    proc(np.array([1, 2]), logits)
    letter = smollm2_vocab.token_bytes.index(b"a")
    assert logits[letter] == -np.inf
    with pytest.raises(constrain.ConstraintError):
        proc(np.array([1, 2, letter]), np.zeros(smollm2_vocab.size, dtype=np.float32))


# -- the hand-written KV-cache loop ----------------------------------------------------------


@pytest.mark.parametrize("pattern", REGEXES + [PERSON])
@pytest.mark.parametrize("jump_forward", [True, False])
def test_generate_loop_obeys_regex(tiny_model, smollm2_tokenizer, smollm2_vocab, prompt_ids, pattern, jump_forward):
    r = generate(
        tiny_model, smollm2_tokenizer, smollm2_vocab, prompt_ids, regex_format(pattern), max_tokens=40,
        jump_forward=jump_forward,
    )
    assert r.finish_reason == "stop"
    assert re.fullmatch(pattern, r.text), r.text
    assert smollm2_vocab.decode(r.token_ids) == r.text
    s = r.stats
    # One forward pass per sampled token (the prompt's pass included), jump-forward tokens ride along.
    assert s.forward_calls == s.sampled_tokens
    eos_sampled = s.sampled_tokens - (s.generated_tokens - s.jump_forward_tokens)
    assert eos_sampled in (0, 1) and (eos_sampled == 1 or jump_forward)
    if not jump_forward:
        assert s.jump_forward_tokens == 0
    assert s.mean_mask_seconds > 0 and s.first_mask_seconds > 0 and s.tokens_per_second > 0


def test_jump_forward_inserts_forced_tokens_in_one_pass(tiny_model, smollm2_tokenizer, smollm2_vocab, prompt_ids):
    fmt = regex_format(PERSON)
    with_jf = generate(tiny_model, smollm2_tokenizer, smollm2_vocab, prompt_ids, fmt, max_tokens=40)
    plain = generate(tiny_model, smollm2_tokenizer, smollm2_vocab, prompt_ids, fmt, max_tokens=40, jump_forward=False)
    assert with_jf.stats.jump_forward_tokens >= 4  # '{"', 'name', '":', ... are forced
    assert with_jf.stats.forward_calls < plain.stats.forward_calls
    assert plain.stats.jump_forward_tokens == 0


def test_generate_loop_matches_hf_generate(tiny_model, smollm2_tokenizer, smollm2_vocab, prompt_ids):
    """Same greedy tokens as model.generate with the processor: the KV cache is used correctly."""
    fmt = regex_format(r"[a-z]{3,12}")
    mine = generate(tiny_model, smollm2_tokenizer, smollm2_vocab, prompt_ids, fmt, max_tokens=12, jump_forward=False)
    proc = build_logits_processor(fmt, smollm2_vocab)
    ids = torch.tensor([prompt_ids])
    out = tiny_model.generate(ids, logits_processor=LogitsProcessorList([proc]), max_new_tokens=12, do_sample=False)
    theirs = [t for t in _generated(out, ids.shape[1])[0] if t not in smollm2_vocab.eos_token_ids]
    assert mine.token_ids == theirs


def test_generate_loop_length_and_sampling(tiny_model, smollm2_tokenizer, smollm2_vocab, prompt_ids):
    fmt = regex_format(r"[a-z]+")
    r = generate(tiny_model, smollm2_tokenizer, smollm2_vocab, prompt_ids, fmt, max_tokens=5, jump_forward=False)
    assert r.finish_reason == "length" and len(r.token_ids) == 5 and re.fullmatch("[a-z]+", r.text)
    runs = [
        generate(tiny_model, smollm2_tokenizer, smollm2_vocab, prompt_ids, regex_format(DATE),
                 temperature=1.0, top_p=0.9, seed=seed, max_tokens=16)
        for seed in (7, 7, 8)
    ]
    assert all(re.fullmatch(DATE, x.text) for x in runs)
    assert runs[0].token_ids == runs[1].token_ids  # same seed, same output
    assert runs[0].token_ids != runs[2].token_ids
    with pytest.raises(constrain.ConstraintError):
        generate(tiny_model, smollm2_tokenizer, smollm2_vocab, prompt_ids, fmt, temperature=-1)
    with pytest.raises(constrain.ConstraintError):
        generate(tiny_model, smollm2_tokenizer, smollm2_vocab, prompt_ids, fmt, top_p=0)


def test_compare_jump_forward_report(tiny_model, smollm2_tokenizer, smollm2_vocab, prompt_ids):
    rows = compare_jump_forward(
        tiny_model, smollm2_tokenizer, smollm2_vocab,
        [(prompt_ids, regex_format(DATE)), (prompt_ids, regex_format(PERSON))], max_tokens=40,
    )
    assert len(rows) == 2
    for row, pattern in zip(rows, [DATE, PERSON]):
        assert re.fullmatch(pattern, row["with_jf"]) and re.fullmatch(pattern, row["without_jf"])
        assert row["same"] == (row["with_jf"] == row["without_jf"])
    assert rows[0]["jump_forward_tokens"] == 0  # '-' is a single token: held back, never jumped
    assert rows[1]["forward_calls_jf"] < rows[1]["forward_calls_plain"]
