"""Token bitmasks: allocate, convert, and apply to logits (numpy or torch).

Layout (the one XGrammar and llguidance use, so masks are interchangeable): a row of
``ceil(vocab_size / 32)`` int32 words; token ``t`` is allowed iff bit ``t % 32`` of word ``t // 32``
is set. Little-endian bit order within a word, so a row is also ``np.packbits(allowed,
bitorder="little")`` viewed as int32 on every little-endian machine.

torch is imported only when a torch tensor is passed in.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from .errors import ConstraintError


def bitmask_width(vocab_size: int) -> int:
    """Words per bitmask row: ``ceil(vocab_size / 32)``."""
    return (int(vocab_size) + 31) // 32


def allocate_token_bitmask(batch_size: int, vocab_size: int, *, backend: str = "numpy") -> Any:
    """A ``(batch_size, ceil(vocab_size/32))`` int32 bitmask with every token allowed.

    Args:
        backend: "numpy" (default) or "torch" (a CPU tensor; move it to the logits' device).
    """
    if batch_size < 1 or vocab_size < 1:
        raise ConstraintError(f"bitmask needs batch_size >= 1 and vocab_size >= 1, got {batch_size}, {vocab_size}")
    shape = (int(batch_size), bitmask_width(vocab_size))
    if backend == "numpy":
        return np.full(shape, -1, dtype=np.int32)
    if backend == "torch":
        import torch

        return torch.full(shape, -1, dtype=torch.int32)
    raise ConstraintError(f"unknown bitmask backend {backend!r}; use 'numpy' or 'torch'")


def mask_to_bitmask_row(allowed: np.ndarray) -> np.ndarray:
    """The int32 bitmask row of a boolean array over the vocabulary."""
    width = bitmask_width(allowed.shape[0])
    if allowed.shape[0] != width * 32:
        allowed = np.concatenate([allowed, np.zeros(width * 32 - allowed.shape[0], dtype=bool)])
    return np.packbits(allowed, bitorder="little").view("<i4").astype(np.int32, copy=False)


def ids_to_bitmask_row(token_ids: np.ndarray, vocab_size: int) -> np.ndarray:
    """The int32 bitmask row allowing exactly ``token_ids``."""
    allowed = np.zeros(bitmask_width(vocab_size) * 32, dtype=bool)
    allowed[token_ids] = True
    return np.packbits(allowed, bitorder="little").view("<i4").astype(np.int32, copy=False)


def bitmask_row_to_ids(row: np.ndarray, vocab_size: int) -> np.ndarray:
    """The token ids allowed by one bitmask row (numpy int32)."""
    bits = np.unpackbits(np.ascontiguousarray(row, dtype="<i4").view(np.uint8), bitorder="little")
    return np.flatnonzero(bits[:vocab_size])


def _is_torch(x: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def apply_token_bitmask_inplace(logits: Any, bitmask: Any, *, indices: Any = None) -> None:
    """Set the logits of disallowed tokens to ``-inf``, in place.

    Args:
        logits: ``(batch, vocab)`` or ``(vocab,)`` float array (numpy) or tensor (torch, any device).
        bitmask: ``(batch, words)`` or ``(words,)`` int32 bitmask, same library as ``logits``
            (a numpy bitmask is accepted with torch logits and copied over).
        indices: optional rows of ``logits`` to mask (row ``i`` of ``indices`` uses bitmask row
            ``indices[i]``); by default every row.

    Tokens past ``32 * words`` (logits wider than the mask) are disallowed; mask bits past the
    logits' width are ignored.
    """
    if _is_torch(logits):
        _apply_torch(logits, bitmask, indices)
        return
    if not isinstance(logits, np.ndarray):
        raise ConstraintError(f"logits must be a numpy array or torch tensor, not {type(logits).__name__}")
    mask = np.asarray(bitmask)
    if mask.dtype != np.int32:
        raise ConstraintError(f"bitmask must be int32, not {mask.dtype}")
    squeeze = logits.ndim == 1
    view = logits[None, :] if squeeze else logits
    rows = mask[None, :] if mask.ndim == 1 else mask
    vocab = view.shape[-1]
    if indices is not None:
        idx = np.asarray(indices, dtype=np.int64)
        rows = rows[idx]
        target = view[idx]
    else:
        target = view
    if rows.shape[0] != target.shape[0]:
        raise ConstraintError(f"bitmask has {rows.shape[0]} rows but logits have {target.shape[0]}")
    np.putmask(target, _blocked(rows, vocab), -np.inf)
    if indices is not None:
        view[np.asarray(indices, dtype=np.int64)] = target


def _blocked(rows: np.ndarray, vocab: int) -> np.ndarray:
    """``(len(rows), vocab)`` bool: True where a token is disallowed (its bit is 0, or it lies
    past the mask's width). One unpack and one compare: no per-token Python work."""
    bits = np.unpackbits(np.ascontiguousarray(rows, dtype="<i4").view(np.uint8), axis=-1, bitorder="little")
    if bits.shape[-1] >= vocab:
        return bits[:, :vocab] == 0
    blocked = np.ones((bits.shape[0], vocab), dtype=bool)
    blocked[:, : bits.shape[-1]] = bits == 0
    return blocked


def _apply_torch(logits: Any, bitmask: Any, indices: Any) -> None:
    import torch

    mask = bitmask if isinstance(bitmask, torch.Tensor) else torch.from_numpy(np.asarray(bitmask))
    if mask.dtype != torch.int32:
        raise ConstraintError(f"bitmask must be int32, not {mask.dtype}")
    squeeze = logits.dim() == 1
    view = logits.unsqueeze(0) if squeeze else logits
    rows = mask.unsqueeze(0) if mask.dim() == 1 else mask
    vocab = view.shape[-1]
    idx = None
    if indices is not None:
        idx = torch.as_tensor(indices, dtype=torch.long, device=rows.device)
        rows = rows[idx]
    if rows.shape[0] != (view.shape[0] if idx is None else idx.shape[0]):
        raise ConstraintError(f"bitmask has {rows.shape[0]} rows but logits have {view.shape[0]}")
    if logits.device.type == "cpu":
        # numpy's unpack is ~4x faster than shifting the words into a (rows, words, 32) tensor.
        blocked = torch.from_numpy(_blocked(rows.cpu().numpy(), vocab))
    else:  # on the logits' device: the mask goes over once, as int32 words
        blocked = _blocked_on_device(rows, vocab, logits.device)
    if idx is None:
        view.masked_fill_(blocked, float("-inf"))
    else:
        idx = idx.to(logits.device)
        sub = view[idx]
        sub.masked_fill_(blocked, float("-inf"))
        view[idx] = sub


def _blocked_on_device(rows: Any, vocab: int, device: Any) -> Any:
    """:func:`_blocked` computed by torch on ``device`` (for logits off the CPU)."""
    import torch

    rows = rows.to(device)
    shifts = torch.arange(32, dtype=torch.int32, device=device)
    bits = ((rows.unsqueeze(-1) >> shifts) & 1).reshape(rows.shape[0], -1)
    blocked = torch.ones((rows.shape[0], vocab), dtype=torch.bool, device=device)
    width = min(vocab, bits.shape[-1])
    blocked[:, :width] = bits[:, :width] == 0
    return blocked
