"""Complement and difference of byte DFAs (intersection lives in :mod:`constrain.regex.product`).

JSON Schema needs them for object keys that must *not* be a declared property name: any key
MINUS the names.
"""

from __future__ import annotations

import numpy as np

from .automaton import DEFAULT_MAX_DFA_STATES, ByteDFA, minimize
from .product import intersect


def complement(dfa: ByteDFA) -> ByteDFA:
    """A DFA for every byte string ``dfa`` rejects (not trimmed: its sink state accepts)."""
    n, num_classes = dfa.table.shape
    table = np.where(dfa.table >= 0, dfa.table, n).astype(np.int32)
    table = np.vstack([table, np.full((1, num_classes), n, dtype=np.int32)])
    accepting = ~np.concatenate([dfa.accepting, [False]])
    return ByteDFA(byte_class=dfa.byte_class[:256].copy(), table=table, accepting=accepting, start=dfa.start)


def difference(a: ByteDFA, b: ByteDFA, *, max_states: int = DEFAULT_MAX_DFA_STATES) -> ByteDFA:
    """A minimal DFA for the strings ``a`` accepts and ``b`` does not."""
    return intersect(a, complement(b), max_states=max_states)


def union(a: ByteDFA, b: ByteDFA, *, max_states: int = DEFAULT_MAX_DFA_STATES) -> ByteDFA:
    """A minimal DFA for the strings ``a`` or ``b`` accepts (De Morgan over one product)."""
    return minimize(complement(intersect(complement(a), complement(b), max_states=max_states)))


def is_empty(dfa: ByteDFA) -> bool:
    """True when the DFA accepts no string (a trimmed DFA is empty iff its start is a dead end)."""
    return not dfa.accepting[dfa.start] and bool((dfa.table[dfa.start] < 0).all())
