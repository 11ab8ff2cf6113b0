"""What a grammar's rules are, beyond trees: the rule kinds the grammar automaton runs itself,
and the per-rule state tables it builds as parses reach them.

Holds the rule specifications a :class:`~constrain.grammar.Grammar` lists in ``lazy_rules``
(:class:`AnyOrderObject`, :class:`CountedString`, :class:`CheckedNumber`, :data:`LazyRule`,
:data:`NUMBER_BYTES`) and the tables that run a rule state by state, each built the first time a
parse reaches it: :class:`_AnyOrderRule`, :class:`_CountedStringRule`,
:class:`_CheckedNumberRule`, and :class:`_SubsetRule` (an ordinary rule's DFA, determinized one
subset at a time), with their shared pieces (:class:`_Lazy`, :class:`_NumberedStates`,
:class:`_ClassInfo`). Each table offers ``rows``, ``calls`` and ``accepting`` indexed by state, as
:class:`~constrain.grammar.GrammarAutomaton` reads a rule's DFA. The automaton itself, and the
names other modules import, live in :mod:`constrain.grammar`.

Imports: the standard library, numpy, :mod:`constrain.errors` and :mod:`constrain.regex` (its
automaton and parser). Never :mod:`constrain.grammar` (which imports this module), the token
trie, or anything above them.
"""

from __future__ import annotations

import weakref
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ConstraintError
from .regex.automaton import (
    ByteDFA,
    build_nfa,
    dfa_budget_error,
    epsilon_closure,
    epsilon_predecessors,
    reach_back,
    restrict_bytes,
    work_budget_error,
)
from .regex.parser import Node


@dataclass(frozen=True)
class AnyOrderObject:
    """A JSON object whose declared members come in any order, each at most once.

    The members (``key: value``) and the additional member are rules of their own; ``required``
    holds indices into ``members``; ``count_min``/``count_max`` bound how many declared members
    appear. A regular automaton would need a state per set of members seen (``2**n``), so the
    grammar automaton runs such a rule itself and builds only the states a parse reaches. Its
    tree in :attr:`~constrain.grammar.Grammar.rules` is a superset language with the same calls
    and characters, read for byte classes and for which rules it calls; members it no longer
    calls (pruned as unproductive) are left out.
    """

    members: tuple[int, ...]
    required: frozenset[int]
    extra: int | None
    whitespace: bool
    count_min: int = 0
    count_max: int | None = None

    def relocated(self, offset: int) -> "AnyOrderObject":
        """The same object in a grammar whose rules were renumbered by ``offset``."""
        return AnyOrderObject(tuple(m + offset for m in self.members), self.required,
                              None if self.extra is None else self.extra + offset, self.whitespace,
                              self.count_min, self.count_max)


@dataclass(frozen=True)
class CountedString:
    """A JSON string of ``min_length..max_length`` characters (``max_length`` None: no upper
    bound), for lengths too long to write out as an automaton (one state per character count
    and position inside a character: 655,000 states for ``maxLength: 32767``).

    ``unit`` is the DFA of one string character; it must be prefix-free (no way out of its
    accepting states), as a JSON string character is. The grammar automaton runs the rule with
    a counter and builds only the states a parse reaches. Its tree in
    :attr:`~constrain.grammar.Grammar.rules` is any JSON string (same characters), read for byte
    classes.
    """

    unit: ByteDFA
    min_length: int
    max_length: int | None

    def relocated(self, offset: int) -> "CountedString":
        """The same rule in a renumbered grammar (it calls nothing)."""
        return self


@dataclass(frozen=True, eq=False)
class CheckedNumber:
    """A JSON number whose value a Python predicate decides (``multipleOf: 0.01`` as the
    ``jsonschema`` package checks it: ``10.99 / 0.01`` is a whole float, ``0.07 / 0.01`` is not),
    written as text that ``syntax`` accepts (bounds, digits).

    No regular automaton knows which decimals pass a float division, so the grammar automaton
    runs the rule with the text written so far as its state, ends the number only where
    ``accepts(text)`` holds, and never enters a state from which no accepted text of at most
    ``max_length`` characters can be reached. Its tree in
    :attr:`~constrain.grammar.Grammar.rules` names each byte of a number on its own (so byte
    classes tell digits apart).
    """

    syntax: ByteDFA
    accepts: Callable[[str], bool]
    max_length: int = 64

    def relocated(self, offset: int) -> "CheckedNumber":
        """The same rule in a renumbered grammar (it calls nothing)."""
        return self

    def satisfiable(self) -> bool:
        """Whether some text is accepted (searched as the grammar automaton searches)."""
        return _CheckedNumberRule(self, np.arange(256), None).viable(int(self.syntax.start), "")


#: The bytes of a number, each its own byte class in a :class:`CheckedNumber` rule.
NUMBER_BYTES = b"eE+-.0123456789"


#: What a rule the grammar automaton runs itself is specified by.
LazyRule = AnyOrderObject | CountedString | CheckedNumber


class _Lazy(dict):
    """One table (rows, calls or accepting) of a rule built as parses reach it
    (:class:`_AnyOrderRule`, :class:`_CountedStringRule`, :class:`_CheckedNumberRule`,
    :class:`_SubsetRule`), indexed by state: a dict filled from the rule's ``info`` on a miss
    (a hit is a plain dict lookup, as for a rule whose tables are lists).

    It refers to its rule weakly: the rule holds its tables, and a strong reference back would
    make every rule a reference cycle, freed only by the cyclic garbage collector. A grammar's
    thousands of rows then outlived its constraint until a full collection, which grew with
    every constraint dropped meanwhile (40-140 ms pauses in the bench's walks)."""

    __slots__ = ("_rule", "_part")

    def __init__(self, rule: "_AnyOrderRule | _CountedStringRule | _CheckedNumberRule | _SubsetRule", part: int) -> None:
        super().__init__()
        self._rule, self._part = weakref.ref(rule), part

    def __missing__(self, state: int) -> Any:
        rule = self._rule()
        if rule is None:  # pragma: no cover - the automaton holds its rules as long as their tables
            raise RuntimeError("a rule table outlived its rule")
        value = self[state] = rule.info(state)[self._part]
        return value


class _NumberedStates:
    """States of a rule the automaton runs itself, numbered by key in the order first reached;
    ``_info[state]`` is filled when the state's row is first asked for."""

    def _init_states(self) -> None:
        self._keys: list[Any] = []
        self._ids: dict[Any, int] = {}
        self._info: list[tuple[list[int], list[tuple[int, int]], bool] | None] = []

    def _number(self, key: Any) -> int:
        sid = self._ids.get(key)
        if sid is None:
            sid = self._ids[key] = len(self._keys)
            self._keys.append(key)
            self._info.append(None)
        return sid

    @property
    def num_states(self) -> int:
        """States built so far."""
        return len(self._keys)


# Phases of an any-order object: before "{", after "{", after a member, after a comma, after "}".
_START, _OPENED, _AFTER_MEMBER, _AFTER_COMMA, _CLOSED = range(5)


class _AnyOrderRule(_NumberedStates):
    """The states of an :class:`AnyOrderObject` rule, built when first reached.

    A state is (the set of declared members written, phase). Members and the additional member
    are called; whitespace loops wherever the JSON grammar allows it.
    """

    def __init__(self, spec: AnyOrderObject, callable_rules: set[int], byte_class: np.ndarray,
                 producible: np.ndarray | None) -> None:
        self.spec = spec
        self.members = [(i, rule) for i, rule in enumerate(spec.members) if rule in callable_rules]
        self.extra = spec.extra if spec.extra in callable_rules else None
        self.required_mask = sum(1 << i for i in spec.required)
        self.available_mask = sum(1 << i for i, _ in self.members)
        self.num_classes = int(byte_class.max()) + 1

        def class_of(byte: int) -> int | None:
            return None if producible is not None and not producible[byte] else int(byte_class[byte])

        self.open, self.comma, self.close = class_of(0x7B), class_of(0x2C), class_of(0x7D)
        ws = (0x09, 0x0A, 0x0D, 0x20) if spec.whitespace else ()
        self.blank = sorted({c for c in (class_of(b) for b in ws) if c is not None})
        self._init_states()
        self.rows, self.calls, self.accepting = _Lazy(self, 0), _Lazy(self, 1), _Lazy(self, 2)
        self._state(0, _START)

    def _state(self, seen: int, phase: int) -> int:
        return self._number((0 if phase == _CLOSED else seen, phase))

    def _may_end(self, seen: int) -> bool:
        return self.required_mask & ~seen == 0 and bin(seen).count("1") >= self.spec.count_min

    def _feasible(self, seen: int) -> bool:
        """Whether the members in ``seen`` can still be completed into a set that ends the
        object (the required ones added, the count within bounds): no parse is led into a
        state it cannot finish."""
        if self.required_mask & ~self.available_mask:
            return False
        need = bin(seen | self.required_mask).count("1")
        cap = self.spec.count_max
        most = bin(seen | self.available_mask).count("1")
        return (cap is None or max(need, self.spec.count_min) <= cap) and self.spec.count_min <= most

    def _next_members(self, seen: int) -> list[tuple[int, int]]:
        """(index, rule) of the members that may come after those in ``seen``; index -1 is the
        additional member (it is not counted)."""
        declared = [(i, rule) for i, rule in self.members if not seen >> i & 1 and self._feasible(seen | 1 << i)]
        return declared + ([(-1, self.extra)] if self.extra is not None else [])

    def info(self, state: int) -> tuple[list[int], list[tuple[int, int]], bool]:
        got = self._info[state]
        if got is None:
            seen, phase = self._keys[state]
            row = [-1] * self.num_classes
            calls: list[tuple[int, int]] = []
            if phase in (_OPENED, _AFTER_MEMBER, _AFTER_COMMA):
                for c in self.blank:
                    row[c] = state
            if phase == _START and self.open is not None:
                row[self.open] = self._state(0, _OPENED)
            if phase in (_OPENED, _AFTER_MEMBER) and self.close is not None and self._may_end(seen):
                row[self.close] = self._state(0, _CLOSED)
            if phase == _AFTER_MEMBER and self.comma is not None and self._next_members(seen):
                row[self.comma] = self._state(seen, _AFTER_COMMA)  # only when a member can follow
            if phase in (_OPENED, _AFTER_COMMA):
                calls.extend((rule, self._state(seen | 1 << i if i >= 0 else seen, _AFTER_MEMBER))
                             for i, rule in self._next_members(seen))
            got = self._info[state] = (row, calls, phase == _CLOSED)
        return got


class _CountedStringRule:
    """The states of a :class:`CountedString` rule, computed when first reached.

    State 0 is before the opening quote, 1 after the closing one; ``2 + level * k + pos`` is
    inside the string, ``level`` characters written and ``pos`` the position inside the next one
    (``k`` positions; 0 is a character's start). Without an upper bound, levels stop counting at
    ``min_length``.
    """

    def __init__(self, spec: CountedString, byte_class: np.ndarray, producible: np.ndarray | None) -> None:
        unit = spec.unit if producible is None else restrict_bytes(spec.unit, producible)
        if any(bool((unit.table[q] >= 0).any()) for q in np.flatnonzero(unit.accepting)):
            raise ConstraintError("a counted string's character automaton must be prefix-free")
        self.spec = spec
        num_classes = int(byte_class.max()) + 1
        class_byte = np.unique(byte_class, return_index=True)[1]
        inner = [int(unit.start)] + [q for q in np.flatnonzero(~unit.accepting).tolist() if q != unit.start]
        pos_of = {q: i for i, q in enumerate(inner)}
        self.k = len(inner)
        # Per position inside a character, per global class: (position next, character done).
        moves = unit.table[:, unit.byte_class[class_byte]]
        self._moves: list[list[tuple[int, bool] | None]] = []
        for q in inner:
            row: list[tuple[int, bool] | None] = []
            for c, t in enumerate(moves[q].tolist()):
                if t < 0 or (producible is not None and not producible[class_byte[c]]):
                    row.append(None)
                else:
                    row.append((0, True) if unit.accepting[t] else (pos_of[t], False))
            self._moves.append(row)
        quote = int(byte_class[0x22])
        self.quote = None if producible is not None and not producible[0x22] else quote
        self.num_classes = num_classes
        self._info: dict[int, tuple[list[int], list[tuple[int, int]], bool]] = {}
        self.rows, self.calls, self.accepting = _Lazy(self, 0), _Lazy(self, 1), _Lazy(self, 2)

    def _inside(self, level: int, pos: int) -> int:
        return 2 + level * self.k + pos

    def info(self, state: int) -> tuple[list[int], list[tuple[int, int]], bool]:
        got = self._info.get(state)
        if got is None:
            row = [-1] * self.num_classes
            lo, hi = self.spec.min_length, self.spec.max_length
            if state == 0:
                if self.quote is not None:
                    row[self.quote] = self._inside(0, 0)
            elif state >= 2:
                level, pos = divmod(state - 2, self.k)
                done = level + 1 if hi is not None else min(level + 1, lo)
                if hi is None or level < hi:  # else no room for another character
                    for c, move in enumerate(self._moves[pos]):
                        if move is not None:
                            nxt, finished = move
                            row[c] = self._inside(done, 0) if finished else self._inside(level, nxt)
                if pos == 0 and level >= lo and self.quote is not None:
                    row[self.quote] = 1  # a raw quote never starts a character
            got = self._info[state] = (row, [], state == 1)
        return got

    @property
    def num_states(self) -> int:
        """States built so far."""
        return len(self._info)


class _CheckedNumberRule(_NumberedStates):
    """The states of a :class:`CheckedNumber` rule: (syntax state, text so far), made when reached."""

    #: Most texts a viability search may try from one state before giving the state up (a
    #: state given up is only never entered: sound).
    SEARCH_BUDGET = 4000

    def __init__(self, spec: CheckedNumber, byte_class: np.ndarray, producible: np.ndarray | None) -> None:
        self.spec = spec
        self.syntax = spec.syntax if producible is None else restrict_bytes(spec.syntax, producible)
        self.num_classes = int(byte_class.max()) + 1
        # (global class, byte, syntax class) of each number byte; the rule's tree names every
        # one of them apart, so each is alone in its global class.
        self._bytes = [(int(byte_class[b]), b, int(self.syntax.byte_class[b])) for b in NUMBER_BYTES
                       if producible is None or producible[b]]
        self._init_states()
        self._viable: dict[tuple[int, str], bool] = {}
        self._number((int(self.syntax.start), ""))
        self.rows, self.calls, self.accepting = _Lazy(self, 0), _Lazy(self, 1), _Lazy(self, 2)

    def _ends(self, q: int, text: str) -> bool:
        return bool(self.syntax.accepting[q]) and self.spec.accepts(text)

    def _moves(self, q: int, text: str) -> list[tuple[int, int, str]]:
        """(global class, syntax state, text) after each number byte the syntax allows."""
        if len(text) >= self.spec.max_length:
            return []
        out = []
        for cls, b, syntax_cls in self._bytes:
            nxt = int(self.syntax.table[q, syntax_cls])
            if nxt >= 0:
                out.append((cls, nxt, text + chr(b)))
        return out

    def viable(self, q: int, text: str) -> bool:
        """Whether some accepted text extends ``text``: a breadth-first search (the shortest
        continuations first), remembered. A depth-first one spent its budget on ``1e0000...``
        and missed ``1.2`` under ``multipleOf: 0.3``."""
        key = (q, text)
        got = self._viable.get(key)
        if got is not None:
            return got
        parent: dict[tuple[int, str], tuple[int, str] | None] = {key: None}
        queue = deque([key])
        budget = self.SEARCH_BUDGET
        while queue:
            node = queue.popleft()
            known = self._viable.get(node)
            if known is True or (known is None and self._ends(*node)):
                step: tuple[int, str] | None = node
                while step is not None:  # every text on the way is viable
                    self._viable[step] = True
                    step = parent[step]
                return True
            if known is False:
                continue
            budget -= 1
            if budget < 0:
                return False  # not remembered: a later search may start closer to an answer
            for _, nq, nt in self._moves(*node):
                if (nq, nt) not in parent:
                    parent[(nq, nt)] = node
                    queue.append((nq, nt))
        for node in parent:  # searched to the end (max_length): nothing is accepted below them
            self._viable[node] = False
        return False

    def info(self, state: int) -> tuple[list[int], list[tuple[int, int]], bool]:
        got = self._info[state]
        if got is None:
            q, text = self._keys[state]
            row = [-1] * self.num_classes
            for cls, nq, nt in self._moves(q, text):
                if self.viable(nq, nt):
                    row[cls] = self._number((nq, nt))
            got = self._info[state] = (row, [], self._ends(q, text))
        return got


class _ClassInfo:
    """What every rule built by subsets reads off the grammar's byte classes (made once per grammar)."""

    def __init__(self, num_classes: int, class_byte: list[int], producible: np.ndarray | None) -> None:
        self.num_classes = num_classes
        #: a representative byte of each class, increasing (classes are numbered by first byte)
        self.class_byte = class_byte
        #: whether the vocabulary can spell the bytes of each class
        self.usable_class = [producible is None or bool(producible[b]) for b in self.class_byte]
        # An edge can be taken when its byte range holds a byte the vocabulary can spell (call
        # edges, symbols 256 and up, always can): spellable[hi + 1] > spellable[lo].
        self.spellable: list[int] | None = (
            None if producible is None else np.concatenate([[0], np.cumsum(producible)]).tolist())


class _SubsetRule(_NumberedStates):
    """A rule's DFA, built state by state as parses reach it: each state is a set of the rule's
    NFA states (the subset construction of :func:`~constrain.regex.automaton.determinize`, one
    row at a time).

    A rule such as "one of 120 object types" is entered by pushing all 120 callees at once; the
    token walk then reads a byte or two into each. Determinizing each of them whole took 450 ms
    for one mask (MaskBench o74372); built lazily, only the states a parse reaches are made.

    The states are not minimized (a minimal DFA needs all of them). Trimming, which soundness
    needs (no state from which the rule cannot end), is kept: a set holds only NFA states from
    which the rule's end is reachable through bytes the vocabulary can spell, and an empty set
    is no state. Bytes outside ``producible`` are never read. The rule's byte edges are read
    through the grammar's global classes, which refine every edge's byte range.
    """

    def __init__(self, node: Node, classes: "_ClassInfo", max_states: int, max_work: int) -> None:
        nfa = build_nfa(node)
        self.max_states, self.max_work, self._work = max_states, max_work, 0
        self.num_classes = classes.num_classes
        self._class_byte = classes.class_byte
        self._usable_class = classes.usable_class
        n = len(nfa.eps)
        spellable = classes.spellable

        def usable(lo: int, hi: int) -> bool:
            return lo >= 256 or spellable is None or spellable[hi + 1] > spellable[lo]

        # States that reach the end through epsilon and '$' edges (accepting when in a set), and
        # states that reach it at all (the others are trimmed from every set).
        reverse = epsilon_predecessors(nfa)
        final = reach_back(reverse, [nfa.accept])
        reads = [False] * n
        for q, edges in enumerate(nfa.edges):
            for lo, hi, t in edges:
                if usable(lo, hi):
                    reverse[t].append(q)
                    reads[q] = True
        live = reach_back(reverse, list(final))
        # A set needs only the states that read a symbol or accept (as in determinize()).
        self._kept = [q in live and (reads[q] or q in final) for q in range(n)]
        self._final = final
        self._nfa = nfa
        # Per NFA state, made when first needed: byte moves as (global class, target) and calls
        # as (rule, target).
        self._moves: list[tuple[list[tuple[int, int]], list[tuple[int, int]]] | None] = [None] * n
        self._state_closure: dict[int, frozenset[int]] = {}
        self._init_states()
        # The start set may cross '^' edges (from the very start only).
        self._number(frozenset(q for q in epsilon_closure(nfa, (nfa.start,), True) if self._kept[q]))
        self.rows, self.calls, self.accepting = _Lazy(self, 0), _Lazy(self, 1), _Lazy(self, 2)

    def _moves_of(self, q: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """NFA state ``q``'s byte moves, as (global class, target), and calls, as (rule, target).
        A global class lies inside or outside each edge's range, so its first byte decides."""
        byte_moves: list[tuple[int, int]] = []
        call_moves: list[tuple[int, int]] = []
        class_byte, usable = self._class_byte, self._usable_class
        for lo, hi, t in self._nfa.edges[q]:
            if lo >= 256:
                call_moves.append((lo - 256, t))
                continue
            for c in range(bisect_left(class_byte, lo), bisect_right(class_byte, hi)):
                if usable[c]:
                    byte_moves.append((c, t))
        got = self._moves[q] = (byte_moves, call_moves)
        return got

    def _closure_of(self, q: int) -> frozenset[int]:
        got = self._state_closure.get(q)
        if got is None:
            got = self._state_closure[q] = frozenset(p for p in epsilon_closure(self._nfa, (q,), False) if self._kept[p])
        return got

    def _target(self, seeds: set[int]) -> int:
        """The state of the closure of ``seeds`` (-1 when nothing of it can reach the end)."""
        out: set[int] = set()
        for q in seeds:
            out |= self._closure_of(q)
        if not out:
            return -1
        key = frozenset(out)
        if key not in self._ids and len(self._keys) >= self.max_states:
            raise dfa_budget_error(self.max_states)
        self._work += len(key)
        if self._work > self.max_work:
            raise work_budget_error(self.max_work, len(self._keys))
        return self._number(key)

    def info(self, state: int) -> tuple[list[int], list[tuple[int, int]], bool]:
        got = self._info[state]
        if got is None:
            current = self._keys[state]
            by_class: dict[int, set[int]] = {}
            by_callee: dict[int, set[int]] = {}
            for q in current:
                byte_moves, call_moves = self._moves[q] or self._moves_of(q)
                for c, t in byte_moves:
                    by_class.setdefault(c, set()).add(t)
                for k, t in call_moves:
                    by_callee.setdefault(k, set()).add(t)
            row = [-1] * self.num_classes
            # Most classes move to the same few seed sets (a character class spans many byte
            # classes): each distinct set is closed and numbered once.
            targets: dict[Any, int] = {}
            for c, seeds in by_class.items():
                key = next(iter(seeds)) if len(seeds) == 1 else frozenset(seeds)
                t = targets.get(key)
                if t is None:
                    t = targets[key] = self._target(seeds)
                row[c] = t
            calls = [(k, nxt) for k, seeds in by_callee.items() if (nxt := self._target(seeds)) >= 0]
            got = self._info[state] = (row, calls, not self._final.isdisjoint(current))
        return got

