"""A small hand-written generation loop for transformers causal LMs, with constraint masks.

:func:`generate` runs one sequence through a model with its KV cache: one forward pass per step
(the prompt first), the matcher's mask applied to the logits, then a greedy pick
(``temperature == 0``) or seeded sampling (temperature, top-p) with a ``torch.Generator``. It stops
at an end-of-sequence token (``finish_reason="stop"``) or after ``max_tokens`` output tokens
(``"length"``). The command line (``python -m constrain generate``) is built on it.

Jump-forward policy (``jump_forward=True``, the default)
--------------------------------------------------------
When the constraint leaves only one way to continue (``Matcher.find_jump_forward_string()`` is
not empty, e.g. the ``-`` of ``\\d{4}-\\d{2}`` or a JSON key), the loop does not ask the model for
those characters one step at a time:

1. the forced string is tokenized with the model's tokenizer (no special tokens);
2. every token *except the last* is accepted through the matcher. The last token is held back
   because it could merge with what follows (a forced ``"`` may be better written as ``",`` by the
   model); the next mask still lets the model pick any token that covers it;
3. the accepted tokens are fed to the model in ONE forward pass, together with the token sampled
   just before (so a jump costs no extra forward call), and decoding continues.

If the matcher refuses any forced token, or the tokens do not spell a prefix of the forced
string (a SentencePiece tokenizer adding a leading space, say), the matcher is rolled back and the
jump is skipped for that step. Forced tokens count as output tokens (and towards ``max_tokens``)
and are reported in ``GenerationStats.jump_forward_tokens``. Also under ``jump_forward``, when the
constraint allows nothing but end-of-sequence, the loop stops without a last forward pass.

Because the forced string is tokenized on its own, jump-forward may choose a different
tokenization than the model would have, so greedy output can differ from ``jump_forward=False``
(both always satisfy the constraint); :func:`compare_jump_forward` measures how often.

Part of the request layer (:mod:`constrain.chat`). Imports: the engine's public names only
(``bitmask``, ``compiler``, ``errors``, ``matcher``, ``vocab``), and torch at the top.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from ..bitmask import allocate_token_bitmask, apply_token_bitmask_inplace, bitmask_width
from ..compiler import CompiledConstraint, compile
from ..errors import ConstraintError
from ..matcher import Matcher
from ..vocab import Vocabulary

__all__ = ["GenerationResult", "GenerationStats", "compare_jump_forward", "generate"]


@dataclass
class GenerationStats:
    """Figures of one :func:`generate` call.

    Attributes:
        prompt_tokens: tokens in the prompt.
        generated_tokens: output tokens (end-of-sequence excluded), jump-forward tokens included.
        sampled_tokens: tokens chosen by the model (one per masked step, end-of-sequence included).
        forward_calls: model forward passes (the prompt's included).
        jump_forward_tokens: output tokens inserted by jump-forward instead of being sampled.
        total_seconds: wall time of the whole call (prompt pass included).
        tokens_per_second: ``generated_tokens / total_seconds``.
        mask_seconds: total time in ``fill_next_token_bitmask`` + ``apply_token_bitmask_inplace``
            (the mask that ends generation without a forward pass included).
        mean_mask_seconds: ``mask_seconds / sampled_tokens`` (0 when nothing was sampled).
        first_mask_seconds: time of the first mask (cold caches: trie and mask cache).
    """

    prompt_tokens: int = 0
    generated_tokens: int = 0
    sampled_tokens: int = 0
    forward_calls: int = 0
    jump_forward_tokens: int = 0
    total_seconds: float = 0.0
    tokens_per_second: float = 0.0
    mask_seconds: float = 0.0
    mean_mask_seconds: float = 0.0
    first_mask_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The stats as a plain dict (JSON-serializable)."""
        return asdict(self)


@dataclass
class GenerationResult:
    """The output of :func:`generate`.

    Attributes:
        text: the generated text (the exact bytes of the tokens, decoded as UTF-8).
        token_ids: the output token ids, end-of-sequence excluded.
        finish_reason: "stop" (end-of-sequence accepted) or "length" (``max_tokens`` reached).
        stats: timing and counting figures.
    """

    text: str
    token_ids: list[int]
    finish_reason: str
    stats: GenerationStats = field(default_factory=GenerationStats)


class _Model:
    """Runs forward passes with a KV cache, whatever the transformers version calls the cache argument."""

    def __init__(self, model: Any) -> None:
        self.model = model
        params = inspect.signature(model.forward).parameters
        # transformers >= 5.x names it `cache`; earlier versions `past_key_values`.
        self.cache_kw = "cache" if "cache" in params else "past_key_values"
        self.keep_kw = next((k for k in ("logits_to_keep", "num_logits_to_keep") if k in params), None)
        try:
            self.device = next(model.parameters()).device
        except (StopIteration, AttributeError, TypeError):
            self.device = torch.device("cpu")
        self.cache: Any = None
        self.calls = 0

    def __call__(self, token_ids: Sequence[int]) -> torch.Tensor:
        """Feed ``token_ids`` after what was fed before; return the last position's logits, (1, V) float32."""
        kwargs: dict[str, Any] = {"use_cache": True}
        if self.cache is not None:
            kwargs[self.cache_kw] = self.cache
        if self.keep_kw is not None:
            kwargs[self.keep_kw] = 1
        ids = torch.tensor([list(token_ids)], dtype=torch.long, device=self.device)
        out = self.model(input_ids=ids, **kwargs)
        keys = out.keys() if hasattr(out, "keys") else ()
        self.cache = out["cache"] if "cache" in keys else out.past_key_values
        self.calls += 1
        return out.logits[:, -1, :].float()


def _pick(logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator | None) -> int:
    """Greedy (temperature 0) or temperature/top-p sampling from masked ``(1, V)`` logits."""
    row = logits[0]
    best = int(torch.argmax(row).item())
    if row[best].item() == float("-inf"):
        raise ConstraintError("the constraint allows no token the model can produce (every logit is masked)")
    if temperature == 0:
        return best
    probs = torch.softmax(row.to(torch.float64).cpu() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_p, order = torch.sort(probs, descending=True)
        keep = (torch.cumsum(sorted_p, dim=-1) - sorted_p) < top_p  # always keeps the most likely token
        choice = torch.multinomial(sorted_p * keep, 1, generator=generator)
        return int(order[choice].item())
    return int(torch.multinomial(probs, 1, generator=generator).item())


def _forced_tokens(matcher: Matcher, tokenizer: Any, vocab: Vocabulary, budget: int) -> list[int]:
    """Jump-forward: accept the forced continuation's tokens but the last; [] when there is nothing to do.

    The tokens returned have been accepted by ``matcher``; on any refusal nothing is accepted.
    """
    if budget <= 0:
        return []
    text = matcher.find_jump_forward_string()
    if not text:
        return []
    ids = list(tokenizer.encode(text, add_special_tokens=False))[:-1][:budget]
    if not ids:
        return []
    if any(not 0 <= t < vocab.size for t in ids) or not text.encode("utf-8").startswith(vocab.decode_bytes(ids)):
        return []
    if not matcher.accept_tokens(ids):  # rolls back by itself on a refusal
        return []
    return ids


def _eos_only_row(vocab: Vocabulary) -> np.ndarray:
    """The bitmask row that allows exactly the end-of-sequence ids."""
    row = np.zeros(bitmask_width(vocab.size), dtype=np.uint32)
    for t in vocab.eos_token_ids:
        row[t // 32] |= np.uint32(1 << (t % 32))
    return row.view(np.int32)


def generate(
    model: Any,
    tokenizer: Any,
    vocab: Vocabulary,
    prompt_ids: Sequence[int],
    compiled: CompiledConstraint | Mapping[str, Any] | None,
    *,
    max_tokens: int = 256,
    temperature: float = 0.0,
    top_p: float = 1.0,
    seed: int | None = None,
    jump_forward: bool = True,
) -> GenerationResult:
    """Generate one constrained completion of ``prompt_ids`` with a transformers causal LM.

    Args:
        model: a transformers causal LM (e.g. from :func:`constrain.models.load_model`), in eval mode.
        tokenizer: its tokenizer (used to tokenize jump-forward strings).
        vocab: the vocabulary the constraint was compiled for; its size should equal the model's
            logits width (``Vocabulary.from_transformers(tok, vocab_size=model.config.vocab_size)``).
            Logits past ``vocab.size`` are never chosen.
        prompt_ids: the prompt's token ids (chat template already applied).
        compiled: a compiled constraint, or a ``response_format`` dict / ``None`` compiled here.
        max_tokens: most output tokens (jump-forward tokens included).
        temperature: 0 for greedy decoding, otherwise the sampling temperature.
        top_p: nucleus sampling threshold (sampling only).
        seed: seed of the sampling generator (``None``: a random seed).
        jump_forward: insert forced continuations without sampling them (see the module docstring).

    Raises:
        ConstraintError: bad arguments, a constraint compiled for another vocabulary, or a
            constraint that leaves the model no token to pick.
    """
    if max_tokens < 0:
        raise ConstraintError(f"max_tokens must be >= 0, got {max_tokens}")
    if temperature < 0 or not np.isfinite(temperature):
        raise ConstraintError(f"temperature must be a finite number >= 0, got {temperature}")
    if not 0 < top_p <= 1:
        raise ConstraintError(f"top_p must be in (0, 1], got {top_p}")
    if not isinstance(compiled, CompiledConstraint):
        compiled = compile(compiled, vocab)
    if compiled.vocab.size != vocab.size:
        raise ConstraintError(
            f"the constraint was compiled for {compiled.vocab.size} token ids but vocab has {vocab.size}"
        )
    prompt = [int(t) for t in prompt_ids]
    if not prompt:
        raise ConstraintError("prompt_ids must not be empty")

    start = time.perf_counter()
    generator: torch.Generator | None = None
    if temperature > 0:
        generator = torch.Generator()
        if seed is None:
            generator.seed()
        else:
            generator.manual_seed(int(seed))
    stats = GenerationStats(prompt_tokens=len(prompt))
    matcher = compiled.matcher()
    # A numpy bitmask: filled by a plain copy, handed to torch zero-copy when applied.
    bitmask = allocate_token_bitmask(1, vocab.size)
    eos_row = _eos_only_row(vocab)
    runner = _Model(model)
    out: list[int] = []
    finish = "length"

    pending = list(prompt)
    if jump_forward:
        forced = _forced_tokens(matcher, tokenizer, vocab, max_tokens)
        pending += forced
        out += forced
        stats.jump_forward_tokens += len(forced)
    with torch.inference_mode():
        while True:
            t0 = time.perf_counter()
            matcher.fill_next_token_bitmask(bitmask)
            fill_seconds = time.perf_counter() - t0
            if jump_forward and eos_row.any() and matcher.can_terminate() and np.array_equal(bitmask[0], eos_row):
                # Complete, and nothing but end-of-sequence may follow: stop without a forward pass.
                stats.mask_seconds += fill_seconds
                matcher.accept_token(vocab.eos_token_ids[0])
                finish = "stop"
                break
            if len(out) >= max_tokens:
                break
            logits = runner(pending)
            t0 = time.perf_counter()
            apply_token_bitmask_inplace(logits, bitmask)
            spent = fill_seconds + time.perf_counter() - t0
            if stats.sampled_tokens == 0:
                stats.first_mask_seconds = spent
            stats.mask_seconds += spent
            stats.sampled_tokens += 1
            token = _pick(logits, temperature, top_p, generator)
            if not matcher.accept_token(token):  # cannot happen with a correct mask
                raise ConstraintError(f"token {token} was sampled but the matcher refuses it")
            if matcher.is_terminated():
                finish = "stop"
                break
            out.append(token)
            pending = [token]
            if jump_forward:
                forced = _forced_tokens(matcher, tokenizer, vocab, max_tokens - len(out))
                pending += forced
                out += forced
                stats.jump_forward_tokens += len(forced)

    stats.forward_calls = runner.calls
    stats.generated_tokens = len(out)
    stats.total_seconds = time.perf_counter() - start
    stats.tokens_per_second = stats.generated_tokens / stats.total_seconds if stats.total_seconds > 0 else 0.0
    stats.mean_mask_seconds = stats.mask_seconds / stats.sampled_tokens if stats.sampled_tokens else 0.0
    text = vocab.decode_bytes(out).decode("utf-8", errors="replace")
    return GenerationResult(text=text, token_ids=out, finish_reason=finish, stats=stats)


def compare_jump_forward(
    model: Any,
    tokenizer: Any,
    vocab: Vocabulary,
    cases: Iterable[tuple[Sequence[int], Mapping[str, Any] | CompiledConstraint | None]],
    *,
    max_tokens: int = 64,
) -> list[dict[str, Any]]:
    """Greedy output with and without jump-forward, side by side, for each ``(prompt_ids, format)``.

    Returns one dict per case: ``with_jf`` / ``without_jf`` texts, ``same`` (texts equal), the
    forward calls of each run and the jump-forward tokens used.
    """
    rows = []
    for prompt_ids, response_format in cases:
        a = generate(model, tokenizer, vocab, prompt_ids, response_format, max_tokens=max_tokens, jump_forward=True)
        b = generate(model, tokenizer, vocab, prompt_ids, response_format, max_tokens=max_tokens, jump_forward=False)
        rows.append(
            {
                "response_format": response_format if not isinstance(response_format, CompiledConstraint)
                else response_format.description,
                "with_jf": a.text,
                "without_jf": b.text,
                "same": a.text == b.text,
                "same_tokens": a.token_ids == b.token_ids,
                "forward_calls_jf": a.stats.forward_calls,
                "forward_calls_plain": b.stats.forward_calls,
                "jump_forward_tokens": a.stats.jump_forward_tokens,
            }
        )
    return rows
