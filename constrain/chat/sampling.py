"""Chat-completions sampling fields as composable stages over numpy logits.

Every stage is a plain function usable alone in a hand-written loop; :class:`Sampler` chains them
for one choice of one request and keeps what they need between steps (the random generator, the
generated-token counts). Logits are numpy float arrays of shape ``[vocab]``; the stage functions
also take ``[batch, vocab]`` (they work along the last axis). This module does not import torch:
convert torch logits with ``logits.float().cpu().numpy()``. Every stage returns a new array and
leaves its input untouched. A token is *allowed* while its logit is not ``-inf``.

Order of the stages
-------------------

The order is fixed; each stage sees the output of the previous one:

1. **penalties** (:func:`apply_penalties`): ``repetition_penalty`` first (multiplicative, over
   prompt *and* generated tokens, as in Hugging Face transformers), then ``frequency_penalty`` and
   ``presence_penalty`` (additive, over generated tokens only, as in the OpenAI API).
2. **logit_bias** (:func:`apply_logit_bias`): added; a bias ``<= -100`` bans the token (``-inf``).
3. **constraint mask** (:func:`apply_mask`): tokens the constraint does not allow become ``-inf``.
   It comes after the bias, so a ``+100`` bias cannot bring back a token the constraint forbids.
4. **min_tokens** (:func:`apply_min_tokens`): EOS ids are ``-inf`` until ``min_tokens`` tokens
   have been generated, unless EOS is the only token left (then the constraint wins).
5. **temperature** (:func:`apply_temperature`): logits divided by it; ``0`` means greedy.
6. **top_k** (:func:`top_k_filter`), 7. **top_p** (:func:`top_p_filter`),
   8. **min_p** (:func:`min_p_filter`), 9. **XTC** (:func:`xtc_filter`): truncation; each one
   renormalizes over what the previous ones kept.
10. **sample** (:func:`draw`): one draw from the softmax of what is left.

With ``temperature == 0`` the token is the argmax of the logits after stage 5 (ties go to the
lowest id) and stages 6-9 are skipped: top-k, top-p and min-p always keep the argmax, and XTC is a
randomization that greedy decoding does not want. No random number is drawn in that case.

Usage
-----

``constrain.chat.sampling.Sampler(params, vocab_size=V, eos_token_ids=[...], prompt_token_ids=prompt,
choice_index=i)`` implements the chat-completions fields ``temperature``, ``top_p``,
``frequency_penalty``, ``presence_penalty``, ``logit_bias``, ``seed``, ``logprobs`` and
``top_logprobs``, plus the common extensions ``top_k``, ``min_p``, ``repetition_penalty``,
``min_tokens`` and XTC (``xtc_threshold``, ``xtc_probability``). Per step:
``tok = sampler.sample(logits, allowed)`` then ``sampler.accept(tok.token_id)``. They are applied
in this order: penalties (repetition, frequency, presence) -> logit_bias -> constraint mask ->
min_tokens -> temperature -> top-k -> top-p -> min-p -> XTC -> sample.

* ``frequency_penalty``, ``presence_penalty`` (in [-2, 2]): ``logit[j] -= count[j] *
  frequency_penalty + (count[j] > 0) * presence_penalty``, where ``count`` counts the tokens
  generated so far (prompt tokens do not count).
* ``repetition_penalty`` (> 0, 1 = off): for every token in the prompt or generated so far, a
  positive logit is divided by it and a negative one multiplied (the CTRL / Hugging Face form;
  prompt tokens count, as in transformers).
* ``logit_bias`` (``{token_id: bias}``, bias in [-100, 100]): added to the logit. A bias of -100
  bans the token outright (it is treated as ``-inf``, not as a large negative number); +100
  practically forces it, among the tokens the constraint allows. Should the bans leave the
  constraint no token at all, the constraint wins: the ban falls back to adding -100, so the
  least penalized allowed token still has a chance.
* ``min_tokens``: EOS ids are blocked until that many tokens have been generated. When the
  constraint allows nothing but EOS, the constraint wins and EOS stays allowed.
* ``temperature`` (in [0, 2]): 0 is greedy decoding (argmax, lowest id on ties).
* ``top_k`` (0 = off): keep the k most likely tokens (ties broken toward the lowest id, so exactly
  k are kept and ``top_k=1`` is greedy). ``top_p`` (in (0, 1]): keep the smallest set of most
  likely tokens whose probability reaches ``top_p`` (always at least one). ``min_p`` (in [0, 1]):
  drop the tokens whose probability is below ``min_p`` times the largest one.
* XTC, "Exclude Top Choices" (text-generation-webui PR #6335): with probability
  ``xtc_probability`` (one random draw per step), among the tokens whose probability is at least
  ``xtc_threshold``, if there are two or more, all but the least probable one are removed. As in
  the original, a step where that would remove an EOS id is left alone, so XTC never prevents a
  reply from ending.
* ``seed``: same seed and same inputs give the same tokens. Choice ``i`` of an ``n > 1`` request
  draws from its own stream, ``numpy.random.SeedSequence(seed).spawn(n)[i]`` (see
  :func:`choice_seeds`), so each choice is reproducible on its own and differs from the others.
  Without a seed every sampler draws fresh OS entropy.
* ``logprobs`` / ``top_logprobs`` (0-20): reported from the distribution *before truncation*: the
  log-softmax of the logits after penalties, logit_bias, constraint mask, min_tokens and
  temperature (a temperature of 0 counts as 1 here), i.e. of :meth:`Sampler.process`'s output. The
  numbers for alternatives are therefore finite even when top-k/top-p/min-p/XTC would have cut
  them; tokens the constraint (or a ban, or min_tokens) excludes have probability 0 and are never
  listed. ``top_logprobs`` is best first, ties toward the lowest id.

Part of the request layer (:mod:`constrain.chat`). Imports: the engine's public names only (``errors``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConstraintError, InvalidRequestError, InvalidTokenError

__all__ = [
    "MAX_TOP_LOGPROBS",
    "SampledToken",
    "Sampler",
    "SamplingParams",
    "apply_logit_bias",
    "apply_mask",
    "apply_min_tokens",
    "apply_penalties",
    "apply_temperature",
    "choice_seeds",
    "draw",
    "log_softmax",
    "make_rng",
    "min_p_filter",
    "top_k_filter",
    "top_logprobs",
    "top_p_filter",
    "xtc_filter",
]

#: The largest ``top_logprobs`` the chat-completions API accepts.
MAX_TOP_LOGPROBS = 20

#: A ``logit_bias`` value at or below this bans the token (its logit becomes ``-inf``).
BAN_BIAS = -100.0

_NEG_INF = -np.inf


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------


def _is_real(x: object) -> bool:
    # bool is an int subclass; a JSON ``true`` is not a temperature
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _is_int(x: object) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _bias_key(key: object) -> int | None:
    """A ``logit_bias`` key as an int, or None when it is not one.

    JSON object keys are strings, so the OpenAI wire format sends ``{"50256": -100}``; decimal
    strings are accepted alongside ints so a parsed request body can be passed through as is.
    """
    if _is_int(key):
        return int(key)  # type: ignore[call-overload]
    if isinstance(key, str) and key.strip().lstrip("-").isdigit():
        return int(key)
    return None


@dataclass(frozen=True)
class SamplingParams:
    """The sampling fields of one chat-completions request (see the module docstring).

    Construction does not check anything; call :meth:`validate` (``Sampler`` does).
    """

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    min_p: float = 0.0
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    repetition_penalty: float = 1.0
    logit_bias: Mapping[int, float] = field(default_factory=dict)
    min_tokens: int = 0
    xtc_threshold: float = 0.1
    xtc_probability: float = 0.0
    seed: int | None = None
    logprobs: bool = False
    top_logprobs: int = 0

    def validate(self, vocab_size: int | None = None) -> None:
        """Raise :class:`InvalidRequestError` (``field`` = the field's name) for a bad value.

        Args:
            vocab_size: when known, ``logit_bias`` keys must lie in ``[0, vocab_size)``.
        """

        def real_in(name: str, lo: float, hi: float, *, lo_open: bool = False) -> None:
            value = getattr(self, name)
            if not _is_real(value):
                raise InvalidRequestError(f"must be a number, got {value!r}", field=name)
            v = float(value)
            # written so that NaN fails too
            ok = (lo < v if lo_open else lo <= v) and v <= hi
            if not ok:
                left = "(" if lo_open else "["
                raise InvalidRequestError(f"must be in {left}{lo:g}, {hi:g}], got {value!r}", field=name)

        def int_at_least(name: str, lo: int, *, allow_none: bool = False) -> None:
            value = getattr(self, name)
            if value is None and allow_none:
                return
            if not _is_int(value):
                raise InvalidRequestError(f"must be an integer, got {value!r}", field=name)
            if value < lo:
                raise InvalidRequestError(f"must be >= {lo}, got {value!r}", field=name)

        real_in("temperature", 0.0, 2.0)
        real_in("top_p", 0.0, 1.0, lo_open=True)
        int_at_least("top_k", 0, allow_none=True)
        real_in("min_p", 0.0, 1.0)
        real_in("frequency_penalty", -2.0, 2.0)
        real_in("presence_penalty", -2.0, 2.0)
        rp = self.repetition_penalty
        if not _is_real(rp) or not (math.isfinite(float(rp)) and float(rp) > 0):
            raise InvalidRequestError(f"must be a finite number > 0, got {rp!r}", field="repetition_penalty")
        if not isinstance(self.logit_bias, Mapping):
            raise InvalidRequestError(
                f"must be a map from token id to bias, got {type(self.logit_bias).__name__}", field="logit_bias"
            )
        for key, bias in self.logit_bias.items():
            tid = _bias_key(key)
            if tid is None:
                raise InvalidRequestError(f"keys must be token ids (integers), got {key!r}", field="logit_bias")
            if tid < 0 or (vocab_size is not None and tid >= vocab_size):
                bound = f"[0, {vocab_size})" if vocab_size is not None else ">= 0"
                raise InvalidRequestError(f"token id {tid} is outside the vocabulary {bound}", field="logit_bias")
            if not _is_real(bias) or not -100.0 <= float(bias) <= 100.0:
                raise InvalidRequestError(f"bias for token {tid} must be in [-100, 100], got {bias!r}", field="logit_bias")
        int_at_least("min_tokens", 0)
        real_in("xtc_threshold", 0.0, 1.0)
        real_in("xtc_probability", 0.0, 1.0)
        if self.seed is not None and not _is_int(self.seed):
            raise InvalidRequestError(f"must be an integer or null, got {self.seed!r}", field="seed")
        if not isinstance(self.logprobs, (bool, np.bool_)):
            raise InvalidRequestError(f"must be a boolean, got {self.logprobs!r}", field="logprobs")
        int_at_least("top_logprobs", 0)
        if self.top_logprobs > MAX_TOP_LOGPROBS:
            raise InvalidRequestError(
                f"must be in [0, {MAX_TOP_LOGPROBS}], got {self.top_logprobs!r}", field="top_logprobs"
            )
        if self.top_logprobs and not self.logprobs:
            # the OpenAI API refuses this combination rather than ignoring top_logprobs
            raise InvalidRequestError("requires logprobs to be true", field="top_logprobs")


@dataclass
class SampledToken:
    """One sampled token and, when ``params.logprobs``, its log-probabilities.

    Attributes:
        token_id: the token.
        logprob: its log-probability under the reported distribution (module docstring), or
            ``None`` unless ``params.logprobs``.
        top_logprobs: ``(token_id, logprob)`` of the ``params.top_logprobs`` most likely tokens,
            best first (ties toward the lowest id); fewer when fewer tokens are allowed.
    """

    token_id: int
    logprob: float | None = None
    top_logprobs: list[tuple[int, float]] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Random streams
# --------------------------------------------------------------------------------------------


def _seed_entropy(seed: int) -> int:
    # SeedSequence wants a non-negative entropy; the API allows any integer seed
    return int(seed) % (1 << 64)


def choice_seeds(seed: int, n: int) -> list[np.random.SeedSequence]:
    """The independent seed sequences of choices ``0 .. n-1`` of a request seeded with ``seed``.

    Child ``i`` depends only on ``seed`` and ``i`` (not on ``n``), so choice ``i`` is reproducible
    on its own. ``Sampler(..., choice_index=i)`` uses ``choice_seeds(seed, n)[i]``.
    """
    return np.random.SeedSequence(_seed_entropy(seed)).spawn(int(n))


def make_rng(seed: int | None, choice_index: int = 0) -> np.random.Generator:
    """The PCG64 generator of choice ``choice_index``: seeded from :func:`choice_seeds`, or fresh
    OS entropy when ``seed`` is None."""
    if seed is None:
        return np.random.Generator(np.random.PCG64())
    if choice_index < 0:
        raise ValueError(f"choice_index must be >= 0, got {choice_index}")
    # the same child SeedSequence(seed).spawn(n)[i] would give, without building the others
    child = np.random.SeedSequence(_seed_entropy(seed), spawn_key=(int(choice_index),))
    return np.random.Generator(np.random.PCG64(child))


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _float_copy(logits: np.ndarray) -> np.ndarray:
    """A fresh float copy of ``logits`` (float dtypes kept, anything else as float32)."""
    arr = np.asarray(logits)
    if arr.ndim not in (1, 2):
        raise ValueError(f"logits must have shape [vocab] or [batch, vocab], got {arr.shape}")
    dtype = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float32
    return np.array(arr, dtype=dtype, copy=True)


def _softmax64(x: np.ndarray) -> np.ndarray:
    """Softmax along the last axis in float64 (probabilities near the cut-offs need the precision).

    A row that is entirely ``-inf`` gives NaNs; callers never let such a row reach a decision.
    """
    x64 = x.astype(np.float64, copy=False)
    m = np.max(x64, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        e = np.exp(x64 - m)
        return e / np.sum(e, axis=-1, keepdims=True)


def _top_k_mask(x: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of exactly ``k`` largest entries per row, ties toward the lowest id. O(vocab).

    np.argpartition breaks ties arbitrarily, so the k-th largest value is found with np.partition,
    everything strictly above it is kept, and the tied entries fill the remaining slots in id order.
    """
    vocab = x.shape[-1]
    if k >= vocab:
        return np.ones(x.shape, dtype=bool)
    kth = np.partition(x, vocab - k, axis=-1)[..., vocab - k : vocab - k + 1]
    above = x > kth
    tied = x == kth
    slots = k - np.sum(above, axis=-1, keepdims=True)
    return above | (tied & (np.cumsum(tied, axis=-1) <= slots))


def _allowed_bool(allowed: np.ndarray, vocab: int) -> np.ndarray:
    """``allowed`` as booleans of width ``vocab`` (int32 bitmask rows unpacked; missing ids disallowed)."""
    a = np.asarray(allowed)
    if a.dtype == np.int32:
        # a row of the int32 bitmask that Matcher.fill_next_token_bitmask fills
        a = np.unpackbits(np.ascontiguousarray(a, dtype="<i4").view(np.uint8), axis=-1, bitorder="little")
        a = a.astype(bool)
    elif a.dtype != np.bool_:
        raise ValueError(f"allowed must be a boolean array or an int32 bitmask, not {a.dtype}")
    width = a.shape[-1]
    if width >= vocab:
        return a[..., :vocab]
    # logits wider than the tokenizer's vocabulary (padded embedding rows): the extra ids are never allowed
    pad = np.zeros((*a.shape[:-1], vocab - width), dtype=bool)
    return np.concatenate([a, pad], axis=-1)


def _bias_arrays(logit_bias: Mapping[int, float], vocab: int) -> tuple[np.ndarray, np.ndarray]:
    ids = np.empty(len(logit_bias), dtype=np.int64)
    vals = np.empty(len(logit_bias), dtype=np.float64)
    for i, (key, bias) in enumerate(logit_bias.items()):  # a loop over the bias entries, not the vocabulary
        tid = _bias_key(key)
        if tid is None or not 0 <= tid < vocab:
            raise InvalidRequestError(f"token id {key!r} is outside the vocabulary [0, {vocab})", field="logit_bias")
        ids[i] = tid
        vals[i] = float(bias)
    return ids, vals


# --------------------------------------------------------------------------------------------
# Stages, in pipeline order
# --------------------------------------------------------------------------------------------


def _penalize(
    out: np.ndarray,
    counts: np.ndarray,
    seen: np.ndarray,
    frequency_penalty: float,
    presence_penalty: float,
    repetition_penalty: float,
) -> np.ndarray:
    """In-place core of :func:`apply_penalties` (``seen``: prompt or generated, precomputed)."""
    if repetition_penalty != 1.0:
        # CTRL: divide positive logits, multiply negative ones, so the token always becomes less likely
        rp = out.dtype.type(repetition_penalty)
        out = np.where(seen, np.where(out > 0, out / rp, out * rp), out).astype(out.dtype, copy=False)
    if frequency_penalty != 0.0 or presence_penalty != 0.0:
        delta = counts * float(frequency_penalty) + (counts > 0) * float(presence_penalty)
        out -= delta.astype(out.dtype, copy=False)
    return out


def apply_penalties(
    logits: np.ndarray,
    generated_counts: np.ndarray,
    prompt_ids: Sequence[int] | np.ndarray = (),
    *,
    frequency_penalty: float = 0.0,
    presence_penalty: float = 0.0,
    repetition_penalty: float = 1.0,
) -> np.ndarray:
    """Stage 1: repetition, then frequency and presence penalties.

    Args:
        logits: ``[vocab]`` or ``[batch, vocab]``.
        generated_counts: how often each token id was *generated* so far, shape ``[vocab]`` (or
            ``[batch, vocab]``); ``np.bincount(generated_ids, minlength=vocab)`` builds it.
        prompt_ids: the prompt's token ids; they count for ``repetition_penalty`` only.
        frequency_penalty: ``logit[j] -= count[j] * frequency_penalty`` (OpenAI).
        presence_penalty: ``logit[j] -= presence_penalty`` if ``count[j] > 0`` (OpenAI).
        repetition_penalty: for every token in the prompt or generated, a logit > 0 is divided by
            it and one <= 0 multiplied (CTRL / Hugging Face ``RepetitionPenaltyLogitsProcessor``);
            1.0 is off. Applied before the additive penalties (the order vLLM uses).
    """
    out = _float_copy(logits)
    vocab = out.shape[-1]
    counts = np.asarray(generated_counts)
    if counts.shape[-1] != vocab:
        raise ValueError(f"generated_counts has width {counts.shape[-1]}, logits {vocab}")
    seen = counts > 0
    prompt = np.asarray(prompt_ids, dtype=np.int64).reshape(-1)
    if repetition_penalty != 1.0 and prompt.size:
        in_prompt = np.zeros(vocab, dtype=bool)
        in_prompt[prompt] = True
        seen = seen | in_prompt
    return _penalize(out, counts, seen, frequency_penalty, presence_penalty, repetition_penalty)


def apply_logit_bias(
    logits: np.ndarray, logit_bias: Mapping[int, float], *, ban_at: float | None = BAN_BIAS
) -> np.ndarray:
    """Stage 2: add ``logit_bias[token_id]`` to each listed token's logit.

    A bias ``<= ban_at`` (default -100) sets the logit to ``-inf``: OpenAI documents -100 as
    "should result in a ban", and a plain ``-100`` would not ban a token whose logit is far above
    the others. ``ban_at=None`` adds every bias as a number (the fallback used when the bans would
    leave the constraint no token). Keys may be ints or decimal strings (JSON object keys).
    """
    out = _float_copy(logits)
    if not logit_bias:
        return out
    ids, vals = _bias_arrays(logit_bias, out.shape[-1])
    return _bias(out, ids, vals, ban_at)


def _bias(out: np.ndarray, ids: np.ndarray, vals: np.ndarray, ban_at: float | None) -> np.ndarray:
    if ban_at is None:
        out[..., ids] += vals.astype(out.dtype)
        return out
    banned = vals <= ban_at
    out[..., ids[~banned]] += vals[~banned].astype(out.dtype)
    out[..., ids[banned]] = _NEG_INF
    return out


def apply_mask(logits: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    """Stage 3: the constraint; tokens not in ``allowed`` become ``-inf``.

    Args:
        allowed: booleans over the vocabulary (``[vocab]`` or ``[batch, vocab]``), an int32
            bitmask row as ``Matcher.fill_next_token_bitmask`` fills it, or None (no constraint).
            Ids past its width (logits wider than the tokenizer's vocabulary) are disallowed.
    """
    out = _float_copy(logits)
    if allowed is None:
        return out
    ok = _allowed_bool(allowed, out.shape[-1])
    return np.where(ok, out, out.dtype.type(_NEG_INF)).astype(out.dtype, copy=False)


def apply_min_tokens(
    logits: np.ndarray, num_generated: int, min_tokens: int, eos_token_ids: Sequence[int]
) -> np.ndarray:
    """Stage 4: EOS ids get ``-inf`` while ``num_generated < min_tokens``.

    When that would leave a row no allowed token (the constraint allows only EOS: the output is
    complete and cannot go on), the row is returned unchanged: the constraint wins over min_tokens,
    because generating past it would break the constraint and blocking everything would stall.
    """
    out = _float_copy(logits)
    if num_generated >= min_tokens or len(eos_token_ids) == 0:
        return out
    blocked = out.copy()
    blocked[..., np.asarray(eos_token_ids, dtype=np.int64)] = _NEG_INF
    alive = np.any(blocked > _NEG_INF, axis=-1, keepdims=True)
    return np.where(alive, blocked, out)


def apply_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """Stage 5: divide by ``temperature``; 0 (greedy) and 1 return the logits unchanged.

    Greedy decoding is the argmax, which temperature does not move; leaving the logits as they are
    at 0 also makes them the distribution that logprobs are reported from (temperature 0 counts as 1).
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    out = _float_copy(logits)
    if temperature in (0.0, 1.0):
        return out
    out /= out.dtype.type(temperature)
    return out


def top_k_filter(logits: np.ndarray, top_k: int | None) -> np.ndarray:
    """Stage 6: keep the ``top_k`` largest logits, ``-inf`` elsewhere; 0 or None is off.

    Exactly ``top_k`` tokens are kept, ties broken toward the lowest id, so ``top_k=1`` picks the
    same token as greedy decoding (Hugging Face keeps every token tied with the k-th instead).
    """
    out = _float_copy(logits)
    if not top_k or top_k >= out.shape[-1]:
        return out
    out[~_top_k_mask(out, int(top_k))] = _NEG_INF
    return out


def top_p_filter(logits: np.ndarray, top_p: float) -> np.ndarray:
    """Stage 7: nucleus; keep the smallest set of most likely tokens whose probability reaches
    ``top_p``, ``-inf`` elsewhere. The most likely token is always kept; 1.0 is off.

    Ties in probability are ordered by id (lowest first), so the set is deterministic.
    """
    out = _float_copy(logits)
    if top_p >= 1.0:
        return out
    if out.ndim == 1:
        keep_ids = _nucleus_1d(out, top_p)
        kept = np.full_like(out, _NEG_INF)
        kept[keep_ids] = out[keep_ids]
        return kept
    probs = _softmax64(out)
    # stable sort of -logits: descending probability, lowest id first among equals
    order = np.argsort(-out, axis=-1, kind="stable")
    sorted_p = np.take_along_axis(probs, order, axis=-1)
    keep_sorted = _needed(sorted_p, top_p)
    keep = np.empty_like(keep_sorted)
    np.put_along_axis(keep, order, keep_sorted, axis=-1)
    out[~keep] = _NEG_INF
    return out


def _needed(sorted_p: np.ndarray, top_p: float) -> np.ndarray:
    """Which of the probabilities (sorted descending along the last axis) the nucleus needs."""
    cum = np.cumsum(sorted_p, axis=-1)
    # mass of the tokens ranked before each one; a token is needed while that mass is short of top_p
    before = np.concatenate([np.zeros_like(cum[..., :1]), cum[..., :-1]], axis=-1)
    keep = before < top_p
    keep[..., 0] = True
    return keep


#: head sizes the 1-D nucleus tries, smallest first, before sorting the whole vocabulary
_NUCLEUS_HEADS = (1024, 16384)


def _nucleus_1d(x: np.ndarray, top_p: float) -> np.ndarray:
    """Ids of the top-p nucleus of one row.

    The nucleus is a prefix of the ranking, so when the ``h`` most likely tokens (with every token
    tied with the last of them) already hold ``top_p`` of the mass, only they are sorted: an
    O(vocab) partition plus a sort of ``h`` instead of a sort of the vocabulary. The cumulative
    sums are the same as a full sort's, as the candidates are exactly the head of the full ranking.
    """
    vocab = x.shape[0]
    probs = _softmax64(x)
    finite = int(np.count_nonzero(x > _NEG_INF))
    if finite == 0:
        return np.arange(vocab)  # nothing allowed: leave the row as it is (all -inf)
    cand = None
    for head in _NUCLEUS_HEADS:
        if finite <= head:
            break
        kth = np.partition(x, vocab - head)[vocab - head]  # -inf sort first, so kth is finite here
        ids = np.flatnonzero(x >= kth)
        if probs[ids].sum() >= top_p:
            cand = ids
            break
    if cand is None:
        cand = np.flatnonzero(x > _NEG_INF)
    # cand is in id order, so a stable sort of -x ranks ties lowest id first
    order = cand[np.argsort(-x[cand], kind="stable")]
    return order[_needed(probs[order], top_p)]


def min_p_filter(logits: np.ndarray, min_p: float) -> np.ndarray:
    """Stage 8: drop tokens whose probability is below ``min_p`` times the largest one; 0 is off.

    Compared in log space (``logit - max_logit < log(min_p)``), which needs no softmax.
    """
    out = _float_copy(logits)
    if min_p <= 0.0:
        return out
    x = out.astype(np.float64)
    m = np.max(x, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore"):
        drop = (x - m) < math.log(min_p)
    out[drop] = _NEG_INF
    return out


def xtc_filter(
    logits: np.ndarray,
    threshold: float,
    probability: float,
    rng: np.random.Generator,
    *,
    protected_token_ids: Sequence[int] = (),
) -> np.ndarray:
    """Stage 9: XTC, "Exclude Top Choices" (text-generation-webui PR #6335).

    With probability ``probability`` (one ``rng.random()`` draw per call whenever
    ``probability > 0``; none when it is 0, so XTC off leaves the random stream alone): among the
    tokens whose probability is ``>= threshold``, if there are at least two, all of them but the
    least probable one become ``-inf`` (on ties the one with the highest id stays, as a stable
    descending sort would leave it last). A ``threshold`` above 0.5 therefore never acts.

    Args:
        protected_token_ids: if XTC would remove one of these in a row, it leaves that row alone
            (the original does so for newline and EOS, so that it cannot keep a reply from ending).
            :class:`Sampler` passes its EOS ids.

    The draw is shared by every row of a ``[batch, vocab]`` array.
    """
    out = _float_copy(logits)
    if probability <= 0.0:
        return out
    if rng.random() >= probability:
        return out
    probs = _softmax64(out)
    # masked tokens have probability 0 and are never "top choices", even with threshold 0
    above = (probs >= threshold) & (out > _NEG_INF)
    lowest = np.min(np.where(above, probs, np.inf), axis=-1, keepdims=True)
    tied_lowest = above & (probs == lowest)
    vocab = out.shape[-1]
    keep_id = vocab - 1 - np.argmax(tied_lowest[..., ::-1], axis=-1)  # highest id among the tied
    remove = above.copy()
    np.put_along_axis(remove, keep_id[..., None], False, axis=-1)
    acts = np.sum(above, axis=-1, keepdims=True) >= 2
    if len(protected_token_ids):
        prot = np.asarray(protected_token_ids, dtype=np.int64)
        acts &= ~np.any(remove[..., prot], axis=-1, keepdims=True)
    out[remove & acts] = _NEG_INF
    return out


def draw(logits: np.ndarray, rng: np.random.Generator) -> int:
    """Stage 10: one token from ``softmax(logits)`` of a ``[vocab]`` row, with one ``rng.random()``.

    Inverse-CDF sampling: a token of probability 0 (``-inf``) is never returned.

    Raises:
        ConstraintError: every logit is ``-inf``.
    """
    x = np.asarray(logits)
    if x.ndim != 1:
        raise ValueError(f"draw takes one [vocab] row, got shape {x.shape}")
    if not np.any(x > _NEG_INF):
        raise ConstraintError("no token is allowed: every logit is -inf")
    cum = np.cumsum(_softmax64(x))
    u = rng.random() * cum[-1]
    idx = int(np.searchsorted(cum, u, side="right"))
    # rounding can put u at the very top; fall back to the last token with non-zero probability
    last = int(np.flatnonzero(x > _NEG_INF)[-1])
    return min(idx, last)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """``log(softmax(logits))`` along the last axis, float64; ``-inf`` stays ``-inf``."""
    x = np.asarray(logits, dtype=np.float64)
    m = np.max(x, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return x - m - np.log(np.sum(np.exp(x - m), axis=-1, keepdims=True))


def top_logprobs(logprobs: np.ndarray, n: int) -> list[tuple[int, float]]:
    """The ``n`` most likely ``(token_id, logprob)`` of a ``[vocab]`` row, best first, ties toward
    the lowest id; ``-inf`` tokens (masked, banned) are never listed."""
    lp = np.asarray(logprobs)
    if n <= 0:
        return []
    finite = int(np.count_nonzero(lp > _NEG_INF))
    n = min(int(n), finite)
    if n == 0:
        return []
    # everything at least as likely as the n-th best (ties included), then an exact ordering of those few
    kth = np.partition(lp, lp.shape[0] - n)[lp.shape[0] - n]
    ids = np.flatnonzero(lp >= kth)
    ids = ids[np.lexsort((ids, -lp[ids]))][:n]
    return [(int(t), float(lp[t])) for t in ids]


# --------------------------------------------------------------------------------------------
# The pipeline
# --------------------------------------------------------------------------------------------


class Sampler:
    """The whole pipeline for one choice: holds the random stream and the generated-token counts.

    Per step::

        tok = sampler.sample(logits, allowed)     # allowed: bool [vocab], int32 bitmask row, or None
        sampler.accept(tok.token_id)              # sample() does not record the token itself

    Tokens inserted without sampling (jump-forward) go through :meth:`accept` too, so penalties and
    ``min_tokens`` count them like any generated token.

    Args:
        params: the request's sampling fields; validated here (``InvalidRequestError``).
        vocab_size: the width of the logits.
        eos_token_ids: the ids ``min_tokens`` blocks (and that XTC never removes).
        prompt_token_ids: the prompt, for ``repetition_penalty``.
        choice_index: which of the request's ``n`` choices this is (its random stream).
    """

    def __init__(
        self,
        params: SamplingParams,
        *,
        vocab_size: int,
        eos_token_ids: Sequence[int],
        prompt_token_ids: Sequence[int] = (),
        choice_index: int = 0,
    ) -> None:
        if vocab_size < 1:
            raise ValueError(f"vocab_size must be >= 1, got {vocab_size}")
        params.validate(vocab_size)
        self.params = params
        self.vocab_size = int(vocab_size)
        eos = np.asarray(list(eos_token_ids), dtype=np.int64)
        prompt = np.asarray(list(prompt_token_ids), dtype=np.int64)
        for name, ids in (("eos_token_ids", eos), ("prompt_token_ids", prompt)):
            if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
                raise InvalidTokenError(f"{name} has ids outside [0, {vocab_size})")
        self.eos_token_ids: tuple[int, ...] = tuple(int(t) for t in eos)
        self.choice_index = int(choice_index)
        #: the random stream (PCG64) of this choice
        self.rng = make_rng(params.seed, choice_index)
        self._counts = np.zeros(self.vocab_size, dtype=np.int64)
        # prompt or generated: what repetition_penalty acts on, kept up to date by accept()
        self._seen = np.zeros(self.vocab_size, dtype=bool)
        self._seen[prompt] = True
        self._num_generated = 0
        self._bias_ids, self._bias_vals = _bias_arrays(params.logit_bias, self.vocab_size)

    @property
    def num_generated(self) -> int:
        """How many tokens :meth:`accept` has recorded."""
        return self._num_generated

    @property
    def generated_counts(self) -> np.ndarray:
        """A copy of the per-token generated counts (what the frequency/presence penalties use)."""
        return self._counts.copy()

    def accept(self, token_id: int) -> None:
        """Record a generated (or jump-forward) token for the penalties and ``min_tokens``."""
        t = int(token_id)
        if not 0 <= t < self.vocab_size:
            raise InvalidTokenError(f"token id {t} is outside [0, {self.vocab_size})")
        self._counts[t] += 1
        self._seen[t] = True
        self._num_generated += 1

    def _row(self, logits: np.ndarray) -> np.ndarray:
        x = np.asarray(logits)
        if x.ndim == 2 and x.shape[0] == 1:
            x = x[0]
        if x.ndim != 1 or x.shape[0] != self.vocab_size:
            raise ValueError(f"logits must have shape [{self.vocab_size}] or [1, {self.vocab_size}], got {x.shape}")
        return x

    def process(self, logits: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
        """Stages 1-5 (penalties, logit_bias, mask, min_tokens, temperature); a new array.

        Its log-softmax is the distribution logprobs are reported from. ``logits`` is ``[vocab]``
        or ``[1, vocab]``; the result has the same shape.

        Raises:
            ConstraintError: no token is left (the constraint allows nothing the logits permit).
        """
        x = self._row(logits)
        p = self.params
        out = _penalize(
            _float_copy(x), self._counts, self._seen, p.frequency_penalty, p.presence_penalty, p.repetition_penalty
        )
        biased = _bias(out.copy(), self._bias_ids, self._bias_vals, BAN_BIAS)
        masked = apply_mask(biased, allowed)
        if not np.any(masked > _NEG_INF) and self._bias_ids.size:
            # the bans took every token the constraint allows: the constraint wins, bans become -100
            masked = apply_mask(_bias(out, self._bias_ids, self._bias_vals, None), allowed)
        if not np.any(masked > _NEG_INF):
            raise ConstraintError("no token is allowed: the constraint excludes every token the logits permit")
        masked = apply_min_tokens(masked, self._num_generated, p.min_tokens, self.eos_token_ids)
        result = apply_temperature(masked, p.temperature)
        return result.reshape(np.shape(logits))

    def sample(self, logits: np.ndarray, allowed: np.ndarray | None = None) -> SampledToken:
        """The full pipeline and the draw for one step (the token is not recorded: call :meth:`accept`)."""
        p = self.params
        x = self.process(self._row(logits), allowed)
        if p.temperature == 0:
            token = int(np.argmax(x))  # first maximum: ties go to the lowest id
        else:
            y = top_k_filter(x, p.top_k)
            y = top_p_filter(y, p.top_p)
            y = min_p_filter(y, p.min_p)
            y = xtc_filter(y, p.xtc_threshold, p.xtc_probability, self.rng, protected_token_ids=self.eos_token_ids)
            token = draw(y, self.rng)
        if not p.logprobs:
            return SampledToken(token_id=token, logprob=None, top_logprobs=[])
        lp = log_softmax(x)
        return SampledToken(token_id=token, logprob=float(lp[token]), top_logprobs=top_logprobs(lp, p.top_logprobs))
