"""The per-vocabulary token trie and its vectorized walk through a DFA.

Computing a mask means finding every token whose bytes the automaton can read from the current
state. Walking 131k tokens one by one in Python would take ~100 ms; instead the tokens are stored
as a trie (shared prefixes stored once) in flat numpy arrays, numbered breadth-first, and the walk
advances a whole *level* of trie nodes per numpy operation, dropping every branch as soon as the
automaton dies on it. A restrictive state (digits only, say) prunes the trie after one level; a
permissive one (inside a string) visits each trie node once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .grammar import GrammarAutomaton
    from .regex.automaton import ByteDFA

    Automaton = ByteDFA | GrammarAutomaton


class TokenTrie:
    """Flat breadth-first trie of the vocabulary's token bytes.

    Node 0 is the root (the empty prefix). For node ``k > 0``: ``parent[k]``, ``byte[k]`` (the last
    byte of its prefix), children ``child_start[k] : child_end[k]`` (contiguous, thanks to the
    breadth-first, lexicographic numbering), and ``token[k]``, the id of a token whose bytes are
    exactly that prefix (or -1). Tokens that share their bytes with another token (SentencePiece
    ``<0x20>`` and ``▁``) are listed in ``extra_nodes``/``extra_tokens``.
    """

    def __init__(self, token_bytes: Sequence[bytes | None]) -> None:
        self.vocab_size = len(token_bytes)
        prefixes: set[bytes] = set()
        for t in token_bytes:
            if t:
                for k in range(1, len(t) + 1):
                    prefixes.add(t[:k])
        ordered = sorted(prefixes, key=lambda p: (len(p), p))
        ordered.insert(0, b"")
        node_of = {p: i for i, p in enumerate(ordered)}
        n = len(ordered)
        self.num_nodes = n
        self.parent = np.array([node_of[p[:-1]] if p else -1 for p in ordered], dtype=np.int64)
        self.byte = np.array([p[-1] if p else 0 for p in ordered], dtype=np.uint8)
        self.depth = np.array([len(p) for p in ordered], dtype=np.int32)
        self.max_depth = int(self.depth.max()) if n else 0
        node_range = np.arange(n)
        self.child_start = np.searchsorted(self.parent[1:], node_range, side="left") + 1
        self.child_end = np.searchsorted(self.parent[1:], node_range, side="right") + 1
        self.token = np.full(n, -1, dtype=np.int64)
        extra_nodes: list[int] = []
        extra_tokens: list[int] = []
        for tid, t in enumerate(token_bytes):
            if t:
                k = node_of[t]
                if self.token[k] < 0:
                    self.token[k] = tid
                else:
                    extra_nodes.append(k)
                    extra_tokens.append(tid)
        self.extra_nodes = np.array(extra_nodes, dtype=np.int64)
        self.extra_tokens = np.array(extra_tokens, dtype=np.int64)
        self.child_count = self.child_end - self.child_start
        self.root_children = np.arange(self.child_start[0], self.child_end[0], dtype=np.int64)
        # Nodes of depth d are level_start[d] : level_start[d + 1] (breadth-first numbering).
        self.level_start = np.searchsorted(self.depth, np.arange(self.max_depth + 2))
        # Node of each token id; ids without bytes point at the extra "no node" slot (num_nodes).
        self.token_node = np.full(self.vocab_size, n, dtype=np.int64)
        for tid, t in enumerate(token_bytes):
            if t:
                self.token_node[tid] = node_of[t]

    def edge_classes(self, byte_class: np.ndarray) -> np.ndarray:
        """Each node's incoming byte mapped through a DFA's byte classes (one gather per DFA)."""
        return np.asarray(byte_class, dtype=np.int64)[self.byte]

    def walk(self, automaton: "Automaton", edge_class: np.ndarray, state: int) -> np.ndarray:
        """Boolean array over the vocabulary: tokens whose bytes ``automaton`` reads from ``state``.

        Two strategies, chosen level by level: while few branches survive, a *sparse* walk expands
        only the live nodes (a restrictive state such as ``[0-9]`` costs tens of microseconds);
        once a level is mostly alive, a *dense* pass computes the state of every node of each
        remaining level with three array operations, which beats expanding nearly everything.

        A lazy automaton (a grammar's) may hold unknown table entries; they are computed with
        ``automaton.resolve`` the first time the walk meets them.

        Args:
            automaton: a ByteDFA or GrammarAutomaton (``flat_table``, ``num_classes``, ``lazy``,
                ``resolve``); table entries are next states, -1 = dead.
            edge_class: :meth:`edge_classes` of the automaton's byte classes.
            state: the state to start from.
        """
        num_classes = automaton.num_classes
        frontier = self.root_children
        states = np.full(frontier.shape[0], state, dtype=np.int64)
        alive_nodes: list[np.ndarray] = []
        alive_states: list[np.ndarray] = []
        child_start = self.child_start
        child_count = self.child_count
        depth = 1  # depth of the nodes in ``frontier``
        while frontier.size:
            nxt = _lookup(automaton, states * num_classes + edge_class[frontier])
            keep = nxt >= 0
            frontier = frontier[keep]
            if not frontier.size:
                break
            nxt = nxt[keep].astype(np.int64, copy=False)
            alive_nodes.append(frontier)
            alive_states.append(nxt)
            counts = child_count[frontier]
            total = int(counts.sum())
            if not total:
                break
            depth += 1
            if total * self.DENSE_FRACTION > self.level_start[depth + 1] - self.level_start[depth]:
                return self._dense_walk(automaton, edge_class, depth, alive_nodes, alive_states)
            has_children = counts > 0
            frontier = frontier[has_children]
            nxt = nxt[has_children]
            counts = counts[has_children]
            # Expand each node into its contiguous child range [start, start + count).
            ends = np.cumsum(counts)
            offsets = np.repeat(child_start[frontier] - (ends - counts), counts)
            frontier = offsets + np.arange(total)
            states = np.repeat(nxt, counts)
        allowed = np.zeros(self.vocab_size, dtype=bool)
        if alive_nodes:
            alive = np.concatenate(alive_nodes)
            ids = self.token[alive]
            allowed[ids[ids >= 0]] = True
            if self.extra_nodes.size:
                allowed[self.extra_tokens[np.isin(self.extra_nodes, alive)]] = True
        return allowed

    # A level is walked densely once more than 1/DENSE_FRACTION of its nodes are candidates.
    DENSE_FRACTION = 4

    def _dense_walk(self, automaton, edge_class, depth, alive_nodes, alive_states):
        """Finish a walk level by level over *all* nodes, from ``depth`` on (see :meth:`walk`).

        ``alive_nodes``/``alive_states`` are the live nodes of the shallower levels and their states.
        """
        num_classes = automaton.num_classes
        node_state = np.full(self.num_nodes + 1, -1, dtype=np.int64)  # last slot: "no node"
        for nodes, st in zip(alive_nodes, alive_states):
            node_state[nodes] = st
        for d in range(depth, self.max_depth + 1):
            lo, hi = self.level_start[d], self.level_start[d + 1]
            parent_state = node_state[self.parent[lo:hi]]
            live = np.flatnonzero(parent_state >= 0)
            if not live.size:
                break
            level = node_state[lo:hi]
            level[live] = _lookup(automaton, parent_state[live] * num_classes + edge_class[lo + live])
        return node_state[self.token_node] >= 0


def _lookup(automaton, flat_indices: np.ndarray) -> np.ndarray:
    """Table entries at ``flat_indices``, computing unknown ones first for a lazy automaton."""
    table = automaton.flat_table
    out = table[flat_indices]
    if automaton.lazy:
        unknown = out < -1
        if unknown.any():
            automaton.resolve(flat_indices[unknown])
            out = automaton.flat_table[flat_indices]
    return out
