"""What a lazily built grammar needs to know about its rule trees before determinizing them.

A :class:`~constrain.grammar.GrammarAutomaton` determinizes a rule only when a parse first enters
it. What it needs up front is read off the trees instead:

* :func:`rule_is_nullable`: whether a rule matches the empty string (callees must not), exactly
  as the rule's DFA would tell;
* :meth:`TreeInfo.byte_classes`: byte classes that refine the byte classes of every rule's DFA,
  so that the grammar's global classes are fixed before any rule is built;
* :meth:`TreeInfo.size_estimate`: about how large a rule's NFA is (large rules are built up front,
  so that their budget errors stay compile-time errors).

:func:`rule_dfa` builds one rule's DFA, restricted to the producible bytes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .automaton import ByteDFA, Call, DfaMemo, Embed, build_nfa, determinize, is_shared, restrict_bytes, utf8_sequences
from .parser import MAX_CODE_POINT, Alt, Anchor, Chars, Concat, Node, Repeat

# -- nullability ------------------------------------------------------------------------------
# The empty word crosses no byte, only epsilon edges and anchors. determinize() lets it cross
# '^' edges from the start and then '$' edges towards acceptance, so an empty path counts when
# its anchors read as ^...^$...$. A path is summed up by one of four kinds (bits of a set):
_E, _S, _D, _SD = 1, 2, 4, 8  # no anchor, only '^', only '$', '^' then '$'
_KINDS = (_E, _S, _D, _SD)
# _JOIN[a][b]: the kind of path a followed by path b (0: not crossable).
_JOIN = {
    _E: {_E: _E, _S: _S, _D: _D, _SD: _SD},
    _S: {_E: _S, _S: _S, _D: _SD, _SD: _SD},
    _D: {_E: _D, _S: 0, _D: _D, _SD: 0},
    _SD: {_E: _SD, _S: 0, _D: _SD, _SD: 0},
}


def _concat(x: int, y: int) -> int:
    out = 0
    for a in _KINDS:
        if x & a:
            for b in _KINDS:
                if y & b:
                    out |= _JOIN[a][b]
    return out


def _power(x: int, n: int) -> int:
    """``x`` concatenated ``n`` times (the kind sets form a finite monoid: stop once a cycle shows)."""
    out = _E
    seen: dict[int, int] = {}
    i = 0
    while i < n:
        if out in seen:
            cycle = i - seen[out]
            i += ((n - i) // cycle) * cycle
            seen = {}
            if i >= n:
                break
        seen[out] = i
        out = _concat(out, x)
        i += 1
    return out


def _empty_paths(node: Node, memo: dict[int, int]) -> int:
    key = id(node)
    got = memo.get(key)
    if got is not None:
        return got
    if isinstance(node, (Chars, Call)):
        out = 0
    elif isinstance(node, Anchor):
        out = _S if node.kind == "start" else _D
    elif isinstance(node, Embed):
        out = _E if bool(node.dfa.accepting[node.dfa.start]) else 0
    elif isinstance(node, Concat):
        out = _E
        for item in node.items:
            out = _concat(out, _empty_paths(item, memo))
            if not out:
                break
    elif isinstance(node, Alt):
        out = 0
        for option in node.options:
            out |= _empty_paths(option, memo)
    elif isinstance(node, Repeat):
        item = _empty_paths(node.item, memo)
        out = _power(item, node.min)
        if node.max is None or node.max > node.min:
            optional = _E | item
            # (E|x)^k grows with k and has at most 4 kinds: a fixpoint comes within 4 steps.
            steps = 4 if node.max is None else min(4, node.max - node.min)
            more = _power(optional, steps)
            out = _concat(out, more)
    else:  # pragma: no cover - the node types above are all a tree holds
        raise TypeError(f"unknown regex node {node!r}")
    memo[key] = out
    return out


def rule_is_nullable(node: Node) -> bool:
    """Whether the DFA of ``node`` (determinized, minimized, restricted) accepts the empty string."""
    return _empty_paths(node, {}) != 0


# -- byte classes -----------------------------------------------------------------------------
_RANGES_CACHE: dict[Any, frozenset[tuple[int, int]]] = {}
_RANGES_CACHE_SIZE = 8192


def _byte_ranges(ranges: tuple[tuple[int, int], ...]) -> frozenset[tuple[int, int]]:
    """The byte ranges of the NFA edges a Chars node becomes (one per position of each UTF-8 sequence)."""
    got = _RANGES_CACHE.get(ranges)
    if got is None:
        out = set()
        for lo, hi in ranges:
            for seq in utf8_sequences(lo, min(hi, MAX_CODE_POINT)):
                out.update(seq)
        got = frozenset(out)
        if len(_RANGES_CACHE) >= _RANGES_CACHE_SIZE:
            _RANGES_CACHE.clear()
        _RANGES_CACHE[ranges] = got
    return got


def _own_size(n: Node) -> int:
    """NFA states of a node itself, its children left out."""
    if isinstance(n, Chars):
        # One edge per ASCII range, a few states per multi-byte one.
        return len(n.ranges) if not n.ranges or n.ranges[-1][1] < 0x80 else 4 * len(n.ranges)
    if isinstance(n, Concat):
        return 1 + len(n.items)
    if isinstance(n, Alt):
        return 1
    if isinstance(n, Repeat):
        return 3 + _copies(n)
    if isinstance(n, Embed):
        return 1 + n.dfa.num_states
    return 0


def _copies(n: Repeat) -> int:
    """How many copies of its item the NFA of a repetition holds."""
    return n.min + 1 if n.max is None else max(n.max, 1)


def tree_children(n: Node) -> tuple[Node, ...]:
    """The subtrees of a node (none for leaves: characters, anchors, calls, embedded automata)."""
    if isinstance(n, Concat):
        return n.items
    if isinstance(n, Alt):
        return n.options
    if isinstance(n, Repeat):
        return (n.item,)
    return ()


class TreeInfo:
    """What the constructor of a lazy grammar reads off all its rule trees, in one pass.

    * :meth:`byte_classes`: byte classes refining the byte classes of every rule's DFA;
    * :meth:`size_estimate`: about how many NFA states a rule becomes.
    """

    def __init__(self, trees: tuple[Node, ...] | list[Node], size_cap: int = 1 << 40) -> None:
        # Per node, an upper bound of its NFA size that counts shared nodes at every use (capped).
        # A composite node is visited twice (first its missing children are pushed), a leaf once.
        upper: dict[int, int] = {}
        chars: set[tuple[tuple[int, int], ...]] = set()
        embeds: dict[int, ByteDFA] = {}
        known = upper.get
        for root in trees:
            stack = [root]
            while stack:
                n = stack[-1]
                key = id(n)
                if key in upper:
                    stack.pop()
                    continue
                t = type(n)
                if t is Concat:
                    kids = n.items
                elif t is Alt:
                    kids = n.options
                elif t is Repeat:
                    kids = (n.item,)
                else:  # a leaf as a root
                    upper[key] = self._leaf_size(n, chars, embeds)
                    stack.pop()
                    continue
                total = 0
                missing = False
                for kid in kids:
                    size = known(id(kid))
                    if size is None:
                        tk = type(kid)
                        if tk is Concat or tk is Alt or tk is Repeat:
                            stack.append(kid)
                            missing = True
                            continue
                        # Leaves (half the nodes: literal text is one per character) are done here.
                        size = upper[id(kid)] = self._leaf_size(kid, chars, embeds)
                    total += size
                if missing:
                    continue  # back here once the children are done
                # The node's own states (as _own_size counts them, inlined: this loop is hot).
                if t is Concat:
                    total += 1 + len(kids)
                elif t is Alt:
                    total += 1
                else:  # the item is built once per copy
                    copies = _copies(n)
                    total += 3 + copies + (copies - 1) * upper[id(n.item)]
                upper[key] = total if total < size_cap else size_cap
                stack.pop()
        self._upper = upper
        self._chars = chars
        self._embeds = embeds

    @staticmethod
    def _leaf_size(n: Node, chars: set[tuple[tuple[int, int], ...]], embeds: dict[int, ByteDFA]) -> int:
        """:func:`_own_size` of a leaf, noting its character set or embedded automaton."""
        t = type(n)
        if t is Chars:
            chars.add(n.ranges)
        elif t is Embed:
            embeds[id(n.dfa)] = n.dfa
        elif not isinstance(n, (Call, Anchor)):  # pragma: no cover - the tree node types are fixed
            raise TypeError(f"unexpected node type {t.__name__} in a grammar rule")
        return _own_size(n)

    def byte_classes(self, producible: np.ndarray | None) -> np.ndarray:
        """``(256,)`` byte classes, numbered by first byte, refining every rule DFA's byte classes.

        Two bytes share a class when every NFA edge of every tree holds both or neither (an edge
        from a Chars node holds a byte range, one from an Embed node a byte class of its DFA). Such
        bytes lead from every subset of NFA states to the same subset, so no rule's DFA tells them
        apart. Bytes outside ``producible`` are removed from every rule: they share one class.
        """
        ranges: set[tuple[int, int]] = set()
        for r in self._chars:
            ranges |= _byte_ranges(r)
        if not ranges and not self._embeds and producible is None:
            return np.zeros(256, dtype=np.int32)
        # A byte's signature: which ranges hold it, its class in each embedded DFA, whether it is
        # producible. It is constant between consecutive change points of those, so signatures
        # are taken per segment (a few dozen) rather than per byte. (Pure Python: numpy's
        # per-call overhead made the bit-packed 256-row version cost ~0.15 ms per grammar.)
        # Each range is one bit of the signature, flipped on where it starts and off past its end.
        flips: dict[int, int] = {}
        for bit, (lo, hi) in enumerate(ranges):
            flips[lo] = flips.get(lo, 0) ^ (1 << bit)
            flips[hi + 1] = flips.get(hi + 1, 0) ^ (1 << bit)
        cuts = set(flips)
        embedded = [dfa.byte_class[:256] for dfa in self._embeds.values()]
        columns = []
        for column in embedded:
            cuts.update((np.flatnonzero(column[1:] != column[:-1]) + 1).tolist())
            columns.append(column.tolist())
        allowed = None
        if producible is not None:
            allowed, producible_cuts = _producible_runs(np.asarray(producible, dtype=bool))
            cuts.update(producible_cuts)
        cuts.discard(256)
        cuts.add(0)
        bounds = sorted(cuts)
        bounds.append(256)
        inside = 0
        numbering: dict[Any, int] = {}
        out = [0] * 256
        for i in range(len(bounds) - 1):
            lo, hi = bounds[i], bounds[i + 1]
            inside ^= flips.get(lo, 0)
            if allowed is not None and not allowed[lo]:
                key: Any = -1  # bytes no token holds: one class, whatever the rules say
            elif columns:
                key = (inside, *[column[lo] for column in columns])
            else:
                key = inside
            cls = numbering.setdefault(key, len(numbering))
            out[lo:hi] = [cls] * (hi - lo)
        return np.array(out, dtype=np.int32)

    def size_estimate(self, node: Node, limit: int) -> int:
        """About how many NFA states ``node`` (one of the trees) becomes, counting each distinct
        composite node object once (the NFA builder shares a fragment between uses with the same
        continuation; character sets it emits at every use); or some number above ``limit`` once
        it is known to exceed it."""
        upper = self._upper[id(node)]
        if upper <= limit:
            return upper
        seen: set[int] = set()
        todo = [node]
        total = 0
        while todo and total <= limit:
            n = todo.pop()
            if id(n) in seen:
                continue
            if type(n) is not Chars:  # a character set is emitted at every use (see _emit)
                seen.add(id(n))
            total += _own_size(n)
            if type(n) is Repeat:
                total += (_copies(n) - 1) * self._upper[id(n.item)]
            todo.extend(tree_children(n))
        return total


_PRODUCIBLE_RUNS: dict[bytes, tuple[list[bool], list[int]]] = {}


def _producible_runs(producible: np.ndarray) -> tuple[list[bool], list[int]]:
    """A producible-bytes mask as a list, and the bytes where it changes (one mask per vocabulary
    recurs in every compile, so this is remembered)."""
    key = producible.tobytes()
    got = _PRODUCIBLE_RUNS.get(key)
    if got is None:
        got = (producible.tolist(), (np.flatnonzero(producible[1:] != producible[:-1]) + 1).tolist())
        if len(_PRODUCIBLE_RUNS) >= 64:
            _PRODUCIBLE_RUNS.clear()
        _PRODUCIBLE_RUNS[key] = got
    return got


def tree_byte_classes(trees: tuple[Node, ...] | list[Node], producible: np.ndarray | None) -> np.ndarray:
    """:meth:`TreeInfo.byte_classes` of ``trees``."""
    return TreeInfo(trees).byte_classes(producible)


def rule_size_estimate(node: Node, limit: int = 1 << 40) -> int:
    """:meth:`TreeInfo.size_estimate` of a single tree."""
    return TreeInfo((node,)).size_estimate(node, limit)


# -- rule automata ----------------------------------------------------------------------------
def rule_dfa(node: Node, producible: np.ndarray | None, dfa_kwargs: dict[str, Any]) -> ByteDFA:
    """The minimal DFA of one grammar rule, restricted to ``producible`` bytes (None: all)."""
    if isinstance(node, Embed):
        if producible is None:
            return node.dfa
        if not is_shared(node.dfa):
            return restrict_bytes(node.dfa, producible)
        # A remembered automaton (a format, a long string) recurs across schemas: so does its
        # restriction. The entry pins the automaton itself, so that its id stays its own.
        key = (id(node.dfa), producible.tobytes())
        got = _RESTRICTED.get(key)
        if got is None or got[0] is not node.dfa:
            restricted = restrict_bytes(node.dfa, producible)
            got = _RESTRICTED.put(key, (node.dfa, restricted), node.dfa, restricted)
        return got[1]
    dfa = determinize(build_nfa(node), **dfa_kwargs)
    if producible is not None:
        dfa = restrict_bytes(dfa, producible)
    return dfa


_RESTRICTED = DfaMemo(max_entries=8_000_000)
