"""Intersection of two byte-level DFAs by the product construction.

Regex text has no intersection operator, yet several JSON Schema combinations need one: ``allOf``
over string ``pattern``\\ s, a ``pattern`` together with ``minLength``/``maxLength``, a numeric range
together with ``multipleOf``. :func:`intersect` builds the automaton of ``L(a) ∩ L(b)`` directly from
two :class:`~constrain.regex.automaton.ByteDFA` tables.

Construction:

1. *Common refinement of the byte classes.* Each automaton groups the symbols (bytes 0..255, plus
   call symbols ``256 + k`` for a grammar rule automaton) into classes. Two symbols can share a
   class of the product exactly when they share a class in both operands, so the product classes are
   the distinct pairs ``(a.byte_class[x], b.byte_class[x])``. A symbol outside one operand's
   alphabet (the operands may have different alphabet lengths) is dead in that operand.
2. *Reachable product states.* Breadth-first from ``(a.start, b.start)``; the pair ``(p, q)`` moves on
   class ``c`` to ``(δa(p, c), δb(q, c))``, and to the dead state -1 as soon as either side is dead. A
   pair accepts when both components accept.
3. *Trim and minimize* with :func:`constrain.regex.automaton.minimize`, so the result has the same
   shape as any compiled regex (trimmed, minimal, numbered breadth-first, start state 0).

The number of reachable pairs can be as large as ``a.num_states * b.num_states``; ``max_states``
caps the pairs explored (before minimization) and :class:`~constrain.errors.AutomatonTooLargeError`
is raised past it.
"""

from __future__ import annotations

import numpy as np

from .. import deadline
from ..errors import AutomatonTooLargeError
from .automaton import DEFAULT_MAX_DFA_STATES, ByteDFA, minimize

__all__ = ["intersect", "intersect_all"]


def _padded(dfa: ByteDFA, num_symbols: int) -> tuple[np.ndarray, np.ndarray]:
    """Byte classes extended to ``num_symbols`` symbols and the table with one extra dead column.

    Symbols beyond the automaton's own alphabet map to the extra column, which is all -1.
    """
    classes = np.full(num_symbols, dfa.num_classes, dtype=np.int64)
    own = np.asarray(dfa.byte_class, dtype=np.int64)
    classes[: len(own)] = own
    table = np.full((dfa.num_states, dfa.num_classes + 1), -1, dtype=np.int64)
    table[:, : dfa.num_classes] = dfa.table
    return classes, table


def intersect(a: ByteDFA, b: ByteDFA, *, max_states: int = DEFAULT_MAX_DFA_STATES) -> ByteDFA:
    """The minimal DFA of ``L(a) ∩ L(b)`` (the strings both automata accept).

    Args:
        a, b: fully built automata (not a lazily filled grammar automaton).
        max_states: the most product states explored before minimization.

    Raises:
        AutomatonTooLargeError: more than ``max_states`` reachable product states.
        TypeError: an operand fills its table lazily.

    An empty intersection gives the one-state automaton that accepts nothing (as ``minimize`` does).
    """
    if getattr(a, "lazy", False) or getattr(b, "lazy", False):
        raise TypeError("intersect() needs fully built automata, not a lazily filled one")
    num_symbols = max(len(a.byte_class), len(b.byte_class))
    class_a, table_a = _padded(a, num_symbols)
    class_b, table_b = _padded(b, num_symbols)

    # Common refinement: one product class per distinct (class in a, class in b) pair, numbered in
    # the order the symbols first use them.
    pair = class_a * (table_b.shape[1]) + class_b
    _, first, inverse = np.unique(pair, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    byte_class = rank[inverse.reshape(-1)].astype(np.int32)
    representative = first[order]  # one symbol per product class, in class order
    col_a = class_a[representative]
    col_b = class_b[representative]
    num_classes = len(representative)

    # Rows as Python lists, read through each operand's column of every product class: one
    # numpy call per product state cost more than the whole row (most products are small).
    rows_a = table_a[:, col_a].tolist()
    rows_b = table_b[:, col_b].tolist()
    nb = b.num_states
    index: dict[int, int] = {a.start * nb + b.start: 0}
    pairs: list[tuple[int, int]] = [(a.start, b.start)]
    rows: list[list[int]] = []
    i = 0
    while i < len(pairs):
        p, q = pairs[i]
        i += 1
        if not i & 63:
            deadline.check()
        row = []
        for ta, tb in zip(rows_a[p], rows_b[q]):
            if ta < 0 or tb < 0:
                row.append(-1)
                continue
            key = ta * nb + tb
            j = index.get(key)
            if j is None:
                if len(pairs) >= max_states:
                    raise AutomatonTooLargeError(
                        f"intersection automaton exceeds its budget of {max_states} states "
                        f"({a.num_states} x {b.num_states} operand states); simplify the operands "
                        "or raise max_states"
                    )
                j = len(pairs)
                index[key] = j
                pairs.append((ta, tb))
            row.append(j)
        rows.append(row)

    table = np.array(rows, dtype=np.int32).reshape(len(pairs), num_classes)
    accepting_a, accepting_b = a.accepting.tolist(), b.accepting.tolist()
    accepting = np.array([accepting_a[p] and accepting_b[q] for p, q in pairs], dtype=bool)
    return minimize(ByteDFA(byte_class=byte_class, table=table, accepting=accepting, start=0))


def intersect_all(dfas: list[ByteDFA], *, max_states: int = DEFAULT_MAX_DFA_STATES) -> ByteDFA:
    """Fold :func:`intersect` over one or more automata (each step minimized, each step budgeted)."""
    if not dfas:
        raise ValueError("intersect_all() needs at least one automaton")
    result = dfas[0]
    for other in dfas[1:]:
        result = intersect(result, other, max_states=max_states)
    return result
