"""Logits processors: apply constraint masks inside any generation loop.

:class:`ConstraintLogitsProcessor` is a framework-free callable ``(input_ids, logits) -> logits``
for hand-written numpy or torch loops; :mod:`constrain.integrations.transformers` wraps it as a
``transformers.LogitsProcessor`` for ``model.generate``.

The processor keeps one :class:`~constrain.matcher.Matcher` per batch row. On every call it reads
each row's newest token from ``input_ids`` (everything past the prompt length seen on the first
call), advances that row's matcher, and masks the row's logits. Rows that were reordered (beam
search) are matched to the matcher that consumed the same prefix, so beams keep correct state.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .bitmask import allocate_token_bitmask, apply_token_bitmask_inplace
from .compiler import CompiledConstraint
from .errors import ConstraintError
from .matcher import Matcher


def _rows_as_lists(input_ids: Any, start: int = 0) -> list[list[int]]:
    """Rows of ``input_ids`` from column ``start`` on, as Python lists (prompt columns are skipped
    before the conversion, so a long prompt costs nothing per step)."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(input_ids, torch.Tensor):
        arr = input_ids.detach()
        if arr.dim() == 1:
            arr = arr.unsqueeze(0)
        return arr[:, start:].cpu().tolist()
    arr = np.asarray(input_ids)
    if arr.ndim == 1:
        arr = arr[None, :]
    return arr[:, start:].tolist()


class ConstraintLogitsProcessor:
    """Masks logits so every row follows its compiled constraint.

    Args:
        constraints: one :class:`~constrain.compiler.CompiledConstraint` for every row, or a list
            with one per row (different formats in one batch are fine). A list shorter than the
            batch is repeated row-wise when the batch is a multiple of it (``num_return_sequences``
            in ``generate`` expands each prompt into consecutive rows).

    Call it as ``processor(input_ids, logits)``: ``input_ids`` is ``(batch, seq)`` (prompt plus
    generated tokens so far; 1-D for a single row), ``logits`` is ``(batch, vocab)``, numpy or
    torch; the masked logits are returned (modified in place). Call :meth:`reset` before reusing
    it for a new batch of prompts.

    Attributes:
        matchers: the per-row matchers (``None`` until the first call).
        mask_seconds: total time spent computing and applying masks, for profiling.
    """

    def __init__(self, constraints: CompiledConstraint | Sequence[CompiledConstraint]) -> None:
        if isinstance(constraints, CompiledConstraint):
            self._constraints: list[CompiledConstraint] = [constraints]
        else:
            self._constraints = list(constraints)
            if not self._constraints or not all(isinstance(c, CompiledConstraint) for c in self._constraints):
                raise ConstraintError("constraints must be a CompiledConstraint or a non-empty list of them")
        if len({c.vocab.size for c in self._constraints}) != 1:
            raise ConstraintError("all constraints of one processor must share a vocabulary size")
        self.matchers: list[Matcher] | None = None
        self._consumed: list[list[int]] = []
        self._prompt_len = 0
        self._bitmask: Any = None
        self.mask_seconds = 0.0

    def reset(self) -> None:
        """Forget all rows; the next call starts a new batch."""
        self.matchers = None
        self._consumed = []
        self._bitmask = None

    def _start(self, batch: int, prompt_len: int) -> None:
        n = len(self._constraints)
        if batch % n:
            raise ConstraintError(f"batch of {batch} rows does not fit {n} constraints (one per row, or a divisor)")
        per = batch // n
        self.matchers = [self._constraints[i // per].matcher() for i in range(batch)]
        self._consumed = [[] for _ in range(batch)]
        self._prompt_len = prompt_len

    def _sync(self, rows: list[list[int]]) -> None:
        """Bring every row's matcher up to the tokens generated so far (``rows``: generated part)."""
        assert self.matchers is not None
        old_matchers = self.matchers
        old_consumed = self._consumed
        new_matchers: list[Matcher] = []
        new_consumed: list[list[int]] = []
        for i, generated in enumerate(rows):
            matcher, consumed = old_matchers[i], old_consumed[i]
            if generated[: len(consumed)] != consumed or len(generated) < len(consumed):
                # Rows were reordered (beam search): take the matcher that consumed this prefix.
                # Matchers and their token lists advance together, so any pair found is consistent.
                matcher, consumed = self._find_or_replay(generated, old_matchers, old_consumed, i)
            for t in generated[len(consumed):]:
                # A finished row keeps receiving padding; an off-constraint token cannot be followed.
                if not matcher.is_terminated() and not matcher.accept_token(t):
                    raise ConstraintError(
                        f"row {i}: token {t} is not allowed by its constraint at step {len(consumed)}; "
                        "was the mask applied before sampling?"
                    )
                consumed.append(t)
            new_matchers.append(matcher)
            new_consumed.append(consumed)
        self.matchers = new_matchers
        self._consumed = new_consumed

    def _find_or_replay(
        self, generated: list[int], matchers: list[Matcher], consumed: list[list[int]], row: int
    ) -> tuple[Matcher, list[int]]:
        best = -1
        for j, c in enumerate(consumed):
            if len(c) <= len(generated) and generated[: len(c)] == c and (best < 0 or len(c) > len(consumed[best])):
                best = j
        if best >= 0:
            return matchers[best].copy(), list(consumed[best])
        constraint = self._constraints[row // (len(matchers) // len(self._constraints))]
        return constraint.matcher(), []

    def __call__(self, input_ids: Any, logits: Any) -> Any:
        start = time.perf_counter()
        shape = tuple(input_ids.shape) if hasattr(input_ids, "shape") else np.shape(input_ids)
        batch = 1 if len(shape) == 1 else shape[0]
        squeeze = getattr(logits, "ndim", None) == 1 or (hasattr(logits, "dim") and logits.dim() == 1)
        if squeeze and batch != 1:
            raise ConstraintError("1-D logits need 1-D input_ids (a single row)")
        if self.matchers is None:
            self._start(batch, shape[-1])
        elif len(self.matchers) != batch:
            raise ConstraintError(
                f"batch size changed from {len(self.matchers)} to {batch} rows; call reset() between batches"
            )
        else:
            self._sync(_rows_as_lists(input_ids, self._prompt_len))
        assert self.matchers is not None
        if self._bitmask is None:
            self._bitmask = allocate_token_bitmask(batch, self._constraints[0].vocab.size)
        for i, m in enumerate(self.matchers):
            m.fill_next_token_bitmask(self._bitmask, i)
        apply_token_bitmask_inplace(logits, self._bitmask[0] if squeeze else self._bitmask)
        self.mask_seconds += time.perf_counter() - start
        return logits
