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


def without_words(dfa: ByteDFA, words: set[bytes] | frozenset[bytes]) -> ByteDFA:
    """A trimmed DFA for the strings ``dfa`` accepts except ``words`` (a finite set).

    The same language as ``difference(dfa, <automaton of words>)``, built directly (object keys
    minus the declared property names, where the general product and its minimization cost more
    than the rest of a small schema's compilation). ``dfa`` must be trimmed (every automaton of
    this package is). The result is trimmed but not minimized, and may keep states of ``dfa``
    that it no longer reaches.

    The product of ``dfa`` with the trie of ``words`` is small: a trie node is reached by one
    prefix only, so it pairs with one state of ``dfa``; and a path that leaves the trie is
    back in ``dfa``'s own states. A node's row is its state's row, except on the bytes leading
    to its children.
    """
    n = dfa.num_states
    # Byte classes: the automaton's, with each byte of a word in a class of its own, numbered in
    # the order of their first bytes.
    word_bytes = {b for word in words for b in word}
    old_class = dfa.byte_class[:256].tolist()
    keys = old_class.copy()  # an old class (>= 0), or -1 - b for a byte b of a word
    for b in word_bytes:
        keys[b] = -1 - b
    class_ids: dict[int, int] = {}
    byte_class = [class_ids.setdefault(k, len(class_ids)) for k in keys]
    old_of_new = np.array([k if k >= 0 else old_class[-1 - k] for k in class_ids], dtype=np.int64)
    new_table = dfa.table[:, old_of_new]  # states 0..n-1: the automaton's own, off the trie
    table = new_table.tolist()
    accept = dfa.accepting.tolist()
    # Trie nodes the automaton can read, depth first from the root; node i is state n + i.
    node_state = [dfa.start]
    node_children: list[dict[int, int]] = [{}]  # byte -> child node
    ends = [False]
    for word in words:
        node = 0
        for b in word:
            child = node_children[node].get(b)
            if child is None:
                target = table[node_state[node]][byte_class[b]]
                if target < 0:
                    break  # the automaton cannot read this word: nothing to remove
                child = node_children[node][b] = len(node_state)
                node_state.append(target)
                node_children.append({})
                ends.append(False)
            node = child
        else:
            ends[node] = True
    # A trie node is live when it accepts (and ends no word), when its state moves on some byte
    # that leads to no child (the automaton is trimmed: every state it moves to is live), or
    # when a child is live. Each child's byte has a class of its own, and a child exists only
    # where the state moves, so the first test is a count. Deepest nodes first.
    state_moves = (new_table >= 0).sum(axis=1).tolist()
    live = [False] * len(node_state)
    for node in range(len(node_state) - 1, -1, -1):
        q, children = node_state[node], node_children[node]
        live[node] = ((accept[q] and not ends[node]) or state_moves[q] > len(children)
                      or any(live[child] for child in children.values()))
    if not live[0]:
        return ByteDFA(byte_class=np.zeros(256, dtype=np.int32), table=np.full((1, 1), -1, dtype=np.int32),
                       accepting=np.zeros(1, dtype=bool), start=0)
    # Rows of the trie nodes: their states' rows, with each child's class moved to the child
    # (or nowhere, when the child is dead).
    node_rows = new_table[node_state]
    edges = [(node, byte_class[b], n + child if live[child] else -1)
             for node, children in enumerate(node_children) for b, child in children.items()]
    if edges:
        at = np.array(edges, dtype=np.int64)
        node_rows[at[:, 0], at[:, 1]] = at[:, 2]
    return ByteDFA(
        byte_class=np.array(byte_class, dtype=np.int32),
        table=np.concatenate([new_table, node_rows]).astype(np.int32, copy=False),
        accepting=np.array(accept + [accept[q] and not ends[i] for i, q in enumerate(node_state)], dtype=bool),
        start=n,
    )
