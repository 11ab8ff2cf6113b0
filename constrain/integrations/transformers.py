"""Hugging Face ``transformers`` adapter: a ``LogitsProcessor`` for ``model.generate``.

Usage::

    from transformers import LogitsProcessorList
    from constrain.integrations.transformers import build_logits_processor

    proc = build_logits_processor({"type": "regex", "schema": r"\\d{4}-\\d{2}-\\d{2}"}, tokenizer,
                                  vocab_size=model.config.vocab_size)
    out = model.generate(input_ids, logits_processor=LogitsProcessorList([proc]), max_new_tokens=20)

One matcher follows each row of the batch; rows may have different formats (pass a list, one per
prompt or one per row), and ``num_return_sequences`` works because a list shorter than the batch is
repeated row-wise. After a row emits EOS, ``generate`` keeps feeding it padding; the matcher of a
finished row ignores those tokens.

The processor detects the start of a new ``generate`` call (the prompt part of ``input_ids``
changes, or the sequence does not grow by exactly one token) and starts fresh matchers, so one
instance may be reused across calls. Call :meth:`ConstrainLogitsProcessor.reset` to force it.

This module imports ``transformers`` and ``torch`` at the top: import it only where they are installed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from transformers import LogitsProcessor

from ..compiler import CompiledConstraint, compile
from ..errors import ConstraintError
from ..processors import ConstraintLogitsProcessor
from ..vocab import Vocabulary

__all__ = ["ConstrainLogitsProcessor", "build_logits_processor", "vocabulary_for"]


class ConstrainLogitsProcessor(LogitsProcessor):
    """``transformers.LogitsProcessor`` that masks every row to its compiled constraint.

    Args:
        constraints: one :class:`~constrain.compiler.CompiledConstraint` for every row, or a list
            with one per row (or one per prompt, with ``num_return_sequences`` expanding each into
            consecutive rows). Same argument as :class:`constrain.ConstraintLogitsProcessor`.

    Attributes:
        processor: the wrapped framework-free :class:`constrain.ConstraintLogitsProcessor`.
    """

    def __init__(self, constraints: CompiledConstraint | Sequence[CompiledConstraint]) -> None:
        self.processor = ConstraintLogitsProcessor(constraints)
        self._prompt: torch.Tensor | None = None
        self._last_len = -1

    @property
    def matchers(self) -> list[Any] | None:
        """The per-row matchers of the current generation (``None`` before the first call)."""
        return self.processor.matchers

    @property
    def mask_seconds(self) -> float:
        """Total time spent computing and applying masks since this processor was created."""
        return self.processor.mask_seconds

    def reset(self) -> None:
        """Forget the current rows; the next call starts a new generation."""
        self.processor.reset()
        self._prompt = None
        self._last_len = -1

    def _is_new_generation(self, input_ids: torch.Tensor) -> bool:
        if self._prompt is None:
            return True
        if input_ids.shape[0] != self._prompt.shape[0] or input_ids.shape[1] != self._last_len + 1:
            return True
        prompt_len = self._prompt.shape[1]
        return not torch.equal(input_ids[:, :prompt_len].to(self._prompt.device), self._prompt)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.Tensor) -> torch.Tensor:
        """Mask ``scores`` (``(batch, vocab)``, modified in place) and return it."""
        if input_ids.dim() == 1:
            input_ids = input_ids.unsqueeze(0)
        if self._is_new_generation(input_ids):
            self.processor.reset()
            self._prompt = input_ids.detach().clone()
        self._last_len = input_ids.shape[1]
        return self.processor(input_ids, scores)


# A few tokenizer -> Vocabulary conversions are kept, so that building processors repeatedly for the
# same tokenizer reuses one Vocabulary (and with it the compile cache, which is keyed by vocabulary).
_VOCAB_CACHE: dict[tuple[int, int | None], tuple[Any, Vocabulary]] = {}
_VOCAB_CACHE_SIZE = 8


def vocabulary_for(tokenizer_or_vocab: Any, vocab_size: int | None = None) -> Vocabulary:
    """A :class:`~constrain.vocab.Vocabulary` for a transformers tokenizer (cached) or a Vocabulary.

    Args:
        tokenizer_or_vocab: a transformers tokenizer or an existing Vocabulary.
        vocab_size: the model's logits width (``model.config.vocab_size``) when it exceeds the
            tokenizer's size; the vocabulary is padded to it.
    """
    if isinstance(tokenizer_or_vocab, Vocabulary):
        return tokenizer_or_vocab if vocab_size is None else tokenizer_or_vocab.padded(vocab_size)
    key = (id(tokenizer_or_vocab), vocab_size)
    hit = _VOCAB_CACHE.get(key)
    if hit is not None and hit[0] is tokenizer_or_vocab:
        return hit[1]
    vocab = Vocabulary.from_transformers(tokenizer_or_vocab, vocab_size=vocab_size)
    if len(_VOCAB_CACHE) >= _VOCAB_CACHE_SIZE:
        _VOCAB_CACHE.pop(next(iter(_VOCAB_CACHE)))
    _VOCAB_CACHE[key] = (tokenizer_or_vocab, vocab)
    return vocab


def build_logits_processor(
    response_formats: Mapping[str, Any] | CompiledConstraint | None | Sequence[Mapping[str, Any] | CompiledConstraint | None],
    tokenizer_or_vocab: Any,
    *,
    vocab_size: int | None = None,
) -> ConstrainLogitsProcessor:
    """Compile ``response_format`` dict(s) and wrap them in a :class:`ConstrainLogitsProcessor`.

    Args:
        response_formats: one ``response_format`` (dict, ``None`` for free text, or an already
            compiled constraint) for every row, or a list of them: one per row, or one per prompt
            when ``num_return_sequences`` > 1.
        tokenizer_or_vocab: the model's transformers tokenizer, or a :class:`Vocabulary`.
        vocab_size: the model's logits width if larger than the tokenizer (``model.config.vocab_size``).

    Raises:
        ConstraintError: a bad response_format, regex or vocabulary (see :func:`constrain.compile`).
    """
    vocab = vocabulary_for(tokenizer_or_vocab, vocab_size)
    if response_formats is None or isinstance(response_formats, (Mapping, CompiledConstraint)):
        items: list[Any] = [response_formats]
    elif isinstance(response_formats, Sequence) and not isinstance(response_formats, (str, bytes)):
        items = list(response_formats)
        if not items:
            raise ConstraintError("response_formats must not be an empty list")
    else:
        raise ConstraintError(
            f"response_formats must be a response_format dict or a list of them, not {type(response_formats).__name__}"
        )
    compiled = [rf if isinstance(rf, CompiledConstraint) else compile(rf, vocab) for rf in items]
    return ConstrainLogitsProcessor(compiled)
