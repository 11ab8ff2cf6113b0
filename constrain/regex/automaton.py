"""Syntax tree -> byte-level NFA -> minimal DFA.

The DFA works on UTF-8 *bytes*, so tokens that hold part of a multi-byte character are walked like
any other. Bytes are grouped into equivalence classes (bytes no transition tells apart), so the
transition table is ``(states, classes)`` rather than ``(states, 256)``.

Anchors: ``^`` and ``$`` are NFA edges on two virtual symbols. They can be crossed only before the
first byte (``^``) or after the last one (``$``), which gives them their exact meaning anywhere in a
pattern: ``a^b`` matches nothing, ``(^|x)y`` matches "y" and "xy".

Budgets: the NFA and the DFA each have a state budget, and the subset construction a work budget,
so a pattern such as ``(a|b)*a(a|b){40}`` fails fast with :class:`AutomatonTooLargeError` instead
of hanging or exhausting memory.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import deadline
from ..errors import AutomatonTooLargeError
from .parser import MAX_CODE_POINT, Alt, Anchor, Chars, Concat, Node, Ranges, Repeat

DEFAULT_MAX_NFA_STATES = 250_000
DEFAULT_MAX_DFA_STATES = 20_000
# Units of work (NFA states visited) in the subset construction; about a second of Python.
DEFAULT_MAX_WORK = 30_000_000

_SURROGATES = (0xD800, 0xDFFF)


def utf8_sequences(lo: int, hi: int) -> list[list[tuple[int, int]]]:
    """UTF-8 byte-range sequences that together encode exactly the code points ``lo..hi``.

    Each sequence is a list of inclusive byte ranges, one per byte position; the set of byte
    strings it stands for is their Cartesian product. Surrogates (U+D800..U+DFFF) have no UTF-8
    encoding and are left out.
    """
    out: list[list[tuple[int, int]]] = []
    pieces = []
    if lo < _SURROGATES[0]:
        pieces.append((lo, min(hi, _SURROGATES[0] - 1)))
    if hi > _SURROGATES[1]:
        pieces.append((max(lo, _SURROGATES[1] + 1), hi))
    for a, b in pieces:
        _split_utf8(a, b, out)
    return out


def _split_utf8(lo: int, hi: int, out: list[list[tuple[int, int]]]) -> None:
    if lo > hi:
        return
    # Split where the encoded length changes.
    for boundary in (0x7F, 0x7FF, 0xFFFF):
        if lo <= boundary < hi:
            _split_utf8(lo, boundary, out)
            _split_utf8(boundary + 1, hi, out)
            return
    if hi <= 0x7F:
        out.append([(lo, hi)])
        return
    # Split until, at every continuation position, the range either shares its high bits or
    # covers the whole 6-bit span; then the byte ranges are independent per position.
    for i in range(1, 4):
        m = (1 << (6 * i)) - 1
        if (lo & ~m) != (hi & ~m):
            if lo & m:
                _split_utf8(lo, lo | m, out)
                _split_utf8((lo | m) + 1, hi, out)
                return
            if (hi & m) != m:
                _split_utf8(lo, (hi & ~m) - 1, out)
                _split_utf8(hi & ~m, hi, out)
                return
    a = chr(lo).encode("utf-8")
    b = chr(hi).encode("utf-8")
    out.append(list(zip(a, b)))


# --------------------------------------------------------------------------------------------
# NFA
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """A tree node standing for a call of grammar rule ``rule`` (see :mod:`constrain.grammar`).

    It becomes an NFA edge on the non-byte symbol ``256 + rule``, so a rule's DFA keeps, beside its
    byte transitions, one column per rule it calls: ``table[s, byte_class[256 + k]]`` is where the
    caller resumes after rule ``k`` has matched.
    """

    rule: int

    @property
    def symbol(self) -> int:
        return 256 + self.rule


@dataclass(frozen=True, eq=False)
class Embed:
    """A tree node standing for a ready-made DFA's language (from a product, a complement, ...)."""

    dfa: "ByteDFA"

ANCHOR_START = "start"
ANCHOR_END = "end"


@dataclass
class NFA:
    """Thompson NFA over bytes. State 0 is the start; ``accept`` is the single accepting state."""

    max_states: int = DEFAULT_MAX_NFA_STATES
    eps: list[list[int]] = field(default_factory=list)
    edges: list[list[tuple[int, int, int]]] = field(default_factory=list)  # (lo byte, hi byte, target)
    anchors: list[list[tuple[str, int]]] = field(default_factory=list)
    start: int = 0
    accept: int = 0

    def new_state(self) -> int:
        if len(self.eps) >= self.max_states:
            raise self._budget_error()
        self.eps.append([])
        self.edges.append([])
        self.anchors.append([])
        return len(self.eps) - 1

    def _budget_error(self) -> AutomatonTooLargeError:
        return AutomatonTooLargeError(
            f"regex automaton exceeds the NFA budget of {self.max_states} states "
            "(large counted repetitions such as {1000}{1000} multiply); simplify the pattern "
            "or raise max_nfa_states"
        )

    def new_states(self, count: int) -> list[int]:
        """``count`` new states (the budget checked once)."""
        first = len(self.eps)
        if first + count > self.max_states:
            raise self._budget_error()
        for lists in (self.eps, self.edges, self.anchors):
            lists.extend([] for _ in range(count))
        return list(range(first, first + count))


def build_nfa(node: Node, max_states: int = DEFAULT_MAX_NFA_STATES) -> NFA:
    """Build the Thompson NFA of a syntax tree.

    A tree may be a DAG: a node object used in several places is built once per continuation
    (see :func:`_emit`), which keeps grammars such as "optional properties in order" linear.
    """
    nfa = NFA(max_states=max_states)
    start = nfa.new_state()
    accept = nfa.new_state()
    _emit(nfa, node, start, accept, {})
    nfa.start, nfa.accept = start, accept
    return nfa


def build_into(nfa: NFA, node: Node, src: int, dst: int) -> None:
    """Add ``node`` to an existing NFA between states ``src`` and ``dst``."""
    _emit(nfa, node, src, dst, {})


def _emit(nfa: NFA, node: Node, src: int, dst: int, shared: dict[tuple[int, int], int]) -> None:
    """Add states and edges so that ``node`` leads from ``src`` to ``dst``.

    Invariant: no fragment adds edges into its ``src`` or out of its ``dst``. Hence a fragment
    built once from a private entry state towards ``dst`` can be reused by any later occurrence
    of the same node object with the same ``dst`` (``shared`` maps (node id, dst) -> entry).
    """
    t = type(node)
    if t is Chars:
        ranges = node.ranges
        if len(ranges) == 1 and ranges[0][1] < 0x80:  # one ASCII range (literal text): one edge
            nfa.edges[src].append((ranges[0][0], ranges[0][1], dst))
        else:
            _emit_chars(nfa, ranges, src, dst)
        return
    if t is Concat or t is Alt or t is Repeat or t is Embed:
        key = (id(node), dst)
        entry = shared.get(key)
        if entry is not None:
            nfa.eps[src].append(entry)
            return
        entry = nfa.new_state()
        shared[key] = entry
        nfa.eps[src].append(entry)
        _emit_compound(nfa, node, entry, dst, shared)
        return
    if isinstance(node, Anchor):
        nfa.anchors[src].append((node.kind, dst))
    elif isinstance(node, Call):
        nfa.edges[src].append((node.symbol, node.symbol, dst))
    else:  # pragma: no cover - the parser builds only the node types above
        raise TypeError(f"unknown regex node {node!r}")


def _emit_compound(nfa: NFA, node: Node, src: int, dst: int, shared: dict[tuple[int, int], int]) -> None:
    if isinstance(node, Concat):
        if not node.items:
            nfa.eps[src].append(dst)
            return
        cur = src
        for i, item in enumerate(node.items):
            nxt = dst if i == len(node.items) - 1 else nfa.new_state()
            _emit(nfa, item, cur, nxt, shared)
            cur = nxt
    elif isinstance(node, Alt):
        for option in node.options:
            _emit(nfa, option, src, dst, shared)
    elif isinstance(node, Repeat):
        cur = src
        for _ in range(node.min):
            nxt = nfa.new_state()
            _emit(nfa, node.item, cur, nxt, shared)
            cur = nxt
        if node.max is None:
            # cur -> loop -> cur (star), guarded by fresh states so loops do not leak epsilon edges
            loop_in = nfa.new_state()
            loop_out = nfa.new_state()
            nfa.eps[cur].append(loop_in)
            _emit(nfa, node.item, loop_in, loop_out, shared)
            nfa.eps[loop_out].append(loop_in)
            nfa.eps[loop_out].append(dst)
            nfa.eps[cur].append(dst)
        else:
            for _ in range(node.max - node.min):
                nxt = nfa.new_state()
                nfa.eps[cur].append(dst)
                _emit(nfa, node.item, cur, nxt, shared)
                cur = nxt
            nfa.eps[cur].append(dst)
    elif isinstance(node, Embed):
        _emit_dfa(nfa, node.dfa, src, dst)


def byte_runs(byte_class: np.ndarray) -> dict[int, list[tuple[int, int]]]:
    """The byte ranges of each class (a class is a union of runs of consecutive bytes)."""
    runs: dict[int, list[tuple[int, int]]] = {}
    classes = byte_class[:256].tolist()
    lo = 0
    for b in range(1, 257):
        if b == 256 or classes[b] != classes[lo]:
            runs.setdefault(classes[lo], []).append((lo, b - 1))
            lo = b
    return runs


def _emit_dfa(nfa: NFA, dfa: "ByteDFA", src: int, dst: int) -> None:
    """Copy a DFA's states and byte transitions between ``src`` and ``dst``."""
    states = nfa.new_states(dfa.num_states)
    nfa.eps[src].append(states[dfa.start])
    runs = byte_runs(dfa.byte_class)
    rows = dfa.table.tolist()
    accepting = dfa.accepting.tolist()
    edges = nfa.edges
    for s, row in enumerate(rows):
        out = edges[states[s]]
        for c, t in enumerate(row):
            if t >= 0:
                for blo, bhi in runs.get(c, ()):
                    out.append((blo, bhi, states[t]))
        if accepting[s]:
            nfa.eps[states[s]].append(dst)


def _emit_chars(nfa: NFA, ranges: Ranges, src: int, dst: int) -> None:
    template = _CHARS_TEMPLATES.get(ranges)
    if template is None:
        template = _chars_template(ranges)
        if len(_CHARS_TEMPLATES) >= _CHARS_TEMPLATES_SIZE:
            _CHARS_TEMPLATES.clear()
        _CHARS_TEMPLATES[ranges] = template
    inner, edges = template
    # Local state 0 is src, 1 is dst, 2.. are fresh states.
    states = [src, dst] + nfa.new_states(inner) if inner else [src, dst]
    out = nfa.edges
    for a, blo, bhi, b in edges:
        out[states[a]].append((blo, bhi, states[b]))


def _chars_template(ranges: Ranges) -> tuple[int, list[tuple[int, int, int, int]]]:
    """The NFA fragment of a character set, in local state numbers (0: entry, 1: exit, 2..: the
    states inside multi-byte sequences): ``(number of inner states, edges (from, lo, hi, to))``.
    Common byte prefixes share their states (e.g. every 3-byte sequence led by 0xE1..0xEC)."""
    prefix_states: dict[tuple[tuple[int, int], ...], int] = {(): 0}
    edges: list[tuple[int, int, int, int]] = []
    for lo, hi in ranges:
        for seq in utf8_sequences(lo, min(hi, MAX_CODE_POINT)):
            cur = 0
            for k, (blo, bhi) in enumerate(seq):
                if k == len(seq) - 1:
                    edges.append((cur, blo, bhi, 1))
                else:
                    key = tuple(seq[: k + 1])
                    nxt = prefix_states.get(key)
                    if nxt is None:
                        nxt = prefix_states[key] = len(prefix_states) + 1
                        edges.append((cur, blo, bhi, nxt))
                    cur = nxt
    return len(prefix_states) - 1, edges


#: Character-set fragments by their code point ranges: sets recur in every rule of a grammar
#: (string characters, digits, whitespace) and across patterns.
_CHARS_TEMPLATES: dict[Ranges, tuple[int, list[tuple[int, int, int, int]]]] = {}
_CHARS_TEMPLATES_SIZE = 4096


# --------------------------------------------------------------------------------------------
# DFA
# --------------------------------------------------------------------------------------------


@dataclass
class ByteDFA:
    """A deterministic automaton over bytes.

    Attributes:
        byte_class: ``(256,)`` int array mapping each byte to its equivalence class.
        table: ``(num_states, num_classes)`` int32 array; ``table[s, c]`` is the next state or -1 (dead).
        accepting: ``(num_states,)`` bool array.
        start: the initial state.

    Every live state can still reach an accepting state (the automaton is trimmed), so a walk that
    never hits -1 can always be completed.
    """

    byte_class: np.ndarray  # (256,) for a regex; (256 + rules,) for a grammar rule with calls
    table: np.ndarray
    accepting: np.ndarray
    start: int
    _rows: list[list[int]] | None = field(default=None, repr=False)
    _flat: np.ndarray | None = field(default=None, repr=False)
    _class_list: list[int] | None = field(default=None, repr=False)
    _forced: np.ndarray | None = field(default=None, repr=False)

    #: Every table entry is known up front (a grammar automaton fills its table lazily).
    lazy = False

    @property
    def num_states(self) -> int:
        return int(self.table.shape[0])

    @property
    def flat_table(self) -> np.ndarray:
        """The transition table raveled to one int32 array: entry ``state * num_classes + class``."""
        if self._flat is None:
            self._flat = np.ascontiguousarray(self.table, dtype=np.int32).reshape(-1)
        return self._flat

    def resolve(self, flat_indices: np.ndarray) -> None:
        """Nothing to do: no entry is unknown (the interface a lazy automaton implements)."""

    @property
    def num_classes(self) -> int:
        return int(self.table.shape[1])

    def _python_rows(self) -> tuple[list[list[int]], list[int]]:
        # Python lists make the per-byte walk of accept_token ~10x faster than numpy scalar indexing.
        if self._rows is None:
            self._rows = self.table.tolist()
            self._class_list = self.byte_class.tolist()
        return self._rows, self._class_list  # type: ignore[return-value]

    def walk(self, state: int, data: bytes) -> int:
        """State after reading ``data`` from ``state``; -1 if the automaton dies on the way."""
        rows, classes = self._python_rows()
        for b in data:
            state = rows[state][classes[b]]
            if state < 0:
                return -1
        return state

    def is_accepting(self, state: int) -> bool:
        return bool(self.accepting[state])

    def forced_bytes(self, state: int, limit: int) -> bytes:
        """The bytes every continuation from ``state`` starts with (at most ``limit``)."""
        out = bytearray()
        while len(out) < limit:
            b = self.forced_byte(state)
            if b < 0:
                break
            out.append(b)
            state = self.walk(state, bytes((b,)))
        return bytes(out)

    def fullmatch(self, data: bytes) -> bool:
        s = self.walk(self.start, data)
        return s >= 0 and bool(self.accepting[s])

    def forced_byte(self, state: int) -> int:
        """The only byte that can follow ``state``, or -1 when there is a choice (or the state accepts)."""
        if self._forced is None:
            live = self.table >= 0
            n_live = live.sum(axis=1)
            only_class = np.argmax(live, axis=1)
            forced = np.full(self.num_states, -1, dtype=np.int32)
            # The single byte of a size-1 class.
            byte_of_class = np.full(self.num_classes, -1, dtype=np.int32)
            for b in range(255, -1, -1):
                byte_of_class[self.byte_class[b]] = b
            class_sizes = np.bincount(self.byte_class[:256], minlength=self.num_classes)
            candidates = (n_live == 1) & (class_sizes[only_class] == 1) & ~self.accepting
            forced[candidates] = byte_of_class[only_class[candidates]]
            self._forced = forced
        return int(self._forced[state])


def _byte_classes(nfa: NFA) -> np.ndarray:
    """Partition the symbols (bytes 0..255, then call symbols) into classes no NFA edge tells apart.

    Classes are numbered in symbol order; bytes and call symbols never share a class.
    """
    top = max([hi for edges in nfa.edges for _, hi, _ in edges] + [255])
    cuts = np.zeros(top + 2, dtype=bool)
    for edges in nfa.edges:
        for lo, hi, _ in edges:
            cuts[lo] = True
            cuts[hi + 1] = True
    cuts[256:] = True  # each call symbol is its own class
    cuts[0] = False
    return np.cumsum(cuts[: top + 1]).astype(np.int32)


def epsilon_predecessors(nfa: NFA) -> list[list[int]]:
    """Per NFA state, the states with an epsilon or '$' edge into it."""
    reverse: list[list[int]] = [[] for _ in range(len(nfa.eps))]
    for q, targets in enumerate(nfa.eps):
        for t in targets:
            reverse[t].append(q)
        for kind, t in nfa.anchors[q]:
            if kind == ANCHOR_END:
                reverse[t].append(q)
    return reverse


def epsilon_closure(nfa: NFA, seeds: Any, allow_start_anchor: bool) -> set[int]:
    """The states reachable from ``seeds`` through epsilon edges (and '^' edges, which only the
    very start may cross, when ``allow_start_anchor``)."""
    seen = set(seeds)
    stack = list(seeds)
    while stack:
        q = stack.pop()
        nexts = list(nfa.eps[q])
        if allow_start_anchor:
            nexts.extend(t for kind, t in nfa.anchors[q] if kind == ANCHOR_START)
        for t in nexts:
            if t not in seen:
                seen.add(t)
                stack.append(t)
    return seen


def dfa_budget_error(max_states: int) -> AutomatonTooLargeError:
    """The error of a subset construction that makes more than ``max_states`` states."""
    return AutomatonTooLargeError(
        f"regex automaton exceeds the DFA budget of {max_states} states; simplify the pattern or raise max_dfa_states"
    )


def work_budget_error(max_work: int, states: int) -> AutomatonTooLargeError:
    """The error of a subset construction whose sets add up past ``max_work``."""
    return AutomatonTooLargeError(
        f"regex automaton construction exceeds its work budget ({max_work} steps, {states} states so far); "
        "simplify the pattern"
    )


def reach_back(predecessors: list[list[int]], seeds: list[int]) -> set[int]:
    """The states from which one of ``seeds`` is reachable, given each state's predecessors."""
    seen = set(seeds)
    todo = list(seeds)
    while todo:
        for p in predecessors[todo.pop()]:
            if p not in seen:
                seen.add(p)
                todo.append(p)
    return seen


def determinize(
    nfa: NFA,
    max_states: int = DEFAULT_MAX_DFA_STATES,
    max_work: int = DEFAULT_MAX_WORK,
    absorbing: frozenset[int] | None = None,
) -> ByteDFA:
    """Subset construction, then trimming and minimization.

    ``absorbing``: NFA states whose language contains that of every state they can share a
    subset with; a subset meeting them is cut down to them (see ``compile_regex(search=True)``).
    """
    byte_class = _byte_classes(nfa)
    num_classes = int(byte_class[-1]) + 1
    class_of = byte_class.tolist()
    n = len(nfa.eps)

    # NFA states from which accept is reachable through epsilon and '$' edges alone.
    final = reach_back(epsilon_predecessors(nfa), [nfa.accept])

    # A subset only needs the states that read a byte, accept, or absorb: the others (most
    # of a Thompson NFA: entries of alternatives, loops, concatenations) only pass epsilon
    # edges on, and dropping them from every subset makes the subsets small and the DFA the
    # same.
    edges = nfa.edges
    kept = [bool(edges[q]) or q in final or (absorbing is not None and q in absorbing) for q in range(n)]

    # Epsilon closures, with '^' edges usable only from the very start.
    def closure(seeds, allow_start_anchor: bool) -> frozenset[int]:
        return frozenset(q for q in epsilon_closure(nfa, seeds, allow_start_anchor) if kept[q])

    # The closure of a set of states is the union of the closures of its states; those are
    # memoized (most states are reached again and again, from many subsets).
    eps = nfa.eps
    state_closure: dict[int, frozenset[int]] = {}

    def closure_of_state(q: int) -> frozenset[int]:
        got = state_closure.get(q)
        if got is None:
            if not eps[q]:
                got = frozenset((q,)) if kept[q] else frozenset()
            else:
                got = closure((q,), allow_start_anchor=False)
            state_closure[q] = got
        return got

    def move_closure(seeds) -> frozenset[int]:
        if len(seeds) == 1:
            for q in seeds:
                return closure_of_state(q)
        out: set[int] = set()
        for q in seeds:
            out |= closure_of_state(q)
        return frozenset(out)

    # Per state, its byte edges as (class, target) pairs, computed on first use.
    class_moves: list[list[tuple[int, int]] | None] = [None] * n

    start_set = closure([nfa.start], allow_start_anchor=True)
    index: dict[frozenset[int], int] = {start_set: 0}
    sets = [start_set]
    rows: list[list[int]] = []
    work = 0
    i = 0
    while i < len(sets):
        current = sets[i]
        i += 1
        if not i & 63:
            deadline.check()
        moves: list[set[int] | None] = [None] * num_classes
        for q in current:
            pairs = class_moves[q]
            if pairs is None:
                pairs = class_moves[q] = [(c, t) for lo, hi, t in edges[q] for c in range(class_of[lo], class_of[hi] + 1)]
            for c, t in pairs:
                bucket = moves[c]
                if bucket is None:
                    moves[c] = {t}
                else:
                    bucket.add(t)
        work += len(current)
        row = []
        for c in range(num_classes):
            bucket = moves[c]
            if not bucket:
                row.append(-1)
                continue
            target = move_closure(bucket)
            if not target:  # only dead ends: no state
                row.append(-1)
                continue
            if absorbing is not None and not absorbing.isdisjoint(target):
                target = target & absorbing
            work += len(target)
            j = index.get(target)
            if j is None:
                if len(sets) >= max_states:
                    raise dfa_budget_error(max_states)
                j = len(sets)
                index[target] = j
                sets.append(target)
            row.append(j)
        rows.append(row)
        if work > max_work:
            raise work_budget_error(max_work, len(sets))
    table = np.array(rows, dtype=np.int32).reshape(len(sets), num_classes)
    accepting = np.array([not final.isdisjoint(s) for s in sets], dtype=bool)
    return minimize(ByteDFA(byte_class=byte_class, table=table, accepting=accepting, start=0))


def deterministic_to_dfa(nfa: NFA, refine: bool = True, max_states: int = DEFAULT_MAX_DFA_STATES) -> ByteDFA:
    """The DFA of an NFA that is already deterministic: no epsilon or anchor edges, and the
    edges leaving each state cover disjoint byte ranges (the caller guarantees it).

    It skips the subset construction: each NFA state is a DFA state (so the state budget
    applies to the NFA's states, as :func:`determinize`'s applies to its subsets).
    """
    if len(nfa.edges) > max_states:
        raise AutomatonTooLargeError(
            f"automaton exceeds the DFA budget of {max_states} states ({len(nfa.edges)} states); "
            "simplify the pattern or raise max_dfa_states"
        )
    byte_class = _byte_classes(nfa)
    num_classes = int(byte_class[-1]) + 1
    class_of = byte_class.tolist()
    rows = []
    for q, edges in enumerate(nfa.edges):
        if not q & 1023:
            deadline.check()
        row = [-1] * num_classes
        for lo, hi, t in edges:
            first, last = class_of[lo], class_of[hi]
            row[first:last + 1] = [t] * (last - first + 1)
        rows.append(row)
    table = np.array(rows, dtype=np.int32).reshape(len(rows), num_classes)
    accepting = np.zeros(len(rows), dtype=bool)
    accepting[nfa.accept] = True
    return minimize(ByteDFA(byte_class=byte_class, table=table, accepting=accepting, start=nfa.start), refine=refine)


def freeze(dfa: ByteDFA) -> ByteDFA:
    """Make ``dfa``'s arrays read-only (it is shared by every later caller) and return it."""
    for array in (dfa.byte_class, dfa.table, dfa.accepting):
        array.flags.writeable = False
    return dfa


def is_shared(dfa: ByteDFA) -> bool:
    """Whether ``dfa`` came from a :class:`DfaMemo` (its arrays are read-only)."""
    return not dfa.table.flags.writeable


class DfaMemo:
    """Automata remembered by key across compilations (formats, number ranges and common
    patterns recur from one schema to the next). Stored values are frozen; the oldest are
    dropped once the remembered tables hold more than ``max_entries`` entries in all, and an
    automaton larger than a quarter of that is not remembered at all."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._items: dict[Any, tuple[Any, int]] = {}
        self._entries = 0
        self._lock = threading.Lock()  # compilations may run in several threads

    def get(self, key: Any) -> Any:
        got = self._items.get(key)
        return None if got is None else got[0]

    def put(self, key: Any, value: Any, *dfas: ByteDFA) -> Any:
        """Remember ``value`` (it holds the automata ``dfas``, which are frozen); return it."""
        size = sum(int(d.table.size) for d in dfas)
        for d in dfas:
            freeze(d)
        with self._lock:
            if size > self.max_entries // 4 or key in self._items:
                return value
            self._items[key] = (value, size)
            self._entries += size
            while self._entries > self.max_entries:
                oldest = next(iter(self._items))
                self._entries -= self._items.pop(oldest)[1]
        return value


def restrict_bytes(dfa: ByteDFA, allowed: np.ndarray) -> ByteDFA:
    """``dfa`` without transitions on the bytes where ``allowed`` (a (256,) bool array) is False.

    Used with the bytes a vocabulary can spell: a path through a byte no token holds can never be
    generated, and leaving it in would strand a matcher in a state with nothing to choose.
    """
    if bool(np.all(allowed)):
        return dfa
    # Nothing to do when no transition reads a removed byte (JSON structure rules never read
    # control bytes or unused UTF-8 leads): this saves a minimization per grammar rule.
    used = np.flatnonzero((dfa.table >= 0).any(axis=0))
    if not np.isin(dfa.byte_class[:256][~allowed], used).any():
        return dfa
    byte_class = dfa.byte_class.copy()
    dead_class = dfa.num_classes
    byte_class[:256][~allowed] = dead_class
    table = np.hstack([dfa.table, np.full((dfa.num_states, 1), -1, dtype=dfa.table.dtype)])
    emptied = np.bincount(byte_class, minlength=dead_class + 1) == 0
    table[:, emptied] = -1  # classes whose every byte is gone
    # The input was minimal; dropping bytes rarely makes states equivalent, and trimming is what
    # correctness needs (no dead ends), so large automata are only trimmed.
    return minimize(ByteDFA(byte_class=byte_class, table=table, accepting=dfa.accepting.copy(), start=dfa.start),
                    refine=dfa.num_states <= _HOPCROFT_MIN_STATES)


def _coreachable(table: np.ndarray, accepting: np.ndarray) -> np.ndarray:
    """States from which an accepting state can be reached."""
    src, cls = np.nonzero(table >= 0)
    dst = table[src, cls]
    order = np.argsort(dst, kind="stable")
    src_sorted = src[order].tolist()
    bounds = np.searchsorted(dst[order], np.arange(table.shape[0] + 1)).tolist()
    alive = accepting.copy()
    stack = np.flatnonzero(accepting).tolist()
    while stack:
        q = stack.pop()
        for p in src_sorted[bounds[q]:bounds[q + 1]]:
            if not alive[p]:
                alive[p] = True
                stack.append(p)
    return alive


def minimize(dfa: ByteDFA, *, refine: bool = True) -> ByteDFA:
    """Trim states that cannot reach acceptance, then merge equivalent states.

    Small automata are refined with Moore's algorithm (vectorized), large ones with Hopcroft's.
    ``refine=False`` only trims and renumbers (for automata known to be nearly minimal, where a
    refinement would cost more than the states it saves).

    The result is numbered in breadth-first order from the start state, which is 0. A language
    that is empty gives a one-state automaton whose start state has no transitions and does not
    accept.
    """
    table = dfa.table
    n, num_classes = table.shape
    if n * num_classes <= _PYTHON_MINIMIZE_ENTRIES:
        return _minimize_small(dfa, refine)
    alive = _coreachable(table, dfa.accepting)
    table = np.where((table >= 0) & alive[np.maximum(table, 0)], table, -1)
    if not alive[dfa.start]:
        return ByteDFA(
            byte_class=np.zeros(256, dtype=np.int32),
            table=np.full((1, 1), -1, dtype=np.int32),
            accepting=np.zeros(1, dtype=bool),
            start=0,
        )
    # Dead sink at index n so every row is total during refinement.
    total = np.where(table >= 0, table, n)
    total = np.vstack([total, np.full((1, num_classes), n, dtype=total.dtype)])
    block = np.concatenate([dfa.accepting.astype(np.int64), [2]])  # dead sink: its own block
    block[:n][~alive] = 2
    if not refine:
        block = np.where(block == 2, 2, np.arange(n + 1) + 3)
        block[n] = 2
    elif n > _HOPCROFT_MIN_STATES:
        # A few vectorized Moore passes settle most automata; a long counting chain does not
        # settle in them and is finished by Hopcroft, started from the partition reached (any
        # partition coarser than the final one is a valid start: the result is the same).
        max_passes = min(_MOORE_MAX_PASSES, max(8, _MOORE_WORK // (total.shape[0] * num_classes)))
        block, settled = _moore(total, block, max_passes)
        if not settled:
            block = _hopcroft(total, block)
    else:
        block, _ = _moore(total, block)
    # Renumber reachable blocks breadth-first from the start. The block graph is read off one
    # representative state per block (all members agree after refinement).
    _, block_ids = np.unique(block, return_inverse=True)
    block_ids = block_ids.reshape(-1)
    num_blocks = int(block_ids.max()) + 1
    representative_of = np.empty(num_blocks, dtype=np.int64)
    representative_of[block_ids[::-1]] = np.arange(n, -1, -1)  # the first state of each block
    dead = int(block_ids[n])
    block_rows = block_ids[total[representative_of]].tolist()
    start_block = int(block_ids[dfa.start])
    new_of = [-1] * num_blocks
    new_of[start_block] = 0
    queue = [start_block]
    qi = 0
    while qi < len(queue):
        for b2 in block_rows[queue[qi]]:
            if new_of[b2] < 0 and b2 != dead:
                new_of[b2] = len(queue)
                queue.append(b2)
        qi += 1
    new_of_arr = np.asarray(new_of + [-1], dtype=np.int64)  # index -1 (none) stays -1
    blocks_in_order = np.asarray(queue, dtype=np.int64)
    rows = np.asarray(block_rows, dtype=np.int64).reshape(num_blocks, num_classes)[blocks_in_order]
    rows = np.where(rows == dead, -1, rows)
    new_table = new_of_arr[rows].astype(np.int32)
    new_accepting = dfa.accepting[representative_of[blocks_in_order]].copy()
    # Drop byte classes that became indistinguishable after minimization.
    _, first, inverse = np.unique(new_table.T, axis=0, return_index=True, return_inverse=True)
    keep_order = np.argsort(first)
    remap = np.empty_like(keep_order)
    remap[keep_order] = np.arange(len(keep_order))
    new_table = np.ascontiguousarray(new_table[:, np.sort(first)])
    byte_class = remap[inverse.reshape(-1)][dfa.byte_class].astype(np.int32)
    return ByteDFA(byte_class=byte_class, table=new_table, accepting=new_accepting, start=0)


def _minimize_small(dfa: ByteDFA, refine: bool) -> ByteDFA:
    """:func:`minimize` on Python lists, for small automata (most regexes: 4-30 states).

    Same result as the vectorized path, state for state and class for class; it exists because
    each numpy call costs microseconds (tens of them when the caches are cold, as they are at
    the start of a compilation), and the vectorized path makes about forty.
    """
    rows = dfa.table.tolist()
    accepting = dfa.accepting.tolist()
    n = len(rows)
    # Trim: the states from which an accepting state can be reached.
    predecessors: list[list[int]] = [[] for _ in range(n)]
    for q, row in enumerate(rows):
        for t in row:
            if t >= 0:
                predecessors[t].append(q)
    alive = reach_back(predecessors, [q for q in range(n) if accepting[q]])
    if dfa.start not in alive:
        return ByteDFA(
            byte_class=np.zeros(256, dtype=np.int32),
            table=np.full((1, 1), -1, dtype=np.int32),
            accepting=np.zeros(1, dtype=bool),
            start=0,
        )
    rows = [[t if t in alive else -1 for t in row] for row in rows]
    states = sorted(alive)
    # Moore refinement over the live states; -1 (dead) is a block of its own.
    # ``block`` has one more slot than there are states, holding -1: ``block[-1]`` is the dead block.
    if refine:
        block = [int(a) for a in accepting] + [-1]
        count = len({block[q] for q in states})
        while True:
            labels: dict[tuple[int, ...], int] = {}
            look = block.__getitem__
            new_block = [-1] * (n + 1)
            for q in states:
                new_block[q] = labels.setdefault((block[q], *map(look, rows[q])), len(labels))
            block = new_block
            if len(labels) == count:
                break
            count = len(labels)
    else:
        block = list(range(n)) + [-1]
    # Renumber blocks breadth-first from the start, reading each block's row off its first state.
    representative: dict[int, int] = {}
    for q in states:
        representative.setdefault(block[q], q)
    new_of = {block[dfa.start]: 0}
    order = [block[dfa.start]]
    for b in order:
        for t in rows[representative[b]]:
            if t >= 0 and block[t] not in new_of:
                new_of[block[t]] = len(order)
                order.append(block[t])
    new_rows = [[new_of[block[t]] if t >= 0 else -1 for t in rows[representative[b]]] for b in order]
    # Drop byte classes that became indistinguishable, numbering the rest by first appearance.
    class_map: list[int] = []
    column_ids: dict[tuple[int, ...], int] = {}
    kept: list[int] = []
    for c, column in enumerate(zip(*new_rows)):
        got = column_ids.get(column)
        if got is None:
            got = column_ids[column] = len(kept)
            kept.append(c)
        class_map.append(got)
    table = np.array([[row[c] for c in kept] for row in new_rows], dtype=np.int32).reshape(len(new_rows), len(kept))
    byte_class = np.array(class_map, dtype=np.int32)[dfa.byte_class]
    return ByteDFA(
        byte_class=byte_class,
        table=table,
        accepting=np.array([accepting[representative[b]] for b in order], dtype=bool),
        start=0,
    )


#: Automata with at most this many table entries are minimized on Python lists.
_PYTHON_MINIMIZE_ENTRIES = 1024
#: Above this many states, minimize with Hopcroft's algorithm: Moore refinement needs one numpy
#: pass per level of the longest distinguishing suffix, so long counting chains (``.{0,255}``)
#: made it quadratic.
_HOPCROFT_MIN_STATES = 256
#: Above it, Moore passes are tried first, as many as fit in this many table entries of work.
_MOORE_WORK = 4_000_000
_MOORE_MAX_PASSES = 40


def _moore(total: np.ndarray, block: np.ndarray, max_passes: int | None = None) -> tuple[np.ndarray, bool]:
    """Moore refinement of the partition ``block`` of a total transition table; vectorized.

    Returns the partition and whether it is stable; it may not be after ``max_passes`` passes.
    """
    n1, num_classes = total.shape
    num_blocks = len(np.unique(block))
    passes = 0
    while True:
        if max_passes is not None and passes >= max_passes:
            return block, False
        passes += 1
        deadline.check()
        # States stay together iff their block and every successor's block agree. Rows are
        # compared as raw bytes (a 1-D unique of a void view is much faster than axis=0).
        signature = np.empty((n1, num_classes + 1), dtype=np.int32)
        signature[:, 0] = block
        signature[:, 1:] = block[total]
        rows = np.ascontiguousarray(signature).view(np.dtype((np.void, 4 * (num_classes + 1)))).reshape(-1)
        _, label = np.unique(rows, return_inverse=True)
        label = label.reshape(-1)
        new_count = int(label.max()) + 1
        block = label
        if new_count == num_blocks:
            return block, True
        num_blocks = new_count


def _hopcroft(total: np.ndarray, block: np.ndarray) -> np.ndarray:
    """Hopcroft's partition refinement (O(k n log n)) of ``block`` for a total transition table."""
    n1, num_classes = total.shape
    # Predecessors per class: the states s with total[s, c] == t are
    # pred_order[c][pred_bounds[c][t]:pred_bounds[c][t + 1]] (sliced only when needed).
    pred_order: list[list[int]] = []
    pred_bounds: list[list[int]] = []
    for c in range(num_classes):
        column = total[:, c]
        order = np.argsort(column, kind="stable")
        pred_bounds.append(np.searchsorted(column[order], np.arange(n1 + 1)).tolist())
        pred_order.append(order.tolist())
    _, label = np.unique(block, return_inverse=True)
    block_of = label.reshape(-1).tolist()
    members: list[list[int]] = [[] for _ in range(max(block_of) + 1)]
    for q, b in enumerate(block_of):
        members[b].append(q)
    waiting = set(range(len(members)))
    while waiting:
        deadline.check()
        splitter = list(members[waiting.pop()])
        for c in range(num_classes):
            order_c = pred_order[c]
            bounds_c = pred_bounds[c]
            touched: dict[int, list[int]] = {}
            for t in splitter:
                lo, hi = bounds_c[t], bounds_c[t + 1]
                if lo == hi:
                    continue
                for s in order_c[lo:hi]:
                    touched.setdefault(block_of[s], []).append(s)
            for b, hit in touched.items():
                if len(hit) == len(members[b]):
                    continue
                hit_set = set(hit)
                rest = [q for q in members[b] if q not in hit_set]
                # The smaller half becomes a new block; both halves must be splitters if b was
                # waiting, and the smaller one suffices otherwise (Hopcroft's trick).
                if len(hit) <= len(rest):
                    members[b], moved = rest, hit
                else:
                    members[b], moved = hit, rest
                new_b = len(members)
                members.append(moved)
                for q in moved:
                    block_of[q] = new_b
                waiting.add(new_b)
    return np.asarray(block_of, dtype=np.int64)
