"""Per-sequence state: which tokens may come next, accept, roll back, jump forward.

A :class:`Matcher` follows one generated sequence through a compiled constraint. It is cheap to
create and to :meth:`~Matcher.copy` (its state is a list of automaton states, one per accepted
step), while the expensive parts — automaton, token trie, mask cache — live in the shared,
immutable :class:`~constrain.compiler.CompiledConstraint`.

The matcher knows its constraint only through :class:`MatchTarget`, the few queries it makes of
it, so this module does not import the compiler (the compiler imports it).

Imports: ``bitmask`` and ``errors`` only.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol

import numpy as np

from .bitmask import bitmask_row_to_ids
from .errors import ConstraintError

# Automaton state standing for "an EOS token was accepted".
TERMINATED = -2


class TokenRange(Protocol):
    """What a matcher needs of a vocabulary: its size and the range check of a token id."""

    @property
    def size(self) -> int: ...

    def check_token_id(self, token_id: int) -> int: ...


class MatchTarget(Protocol):
    """What a matcher needs of its constraint (:class:`~constrain.compiler.CompiledConstraint` has it).

    A *position* is an opaque int: the start position, the next one after a token or some bytes
    (-1: not allowed; :data:`TERMINATED` after an allowed EOS id), and the mask row at each.
    """

    @property
    def vocab(self) -> TokenRange: ...

    @property
    def start_state(self) -> int: ...

    def is_accepting(self, position: int) -> bool: ...

    def next_state(self, position: int, token_id: int) -> int: ...

    def advance_bytes(self, position: int, data: bytes) -> int: ...

    def forced_bytes(self, position: int) -> bytes: ...

    def bitmask_row(self, position: int) -> np.ndarray: ...


class Matcher:
    """Tracks one sequence under a compiled constraint.

    Typical loop::

        m = compiled.matcher()
        bitmask = constrain.allocate_token_bitmask(1, vocab.size)
        while not m.is_terminated():
            m.fill_next_token_bitmask(bitmask)
            constrain.apply_token_bitmask_inplace(logits, bitmask)
            token = sample(logits)
            m.accept_token(token)

    EOS ids are allowed only when the output so far is complete. Once an EOS id has been
    accepted the matcher is *terminated*: its mask then allows only EOS ids (so a finished row of
    a batch can keep emitting padding), and :meth:`accept_token` returns False for every token.
    """

    __slots__ = ("_compiled", "_history")

    def __init__(self, compiled: MatchTarget) -> None:
        self._compiled = compiled
        # _history[0] is the start state; each accepted token or string appends the state after it.
        self._history: list[int] = [compiled.start_state]

    # -- queries -----------------------------------------------------------------------------
    @property
    def compiled(self) -> MatchTarget:
        """The constraint this matcher follows."""
        return self._compiled

    @property
    def state(self) -> int:
        """The current position: the automaton state, packed with the trailing-whitespace run
        under JSON's whitespace guard (``-2`` once terminated). Opaque; compare, don't decode."""
        return self._history[-1]

    @property
    def num_steps(self) -> int:
        """Tokens and strings accepted so far (what :meth:`rollback` can undo)."""
        return len(self._history) - 1

    def is_terminated(self) -> bool:
        """True once an EOS id has been accepted."""
        return self._history[-1] == TERMINATED

    def can_terminate(self) -> bool:
        """True when the output so far is complete, i.e. an EOS id is allowed next."""
        s = self._history[-1]
        return s != TERMINATED and self._compiled.is_accepting(s)

    def next_token_bitmask(self) -> np.ndarray:
        """The current mask as a read-only int32 row of ``ceil(V/32)`` words (cached per state)."""
        view = self._compiled.bitmask_row(self._history[-1]).view()
        view.setflags(write=False)
        return view

    def fill_next_token_bitmask(self, bitmask: Any, index: int = 0) -> None:
        """Write the current mask into row ``index`` of ``bitmask`` (numpy array or torch tensor).

        ``bitmask`` has shape ``(batch, ceil(V/32))`` (or ``(ceil(V/32),)`` with ``index=0``), int32.
        """
        row = self._compiled.bitmask_row(self._history[-1])
        # The hot path: a plain 2-D numpy bitmask of the right width, one row copied in place.
        if type(bitmask) is np.ndarray and bitmask.ndim == 2 and bitmask.shape[1] == row.shape[0]:
            bitmask[index] = row
            return
        torch = sys.modules.get("torch")
        is_tensor = torch is not None and isinstance(bitmask, torch.Tensor)
        if not (is_tensor or isinstance(bitmask, np.ndarray)):
            raise ConstraintError(f"bitmask must be a numpy array or torch tensor, not {type(bitmask).__name__}")
        target = bitmask if bitmask.ndim == 1 else bitmask[index]
        if target.shape[-1] != row.shape[0]:
            raise ConstraintError(f"bitmask rows have {target.shape[-1]} words but this vocabulary needs {row.shape[0]}")
        if is_tensor:
            target.copy_(torch.from_numpy(row))
        else:
            target[...] = row

    def allowed_token_ids(self) -> np.ndarray:
        """Sorted int64 array of the token ids allowed next (EOS ids only when complete)."""
        return bitmask_row_to_ids(self.next_token_bitmask(), self._compiled.vocab.size)

    def is_token_allowed(self, token_id: int) -> bool:
        """Whether ``token_id`` is allowed next (raises InvalidTokenError when out of range)."""
        return self._compiled.next_state(self._history[-1], self._compiled.vocab.check_token_id(token_id)) != -1

    # -- updates -----------------------------------------------------------------------------
    def accept_token(self, token_id: int) -> bool:
        """Advance by one token. Returns False, leaving the state unchanged, if it is not allowed.

        Raises InvalidTokenError for an id outside the vocabulary.
        """
        tid = self._compiled.vocab.check_token_id(token_id)
        nxt = self._compiled.next_state(self._history[-1], tid)
        if nxt == -1:
            return False
        self._history.append(nxt)
        return True

    def accept_tokens(self, token_ids: Any) -> bool:
        """Accept several tokens; on the first refusal, undo the ones accepted and return False."""
        accepted = 0
        for t in token_ids:
            if not self.accept_token(int(t)):
                self.rollback(accepted)
                return False
            accepted += 1
        return True

    def accept_string(self, text: str | bytes) -> bool:
        """Advance by the bytes of ``text`` (UTF-8 for a str), regardless of tokenization.

        Returns False, leaving the state unchanged, if the text cannot continue the output. Counts
        as one step for :meth:`rollback`. EOS cannot be accepted this way.
        """
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        state = self._history[-1]
        if state == TERMINATED:
            return False
        nxt = self._compiled.advance_bytes(state, data)
        if nxt == -1:
            return False
        self._history.append(nxt)
        return True

    def rollback(self, num_tokens: int = 1) -> None:
        """Undo the last ``num_tokens`` accepted steps (tokens or strings), e.g. rejected draft tokens."""
        if num_tokens < 0 or num_tokens > len(self._history) - 1:
            raise ConstraintError(
                f"cannot roll back {num_tokens} steps: {len(self._history) - 1} have been accepted"
            )
        if num_tokens:
            del self._history[-num_tokens:]

    def reset(self) -> None:
        """Back to the start, as a new matcher."""
        del self._history[1:]

    def copy(self) -> "Matcher":
        """An independent matcher in the same state (for n > 1, beam search, speculation)."""
        other = Matcher.__new__(Matcher)
        other._compiled = self._compiled
        other._history = list(self._history)
        return other

    # -- jump-forward ------------------------------------------------------------------------
    def find_jump_forward_bytes(self) -> bytes:
        """The longest byte string that every valid continuation starts with (empty if none)."""
        state = self._history[-1]
        if state == TERMINATED:
            return b""
        return self._compiled.forced_bytes(state)

    def find_jump_forward_string(self) -> str:
        """The longest *text* that every valid continuation starts with.

        Cut at the last complete UTF-8 character, so the result is a valid str; append it with
        :meth:`accept_string` or, better, tokenize it and :meth:`accept_token` the tokens.
        """
        data = self.find_jump_forward_bytes()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            return data[: exc.start].decode("utf-8")

    def __repr__(self) -> str:
        return f"Matcher(state={self.state}, steps={self.num_steps}, terminated={self.is_terminated()})"
