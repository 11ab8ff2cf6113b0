"""apply_token_bitmask_inplace against a per-token reference, on numpy and torch logits.

Random masks, batch sizes, row selections (``indices``) and widths (logits wider or narrower
than the mask): every disallowed token's logit becomes -inf, every other logit (and every row
not selected) stays as it was.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import constrain
from constrain.errors import ConstraintError


@st.composite
def cases(draw):
    batch = draw(st.integers(1, 4))
    vocab = draw(st.integers(1, 150))
    words = draw(st.sampled_from([(vocab + 31) // 32, max(1, vocab // 32), (vocab + 31) // 32 + 1]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    # Masks with long runs and with scattered bits: both shapes real masks have.
    bits = rng.random((batch, words * 32)) < draw(st.sampled_from([0.0, 0.05, 0.5, 0.95, 1.0]))
    mask = np.packbits(bits, axis=-1, bitorder="little").view("<i4").astype(np.int32)
    logits = rng.normal(size=(batch, vocab)).astype(np.float32)
    indices = None
    if draw(st.booleans()):
        indices = draw(st.permutations(range(batch)).map(lambda p: p[: max(1, len(p) - 1)]))
    return mask, logits, indices


def _reference(mask: np.ndarray, logits: np.ndarray, indices) -> np.ndarray:
    out = logits.copy()
    rows = range(logits.shape[0]) if indices is None else indices
    for i in rows:
        for t in range(logits.shape[1]):
            word = t // 32
            allowed = word < mask.shape[1] and (int(mask[i, word]) >> (t % 32)) & 1
            if not allowed:
                out[i, t] = -np.inf
    return out


@settings(max_examples=150, deadline=None)
@given(cases())
def test_numpy_logits_match_the_reference(case):
    mask, logits, indices = case
    expected = _reference(mask, logits, indices)
    got = logits.copy()
    constrain.apply_token_bitmask_inplace(got, mask, indices=indices)
    assert np.array_equal(got, expected)
    if logits.shape[0] == 1 and indices is None:  # 1-D logits and mask
        flat = logits[0].copy()
        constrain.apply_token_bitmask_inplace(flat, mask[0])
        assert np.array_equal(flat, expected[0])


@settings(max_examples=100, deadline=None)
@given(cases(), st.booleans())
def test_torch_logits_match_the_reference(case, torch_mask):
    torch = pytest.importorskip("torch")
    mask, logits, indices = case
    expected = _reference(mask, logits, indices)
    got = torch.from_numpy(logits.copy())
    constrain.apply_token_bitmask_inplace(got, torch.from_numpy(mask) if torch_mask else mask, indices=indices)
    assert np.array_equal(got.numpy(), expected)


def test_row_count_mismatch_is_a_clear_error():
    mask = constrain.allocate_token_bitmask(2, 40)
    with pytest.raises(ConstraintError, match="2 rows but logits have 3"):
        constrain.apply_token_bitmask_inplace(np.zeros((3, 40), dtype=np.float32), mask)
    torch = pytest.importorskip("torch")
    with pytest.raises(ConstraintError, match="2 rows but logits have 3"):
        constrain.apply_token_bitmask_inplace(torch.zeros(3, 40), torch.from_numpy(mask))


@settings(max_examples=60, deadline=None)
@given(cases())
def test_the_device_path_blocks_the_same_tokens(case):
    # Logits off the CPU use torch's own unpacking; run it on the CPU against the numpy one.
    torch = pytest.importorskip("torch")
    from constrain.bitmask import _blocked, _blocked_on_device

    mask, logits, _ = case
    got = _blocked_on_device(torch.from_numpy(mask), logits.shape[1], torch.device("cpu"))
    assert np.array_equal(got.numpy(), _blocked(mask, logits.shape[1]))
