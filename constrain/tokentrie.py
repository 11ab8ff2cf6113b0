"""The per-vocabulary token trie and its vectorized walk through a DFA.

Computing a mask means finding every token whose bytes the automaton can read from the current
state. Walking 131k tokens one by one in Python would take ~100 ms; instead the tokens are stored
as a trie (shared prefixes stored once) in flat numpy arrays, numbered breadth-first, and the walk
advances a whole *level* of trie nodes per numpy operation, dropping every branch as soon as the
automaton dies on it. A restrictive state (digits only, say) prunes the trie after one level; a
permissive one (inside a string) visits each trie node once.

Also here: the plain-text proofs (:func:`plain_utf8_table`, :func:`simulates_plain_utf8`), which
let a mask skip the walk where every plain string token is allowed.

Imports: numpy, :mod:`constrain.simulation`, and, for annotations only, the automata it walks
(:mod:`constrain.regex.automaton`, :mod:`constrain.grammar`): the pipeline runs regex -> grammar
-> token trie, so neither of those may import this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .simulation import simulate_pairs

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
        self._token_bytes = tuple(token_bytes)  # a tuple: see _child_start_list
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

    #: Edge-class arrays remembered per byte partition (each is a gather over every node, 0.4 ms
    #: on a 131k vocabulary, paid by the first dense walk of a partition).
    EDGE_CLASS_MEMO = 16

    def edge_classes(self, byte_class: np.ndarray) -> np.ndarray:
        """Each node's incoming byte mapped through a DFA's byte classes (read-only; one gather
        per distinct partition of the 256 bytes)."""
        classes = np.asarray(byte_class[:256], dtype=np.int16)  # at most 256 classes
        key = classes.tobytes()
        memo = self.__dict__.setdefault("_edge_class_memo", {})
        got = memo.get(key)
        if got is None:
            got = classes[self.byte]
            got.setflags(write=False)
            if len(memo) >= self.EDGE_CLASS_MEMO:
                memo.pop(list(memo)[0], None)  # the oldest (list() is one step: safe under threads)
            memo[key] = got
        return got

    #: Projected tries remembered per byte partition (3-6 MB each on a 131k vocabulary), and the
    #: dense passes a partition makes before its projection is built (the first one, often a
    #: compilation's first mask, does not pay the ~15 ms build). A grammar's partition (~60
    #: classes: each letter of a property name is one) shrinks the trie less, so it waits for
    #: more passes to pay the build back.
    PROJECTION_MEMO = 8
    PROJECT_AFTER_PASSES = 2
    PROJECT_AFTER_PASSES_LAZY = 12

    def projection(self, byte_class: np.ndarray, after: int | None = None) -> ProjectedTrie | None:
        """The trie of the tokens' byte-class strings under ``byte_class`` (see
        :class:`ProjectedTrie`), once this partition has asked for ``after`` dense passes
        (default :attr:`PROJECT_AFTER_PASSES`); None before."""
        key = np.asarray(byte_class[:256], dtype=np.int16).tobytes()
        memo = self.__dict__.setdefault("_projection_memo", {})
        got = memo.get(key)
        if got is None:
            passes = self.__dict__.setdefault("_dense_passes", {})
            passes[key] = passes.get(key, 0) + 1
            if passes[key] < (self.PROJECT_AFTER_PASSES if after is None else after):
                return None
            if len(passes) > 4 * self.PROJECTION_MEMO:
                passes.clear()
            got = ProjectedTrie(self, self.edge_classes(byte_class))
            if len(memo) >= self.PROJECTION_MEMO:
                memo.pop(list(memo)[0], None)  # the oldest (list() is one step: safe under threads)
            memo[key] = got
        return got

    # A level is walked densely once more than 1/DENSE_FRACTION of its nodes are candidates, and
    # it holds at least DENSE_MIN_LEVEL nodes (deep levels are small: a dense pass there would
    # cost more in setup than it saves).
    DENSE_FRACTION = 4
    DENSE_MIN_LEVEL = 2048
    # Frontiers this small are expanded in plain Python: a numpy level costs ~25 array calls,
    # which long narrow chains (runs of spaces, dashes) pay once per byte.
    SMALL_FRONTIER = 24

    def walk(
        self, automaton: Automaton, byte_class: np.ndarray, state: int, roots: np.ndarray | None = None
    ) -> np.ndarray:
        """Boolean array over the vocabulary: tokens whose bytes ``automaton`` reads from ``state``.

        Three strategies, chosen level by level: a handful of live branches is expanded in plain
        Python (a chain of long tokens costs a microsecond per byte); while few branches survive,
        a *sparse* numpy walk expands only the live nodes (a restrictive state such as ``[0-9]``
        costs tens of microseconds); once a level is mostly alive, a *dense* pass computes the
        state of every node of each remaining level with three array operations, which beats
        expanding nearly everything.

        A lazy automaton (a grammar's) may hold unknown table entries; they are computed with
        ``automaton.resolve`` the first time the walk meets them.

        Args:
            automaton: a ByteDFA or GrammarAutomaton (``flat_table``, ``num_classes``, ``lazy``,
                ``resolve``); table entries are next states, -1 = dead.
            byte_class: (256,) int64, the automaton's class of each byte. Sparse levels look up
                their nodes' classes through it; a dense pass uses :meth:`edge_classes`.
            state: the state to start from.
            roots: walk only the tokens under these depth-1 nodes (default: all of them).
        """
        num_classes = automaton.num_classes
        byte_class = np.asarray(byte_class, dtype=np.int64)
        class_list = byte_class.tolist()
        node_byte = self.byte
        frontier = self.root_children if roots is None else roots
        states = np.full(frontier.shape[0], state, dtype=np.int64)
        alive_nodes: list[np.ndarray] = []
        alive_states: list[np.ndarray] = []
        small: list[int] = []  # live nodes found by the Python walk
        child_count = self.child_count
        depth = 1  # depth of the nodes in ``frontier``
        while frontier.size:
            if frontier.size <= self.SMALL_FRONTIER:
                self._small_walk(automaton, byte_class, class_list, frontier.tolist(), states.tolist(), small)
                break
            nxt = _lookup(automaton, states * num_classes + byte_class[node_byte[frontier]])
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
            level_size = self.level_start[depth + 1] - self.level_start[depth]
            if level_size >= self.DENSE_MIN_LEVEL and total * self.DENSE_FRACTION > level_size:
                projected = None
                if roots is None:
                    after = self.PROJECT_AFTER_PASSES_LAZY if automaton.lazy else self.PROJECT_AFTER_PASSES
                    projected = self.projection(byte_class, after)
                if projected is not None:
                    return projected.walk(automaton, depth, alive_nodes, alive_states)
                return self._dense_walk(automaton, self.edge_classes(byte_class), depth, alive_nodes, alive_states)
            frontier, states = self._children(frontier, nxt, counts, total)
        allowed = np.zeros(self.vocab_size, dtype=bool)
        if small:
            alive_nodes.append(np.array(small, dtype=np.int64))
        if alive_nodes:
            alive = np.concatenate(alive_nodes)
            ids = self.token[alive]
            allowed[ids[ids >= 0]] = True
            if self.extra_nodes.size:
                allowed[self.extra_tokens[np.isin(self.extra_nodes, alive)]] = True
        return allowed

    def _small_walk(self, automaton, byte_class, class_list: list[int], nodes: list[int], states: list[int],
                    alive: list[int]) -> None:
        """Depth-first walk of a few branches in plain Python; appends the live nodes to ``alive``.

        A node with many children hands them back to the vectorized :meth:`_sparse_from`."""
        num_classes = automaton.num_classes
        table = automaton.flat_table
        lazy = automaton.lazy
        child_start = self._child_start_list
        child_end = self._child_end_list
        node_byte = self._byte_list
        stack = list(zip(nodes, states))
        while stack:
            node, st = stack.pop()
            idx = st * num_classes + class_list[node_byte[node]]
            nxt = int(table[idx])
            if nxt < -1 and lazy:
                nxt = automaton.resolve_entry(idx)
                table = automaton.flat_table  # interning may have grown it
            if nxt < 0:
                continue
            alive.append(node)
            lo, hi = child_start[node], child_end[node]
            if hi - lo > self.SMALL_FRONTIER:
                self._sparse_from(automaton, byte_class, class_list, np.arange(lo, hi, dtype=np.int64), nxt, alive)
                table = automaton.flat_table
            else:
                for child in range(lo, hi):
                    stack.append((child, nxt))

    def _sparse_from(self, automaton, byte_class, class_list: list[int], frontier: np.ndarray, state: int,
                     alive: list[int]) -> None:
        """The vectorized sparse walk of ``frontier`` (siblings, all from ``state``), results into ``alive``."""
        num_classes = automaton.num_classes
        states = np.full(frontier.shape[0], state, dtype=np.int64)
        while frontier.size:
            if frontier.size <= self.SMALL_FRONTIER:
                self._small_walk(automaton, byte_class, class_list, frontier.tolist(), states.tolist(), alive)
                return
            nxt = _lookup(automaton, states * num_classes + byte_class[self.byte[frontier]])
            keep = nxt >= 0
            frontier = frontier[keep]
            if not frontier.size:
                return
            nxt = nxt[keep].astype(np.int64, copy=False)
            alive.extend(frontier.tolist())
            counts = self.child_count[frontier]
            total = int(counts.sum())
            if not total:
                return
            frontier, states = self._children(frontier, nxt, counts, total)

    def _children(self, nodes: np.ndarray, states: np.ndarray, counts: np.ndarray, total: int) -> tuple[np.ndarray, np.ndarray]:
        """The children of ``nodes`` (``counts`` of them, ``total`` in all), each with its parent's state."""
        has_children = counts > 0
        nodes, states, counts = nodes[has_children], states[has_children], counts[has_children]
        # Each node's children are the contiguous range [child_start, child_start + count).
        ends = np.cumsum(counts)
        offsets = np.repeat(self.child_start[nodes] - (ends - counts), counts)
        return offsets + np.arange(total), np.repeat(states, counts)

    # The three per-node sequences below are tuples, not lists, on purpose: a tuple of ints is
    # dropped from the cyclic garbage collector's lists after its first collection, while a list
    # stays and is traversed element by element at every full collection. Three lists of 266k
    # nodes (tekken) made each full collection ~7 ms longer (measured: 1.18M list elements,
    # these and the per-token lists, ~10 ms), a pause that lands in whatever call allocates
    # next (an accept_token, in a generation loop).
    @property
    def _child_start_list(self) -> tuple[int, ...]:
        """``child_start`` as a Python tuple (for the small-frontier walk), built on first use."""
        if "_csl" not in self.__dict__:
            self.__dict__["_csl"] = tuple(self.child_start.tolist())
        return self.__dict__["_csl"]

    @property
    def _byte_list(self) -> tuple[int, ...]:
        """``byte`` as a Python tuple, built on first use."""
        if "_bl" not in self.__dict__:
            self.__dict__["_bl"] = tuple(self.byte.tolist())
        return self.__dict__["_bl"]

    @property
    def _child_end_list(self) -> tuple[int, ...]:
        """``child_end`` as a Python tuple, built on first use."""
        if "_cel" not in self.__dict__:
            self.__dict__["_cel"] = tuple(self.child_end.tolist())
        return self.__dict__["_cel"]

    # -- the string slicer ------------------------------------------------------------------
    @property
    def plain_split(self) -> tuple[np.ndarray, TokenTrie | None]:
        """``(plain, rest)``: the tokens made only of plain JSON-string text, and a trie of the others.

        A token is *plain* when its bytes are read without dying by :data:`PLAIN_UTF8` from a
        character boundary: printable ASCII other than ``"`` and ``\\`` (no control byte, no DEL),
        and well-formed UTF-8 characters (the token may end inside one). Computed once per
        vocabulary. Inside a JSON string a state that :func:`simulates_plain_utf8` allows every
        plain token, so its mask is ``plain`` plus a walk of ``rest`` (a few thousand tokens
        instead of the whole trie): llguidance's "slicer".
        """
        cached = self.__dict__.get("_plain_split")
        if cached is None:
            plain = self.walk(_TableDFA(self.plain_utf8), np.arange(256, dtype=np.int64), 0)
            rest_bytes = [None if plain[i] else t for i, t in enumerate(self._token_bytes)]
            rest = TokenTrie(rest_bytes) if any(rest_bytes) else None
            cached = self.__dict__["_plain_split"] = (plain, rest)
        return cached

    @property
    def plain_chars(self) -> np.ndarray:
        """(vocab_size,) int32: each token's number of UTF-8 character starts (bytes that are
        not continuation bytes); for a plain token (see :attr:`plain_split`), the characters
        it takes in a string, one it ends inside included. Computed once; read-only."""
        cached = self.__dict__.get("_plain_chars")
        if cached is None:
            tokens = [t or b"" for t in self._token_bytes]
            data = np.frombuffer(b"".join(tokens), dtype=np.uint8)
            # Character starts counted over all tokens at once, each token's share by differences.
            starts_before = np.concatenate([[0], np.cumsum((data & 0xC0) != 0x80)])
            lengths = np.array([len(t) for t in tokens], dtype=np.int64)
            ends = np.cumsum(lengths)
            cached = (starts_before[ends] - starts_before[ends - lengths]).astype(np.int32)
            cached.flags.writeable = False
            self.__dict__["_plain_chars"] = cached
        return cached

    @property
    def plain_utf8(self) -> np.ndarray:
        """:func:`plain_utf8_table` restricted to this vocabulary's bytes (computed once; read-only)."""
        cached = self.__dict__.get("_plain_utf8")
        if cached is None:
            cached = plain_utf8_table(self.producible_bytes)
            cached.flags.writeable = False
            self.__dict__["_plain_utf8"] = cached
            self.__dict__["_plain_first_bytes"] = np.flatnonzero(cached[0] >= 0)
        return cached

    @property
    def plain_first_bytes(self) -> np.ndarray:
        """The bytes a plain token can start with (see :attr:`plain_utf8`)."""
        self.plain_utf8  # noqa: B018 - computes both
        return self.__dict__["_plain_first_bytes"]

    @property
    def root_of_byte(self) -> np.ndarray:
        """(256,) int64: the depth-1 node of each byte, -1 where no token starts with it."""
        cached = self.__dict__.get("_root_of_byte")
        if cached is None:
            cached = np.full(256, -1, dtype=np.int64)
            cached[self.byte[self.root_children]] = self.root_children
            self.__dict__["_root_of_byte"] = cached
        return cached

    @property
    def first_byte(self) -> np.ndarray:
        """(vocab_size,) int16: each token's first byte, -1 for ids without bytes."""
        cached = self.__dict__.get("_first_byte")
        if cached is None:
            cached = np.array([t[0] if t else -1 for t in self._token_bytes], dtype=np.int16)
            self.__dict__["_first_byte"] = cached
        return cached

    @property
    def producible_bytes(self) -> np.ndarray:
        """(256,) bool: the bytes that occur in some token (computed once; do not modify)."""
        seen = self.__dict__.get("_producible")
        if seen is None:
            seen = np.zeros(256, dtype=bool)
            seen[self.byte[1:]] = True
            self.__dict__["_producible"] = seen
        return seen

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


class ProjectedTrie:
    """The token trie with each byte replaced by its class under one DFA's byte partition.

    Nodes whose prefixes have the same class string merge: an automaton with that partition
    reads them alike, so it reaches the same state on all of them. A regex like
    ``[A-Za-z_]\\w{0,30}`` has 717 projected nodes where tekken's trie has 266k; a schema's
    grammar (property names make each of their letters a class) only about 40% fewer. A dense
    pass over the projected trie then costs its levels plus one gather over the vocabulary.

    Arrays, numbered breadth-first as the token trie: ``parent``, ``cls`` (the class of the
    incoming byte), ``level_start``; ``node`` maps each token-trie node (and the "no node" slot)
    to its projected node, ``token`` each token id to its projected node (``num_nodes``: none).
    """

    def __init__(self, trie: TokenTrie, edge_class: np.ndarray) -> None:
        classes = np.asarray(edge_class, dtype=np.int64)
        num_classes = int(classes.max()) + 1 if classes.size else 1
        node = np.zeros(trie.num_nodes + 1, dtype=np.int64)
        parents = [np.array([-1], dtype=np.int64)]
        edge = [np.array([0], dtype=np.int64)]
        level_start = [0, 1]
        for d in range(1, trie.max_depth + 1):
            lo, hi = int(trie.level_start[d]), int(trie.level_start[d + 1])
            # A node's projected id: one per (projected parent, class) pair, numbered by first
            # occurrence. Pairs are found through a dense table over the previous level's
            # projected nodes and the classes (no sort: this runs over every node of the trie).
            below = level_start[-2]
            parent = node[trie.parent[lo:hi]] - below  # index within the previous level
            keys = parent * num_classes + classes[lo:hi]
            slot = np.empty((level_start[-1] - below) * num_classes, dtype=np.int32)
            order = np.arange(hi - lo, dtype=np.int32)
            slot[keys] = order  # one writer per pair wins; any one represents the pair
            first = slot[keys]
            fresh = first == order
            number = np.cumsum(fresh, dtype=np.int64) - 1
            node[lo:hi] = level_start[-1] + number[first]
            parents.append(below + parent[fresh])
            edge.append(classes[lo:hi][fresh])
            level_start.append(level_start[-1] + int(number[-1]) + 1 if hi > lo else level_start[-1])
        self.num_nodes = level_start[-1]
        node[trie.num_nodes] = self.num_nodes  # "no node" stays "no node"
        self.node = node
        self.parent = np.concatenate(parents)
        self.cls = np.concatenate(edge)
        self.level_start = level_start
        self.token = node[trie.token_node]

    def walk(self, automaton, depth: int, alive_nodes: list[np.ndarray], alive_states: list[np.ndarray]) -> np.ndarray:
        """:meth:`TokenTrie._dense_walk` on the projected trie (``alive_nodes`` are token-trie nodes)."""
        num_classes = automaton.num_classes
        node_state = np.full(self.num_nodes + 1, -1, dtype=np.int64)  # last slot: "no node"
        for nodes, st in zip(alive_nodes, alive_states):
            node_state[self.node[nodes]] = st
        for d in range(depth, len(self.level_start) - 1):
            lo, hi = self.level_start[d], self.level_start[d + 1]
            parent_state = node_state[self.parent[lo:hi]]
            live = np.flatnonzero(parent_state >= 0)
            if not live.size:
                break
            node_state[lo + live] = _lookup(automaton, parent_state[live] * num_classes + self.cls[lo + live])
        return node_state[self.token] >= 0


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


class _TableDFA:
    """A complete (non-lazy) automaton over raw bytes, for walks with :class:`TokenTrie`."""

    lazy = False
    num_classes = 256

    def __init__(self, table: np.ndarray) -> None:
        self.flat_table = np.ascontiguousarray(table, dtype=np.int64).reshape(-1)


def plain_utf8_table(producible: np.ndarray | None = None) -> np.ndarray:
    """(8, 256) transitions of the plain JSON-string text automaton, -1 = dead.

    State 0 is a character boundary and loops on printable ASCII except ``"`` and ``\\``; states
    1-3 expect 1-3 continuation bytes; 4-7 are the restricted second bytes after E0, ED, F0 and F4
    (no overlong forms, no surrogates, nothing past U+10FFFF: exactly the UTF-8 the regex
    compiler emits). Bytes outside ``producible`` are dead (no token can hold them anyway).
    """
    t = np.full((8, 256), -1, dtype=np.int64)
    ascii_plain = [b for b in range(0x20, 0x7F) if b not in (0x22, 0x5C)]
    t[0, ascii_plain] = 0
    t[0, 0xC2:0xE0] = 1
    t[0, 0xE1:0xF0] = 2
    t[0, 0xE0] = 4
    t[0, 0xED] = 5
    t[0, 0xF1:0xF4] = 3
    t[0, 0xF0] = 6
    t[0, 0xF4] = 7
    t[1, 0x80:0xC0] = 0
    t[2, 0x80:0xC0] = 1
    t[3, 0x80:0xC0] = 2
    t[4, 0xA0:0xC0] = 1
    t[5, 0x80:0xA0] = 1
    t[6, 0x90:0xC0] = 2
    t[7, 0x80:0x90] = 2
    if producible is not None:
        t[:, ~np.asarray(producible, dtype=bool)] = -1
    return t


def simulates_plain_utf8(
    automaton, state: int, plain_state: int, plain_table: np.ndarray, memo: dict, max_pairs: int = 64
) -> bool:
    """Whether ``automaton`` from ``state`` reads every byte string that ``plain_table`` reads from
    ``plain_state`` (so every plain token, or plain token tail, is alive there).

    Proven by a simulation: pairs ``(automaton state, plain state)`` reachable together; every
    byte alive in the plain automaton must be alive in ``automaton``. It gives up past
    ``max_pairs`` pairs: a JSON string interior needs a few (the state right after the opening
    quote, the loop on characters after it, a pair per position inside a multi-byte
    character), while a counting state such as ``maxLength`` never closes and is walked in full.
    Results are memoized in ``memo`` (per automaton; entries stay true forever since the
    automaton never changes, only its table gets filled in). Unknown entries of a lazy automaton
    are resolved on the way.
    """
    hit = memo.get((state, plain_state))
    if hit is not None:
        return hit  # the usual case: a wide state's pairs were proved at an earlier mask
    num_classes = automaton.num_classes
    byte_class = np.asarray(automaton.byte_class[:256], dtype=np.int64)

    def successors(a: int, u: int) -> set[tuple[int, int]] | None:
        # Per plain state (remembered with the results): the automaton's classes of its live
        # bytes, and the distinct (class index, plain state next) moves.
        prep = memo.get(("plain", u))
        if prep is None:
            urow = plain_table[u]
            live = np.flatnonzero(urow >= 0)
            classes, inverse = np.unique(byte_class[live], return_inverse=True)
            prep = memo[("plain", u)] = (classes, sorted(set(zip(inverse.reshape(-1).tolist(), urow[live].tolist()))))
        classes, moves = prep
        row = _lookup(automaton, a * num_classes + classes)
        if (row < 0).any():  # each class holds a live plain byte
            return None
        targets = row.tolist()
        return {(targets[i], v) for i, v in moves}

    return simulate_pairs((state, plain_state), successors, memo, max_pairs)
