"""Boolean operations on byte DFAs: product construction for intersection and difference.

JSON Schema needs them where keywords combine on one string: a ``pattern`` with a length range
(``pattern`` AND ``.{m,n}``), object keys that must *not* be a declared property name (any key
MINUS the names), several ``pattern`` keywords merged by ``allOf``.
"""

from __future__ import annotations

import numpy as np

from ..errors import AutomatonTooLargeError
from .automaton import DEFAULT_MAX_DFA_STATES, ByteDFA, minimize


def _common_classes(a: ByteDFA, b: ByteDFA) -> tuple[np.ndarray, list[int], list[int]]:
    """Byte classes refining both automata's: (class per byte, a's class per class, b's class per class)."""
    pairs = a.byte_class[:256].astype(np.int64) * (int(b.byte_class[:256].max()) + 1) + b.byte_class[:256]
    _, first, inverse = np.unique(pairs, return_index=True, return_inverse=True)
    order = np.argsort(first)
    remap = np.empty_like(order)
    remap[order] = np.arange(len(order))
    byte_class = remap[inverse.reshape(-1)].astype(np.int32)
    reps = np.sort(first)
    return byte_class, a.byte_class[reps].tolist(), b.byte_class[reps].tolist()


def _product(a: ByteDFA, b: ByteDFA, op: str, max_states: int) -> ByteDFA:
    byte_class, a_cls, b_cls = _common_classes(a, b)
    num_classes = len(a_cls)
    a_rows = a.table.tolist()
    b_rows = b.table.tolist()
    keep_b_dead = op == "difference"  # a path dead in b is still alive in a - b
    start = (a.start, b.start)
    index = {start: 0}
    pairs = [start]
    rows: list[list[int]] = []
    i = 0
    while i < len(pairs):
        sa, sb = pairs[i]
        i += 1
        row = []
        for c in range(num_classes):
            ta = a_rows[sa][a_cls[c]]
            tb = b_rows[sb][b_cls[c]] if sb >= 0 else -1
            if ta < 0 or (tb < 0 and not keep_b_dead):
                row.append(-1)
                continue
            key = (ta, tb)
            j = index.get(key)
            if j is None:
                if len(pairs) >= max_states:
                    raise AutomatonTooLargeError(
                        f"combining two automata exceeds the budget of {max_states} states"
                    )
                j = len(pairs)
                index[key] = j
                pairs.append(key)
            row.append(j)
        rows.append(row)
    if op == "intersection":
        accepting = [bool(a.accepting[sa]) and bool(b.accepting[sb]) for sa, sb in pairs]
    else:
        accepting = [bool(a.accepting[sa]) and not (sb >= 0 and bool(b.accepting[sb])) for sa, sb in pairs]
    table = np.array(rows, dtype=np.int32).reshape(len(pairs), num_classes)
    return minimize(ByteDFA(byte_class=byte_class, table=table, accepting=np.array(accepting, dtype=bool), start=0))


def intersection(a: ByteDFA, b: ByteDFA, *, max_states: int = DEFAULT_MAX_DFA_STATES) -> ByteDFA:
    """A DFA for the strings both ``a`` and ``b`` accept."""
    return _product(a, b, "intersection", max_states)


def difference(a: ByteDFA, b: ByteDFA, *, max_states: int = DEFAULT_MAX_DFA_STATES) -> ByteDFA:
    """A DFA for the strings ``a`` accepts and ``b`` does not."""
    return _product(a, b, "difference", max_states)


def is_empty(dfa: ByteDFA) -> bool:
    """True when the DFA accepts no string (a trimmed DFA is empty iff its start is a dead end)."""
    return not dfa.accepting[dfa.start] and bool((dfa.table[dfa.start] < 0).all())
