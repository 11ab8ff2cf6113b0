"""Grammars: byte-level rules that call each other, run as a lazily determinized pushdown automaton.

A :class:`Grammar` is a list of rules; each rule is a regex-like tree (the node types of
:mod:`constrain.regex.parser`) that may contain :class:`~constrain.regex.automaton.Call` nodes,
calls of other rules (recursion included: trees, linked lists, arbitrarily nested JSON). Each rule
is compiled to a minimal DFA whose transitions include one column per callable rule.

Running the grammar means tracking *stacks* of ``(rule, state)`` frames: reading a byte either
advances the top frame, or first *calls* a rule (pushing its start state, the caller's frame
moving to the return state), or first *returns* from a finished rule (popping). Because several of
these can apply to one byte, the current position is a set of stacks — a *configuration*.

:class:`GrammarAutomaton` interns configurations as integer ids and fills a transition table
``(configuration, byte class) -> configuration`` lazily, the first time each entry is needed. The
result looks exactly like a DFA to the rest of the library (the token trie walk, the mask cache,
the matcher), so masks of configurations seen before cost a cache lookup, and a new one costs a
trie walk plus a few Python steps for the table entries not seen yet.

Rules are determinized lazily too, state by state: a rule's NFA is built the first time a parse
enters it (the start rule at once, a callee when a call of it is first pushed), and each DFA state
(a set of NFA states) when a parse first reaches it (:class:`~constrain.grammar_rules._SubsetRule`).
The first mask of a large schema costs only the states within a token's reach of the start, and a
value that may be any of 120 object types costs their first states, not their whole DFAs. Two things are still settled up
front, from the rule trees alone (:mod:`constrain.regex.lazy`), so that nothing a rule built
later could change them:

* the empty-callee check (nullability read off the tree, exactly as the rule's DFA would say);
* the global byte classes: bytes that no character range or embedded automaton of any tree
  tells apart share a class, so the class numbering (and the token trie's edge classes computed
  from it) never changes as rules are added.

Budget errors (:class:`~constrain.errors.AutomatonTooLargeError` from a rule's NFA or DFA) stay
compile-time errors for every rule that could plausibly raise one: a rule whose tree is estimated
at more than ``max_dfa_states / EAGER_SIZE_DIVISOR`` NFA states is determinized in the
constructor. A smaller rule can only exceed the budget through an exponential subset blow-up
(ambiguous repetitions inside one rule; the JSON Schema compiler builds patterns and other
regexes as ready-made automata, at schema-compile time); should one happen, the error is raised
by the matcher call whose parse makes more states than the budget. ``eager=True`` (or
:meth:`build_all`) builds every rule's whole minimal DFA up front.

Limits: callees must not match the empty string (rules of JSON values never do), nesting deeper
than ``max_depth`` is not generated (there a rule calls only rules that call nothing, such as a
string: they nest no further; a rule that needs more must finish without it, and near the limit
parses that could no longer finish are dropped, so no mask leads into them), and a
configuration may hold at most ``max_stacks`` stacks; the number of configurations is bounded by
``max_configs``. Exceeding a bound raises :class:`~constrain.errors.AutomatonTooLargeError`.

Holds :class:`Grammar`, :class:`GrammarAutomaton` and their limits. The rule kinds a grammar
lists in ``lazy_rules`` (:class:`AnyOrderObject`, :class:`CountedString`, :class:`CheckedNumber`)
and the tables that run each rule state by state live in :mod:`constrain.grammar_rules`; they
are imported from here by the rest of the library.

Imports: numpy, :mod:`constrain.errors`, :mod:`constrain.regex` (the rule automata),
:mod:`constrain.grammar_rules` and :mod:`constrain.simulation`. Never :mod:`constrain.tokentrie`,
the compiler or the matcher: they walk this automaton, so they sit above it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import AutomatonTooLargeError, ConstraintError
from .grammar_rules import (  # re-exported: the library imports the rule kinds from this module
    NUMBER_BYTES as NUMBER_BYTES,
)
from .grammar_rules import (
    AnyOrderObject as AnyOrderObject,
)
from .grammar_rules import (
    CheckedNumber,
    CountedString,
    LazyRule,
    _AnyOrderRule,
    _CheckedNumberRule,
    _ClassInfo,
    _CountedStringRule,
    _SubsetRule,
)
from .grammar_rules import (
    _Lazy as _Lazy,  # the benches time its misses (benches/bench_first_visits.py)
)
from .regex.automaton import (
    DEFAULT_MAX_DFA_STATES,
    DEFAULT_MAX_WORK,
    ByteDFA,
    Call,
    Embed,
)
from .regex.lazy import TreeInfo, rule_dfa, rule_is_nullable, tree_children
from .regex.parser import Node
from .simulation import simulate_pairs

#: Table entry not computed yet.
UNKNOWN = -2
DEFAULT_MAX_DEPTH = 128
DEFAULT_MAX_CONFIGS = 200_000
DEFAULT_MAX_STACKS = 1024
#: Rules estimated at more than (DFA state budget / this) NFA states are determinized up front.
EAGER_SIZE_DIVISOR = 4

Frame = tuple[int, int]  # (rule, DFA state of that rule)
Stack = tuple[Frame, ...]  # bottom first


@dataclass(frozen=True)
class Grammar:
    """Rules as trees; rule 0 is the start rule. ``names`` are for messages only.
    ``lazy_rules``: (rule, spec) pairs for rules the grammar automaton runs itself, building
    their states as parses reach them (:class:`AnyOrderObject`, :class:`CountedString`,
    :class:`CheckedNumber`)."""

    rules: tuple[Node, ...]
    names: tuple[str, ...]
    lazy_rules: tuple[tuple[int, LazyRule], ...] = ()


class GrammarAutomaton:
    """A pushdown automaton over bytes, determinized lazily into configuration ids.

    It offers the same interface as :class:`~constrain.regex.automaton.ByteDFA` to the rest of
    the library: ``start``, ``byte_class``, ``num_classes``, ``flat_table``, ``is_accepting``,
    ``walk``, ``forced_bytes`` and ``resolve`` (which fills :data:`UNKNOWN` table entries).
    """

    lazy = True

    def __init__(
        self,
        grammar: Grammar,
        *,
        max_depth: int = DEFAULT_MAX_DEPTH,
        max_configs: int = DEFAULT_MAX_CONFIGS,
        max_stacks: int = DEFAULT_MAX_STACKS,
        max_dfa_states: int | None = None,
        producible_bytes: np.ndarray | None = None,
        eager: bool = False,
    ) -> None:
        self.grammar = grammar
        self.max_depth = max_depth
        self.max_configs = max_configs
        self.max_stacks = max_stacks
        self._dfa_kwargs = {} if max_dfa_states is None else {"max_states": max_dfa_states}
        self._producible = None if producible_bytes is None or bool(np.all(producible_bytes)) else producible_bytes
        trees = grammar.rules
        num_rules = len(trees)
        # The empty-callee check needs no automaton: nullability is read off the trees.
        for k in range(1, num_rules):
            if rule_is_nullable(trees[k]):
                raise ConstraintError(f"grammar rule {grammar.names[k]!r} matches the empty string; callees must not")
        # Global byte classes, from the character sets the trees mention (see :class:`TreeInfo`):
        # they refine every rule's DFA byte classes, so rules built later never renumber them.
        budget = max_dfa_states if max_dfa_states is not None else DEFAULT_MAX_DFA_STATES
        self.eager_rule_size = max(budget // EAGER_SIZE_DIVISOR, 1)
        info = TreeInfo(trees, size_cap=4 * self.eager_rule_size + 4)
        self.byte_class = info.byte_classes(producible_bytes)
        self.num_classes = int(self.byte_class.max()) + 1
        first = np.unique(self.byte_class, return_index=True)[1]
        self._class_byte = first.tolist()  # a representative byte of each class
        self._class_sizes = np.bincount(self.byte_class, minlength=self.num_classes)
        self._subset_classes: _ClassInfo | None = None  # made for the first rule built by subsets
        # Rules are determinized the first time a parse enters them (see :meth:`_build`).
        self.rules: list[ByteDFA | None] = [None] * num_rules
        self._calls: list[list[list[tuple[int, int]]] | None] = [None] * num_rules
        self._rows: list[list[list[int]] | None] = [None] * num_rules  # indexed by *global* class
        self._accepting: list[list[bool] | None] = [None] * num_rules
        self._starts: list[int] = [-1] * num_rules
        self._lazy_rules = dict(grammar.lazy_rules)
        self._counted = {k: spec for k, spec in grammar.lazy_rules if isinstance(spec, CountedString)}
        self._mask_keys: dict[tuple[int, int], int] = {}
        self._leaf: dict[int, bool] = {}  # rule -> whether it calls no rule (see _closure)
        self._finishes_at: dict[tuple[int, int, int], bool] = {}  # see _finishes_within
        # Stacks longer than this have frames near the depth limit (see _viable_near_limit).
        self._checked_from = max(max_depth - self.LIMIT_LEVELS, 0)
        self._unit_plain: dict[tuple[int, int], bool] = {}
        self._byte_class_list = self.byte_class[:256].tolist()
        # top_reads_plain: the plain-text table it was asked with, its moves, its proofs.
        self._plain_table: np.ndarray | None = None
        self._plain_moves: list[list[tuple[int, int]]] = []
        self._plain_memo: dict[int, dict[tuple[int, int], bool]] = {}  # per rule
        # Configurations.
        self._configs: list[frozenset[Stack]] = []
        self._index: dict[frozenset[Stack], int] = {}
        self._config_accepting: list[bool | None] = []  # None: not asked yet
        self._expansions: list[list[tuple[Stack, int, list[int]]] | None] = []
        self._table = np.full((64, self.num_classes), UNKNOWN, dtype=np.int32)
        # Everything above grows as parses go; one lock serializes the growing, so that threads
        # sharing a compiled constraint (a server filling a batch) intern each configuration once.
        # Entries, once set, never change: readers need no lock.
        self._lock = threading.RLock()
        # Budget errors stay compile-time errors where they can plausibly happen: a rule whose NFA
        # would be large (estimated from its tree) is determinized whole now; only small ones wait,
        # and are then built state by state (:class:`_SubsetRule`).
        limit = self.eager_rule_size
        for k in range(num_rules):
            if eager or (not isinstance(trees[k], Embed) and info.size_estimate(trees[k], limit) > limit):
                self._build(k, whole=True)
        self._build(0)
        if self._checked_from == 0 and not self._finishes_within(0, self._starts[0], 1):
            raise ConstraintError(
                f"max_depth={max_depth} is too small for this grammar: no output can be finished with at most "
                f"{max_depth} nested grammar rules (the root takes one, a JSON object one more, or three with "
                "property_order='any')"
            )
        self.start = self._intern(frozenset({((0, self._starts[0]),)}))

    # -- rules ------------------------------------------------------------------------------
    @property
    def rules_built(self) -> int:
        """How many rules have been determinized so far."""
        return sum(dfa is not None for dfa in self.rules)

    def build_all(self) -> None:
        """Determinize every rule not built yet, whole, now (as ``eager=True`` does up front)."""
        with self._lock:
            for k in range(len(self.rules)):
                self._build(k, whole=True)

    def _build(self, k: int, whole: bool = False) -> None:
        """Make rule ``k`` runnable: a rule the automaton runs itself, a DFA built state by state,
        or (``whole``, or an embedded automaton) its whole minimal DFA."""
        if self.rules[k] is not None:
            return
        spec = self._lazy_rules.get(k)
        tree = self.grammar.rules[k]
        if spec is not None or not (whole or isinstance(tree, Embed)):
            table: _AnyOrderRule | _CountedStringRule | _CheckedNumberRule | _SubsetRule
            if spec is None:
                if self._subset_classes is None:
                    self._subset_classes = _ClassInfo(self.num_classes, self._class_byte, self._producible)
                table = _SubsetRule(tree, self._subset_classes,
                                    self._dfa_kwargs.get("max_states", DEFAULT_MAX_DFA_STATES), DEFAULT_MAX_WORK)
            elif isinstance(spec, CountedString):
                table = _CountedStringRule(spec, self.byte_class, self._producible)
            elif isinstance(spec, CheckedNumber):
                table = _CheckedNumberRule(spec, self.byte_class, self._producible)
            else:
                table = _AnyOrderRule(spec, _callees(tree), self.byte_class, self._producible)
            self._calls[k] = table.calls  # type: ignore[assignment]
            self._rows[k] = table.rows  # type: ignore[assignment]
            self._accepting[k] = table.accepting  # type: ignore[assignment]
            self._starts[k] = 0
            self.rules[k] = table  # type: ignore[assignment]
            return
        dfa = rule_dfa(tree, self._producible, self._dfa_kwargs)
        # Per state: the rules it can call there and where it resumes afterwards.
        per_state: list[list[tuple[int, int]]] = [[] for _ in range(dfa.num_states)]
        callable_rules = min(len(self.rules), dfa.byte_class.shape[0] - 256)
        if callable_rules > 0:
            resume = dfa.table[:, dfa.byte_class[256 : 256 + callable_rules]]
            states, callees = np.nonzero(resume >= 0)
            for s, callee, r in zip(states.tolist(), callees.tolist(), resume[states, callees].tolist()):
                per_state[s].append((callee, r))
        self._calls[k] = per_state
        # Rows indexed by global byte class (each global class lies inside one class of the rule).
        self._rows[k] = dfa.table[:, dfa.byte_class[self._class_byte]].tolist()
        self._accepting[k] = dfa.accepting.tolist()
        self._starts[k] = int(dfa.start)
        self.rules[k] = dfa

    # -- configurations ---------------------------------------------------------------------
    @property
    def num_states(self) -> int:
        """Configurations created so far."""
        return len(self._configs)

    @property
    def flat_table(self) -> np.ndarray:
        """The transition table so far, raveled; entries may be :data:`UNKNOWN`."""
        return self._table[: max(len(self._configs), 1)].reshape(-1)

    def _intern(self, config: frozenset[Stack]) -> int:
        cid = self._index.get(config)
        if cid is not None:
            return cid
        if len(self._configs) >= self.max_configs:
            raise AutomatonTooLargeError(
                f"grammar automaton exceeds its budget of {self.max_configs} configurations"
            )
        if len(config) > self.max_stacks:
            raise AutomatonTooLargeError(
                f"grammar is too ambiguous: {len(config)} parses are alive at once (budget {self.max_stacks})"
            )
        cid = len(self._configs)
        self._configs.append(config)
        self._index[config] = cid
        self._config_accepting.append(None)  # most configurations (inside tokens) are never asked
        self._expansions.append(None)
        if cid >= self._table.shape[0]:
            grown = np.full((self._table.shape[0] * 2, self.num_classes), UNKNOWN, dtype=np.int32)
            grown[: self._table.shape[0]] = self._table
            self._table = grown
        return cid

    def _can_finish(self, stack: Stack) -> bool:
        # Callees never match the empty string, so a stack can end here only if every frame is
        # in an accepting state (the caller frames hold their return states).
        return all(self._accepting[rule][state] for rule, state in stack)

    def _closure(self, stack: Stack) -> list[Stack]:
        """Stacks reachable without reading a byte: calls (push) and returns (pop)."""
        rule, state = stack[-1]
        if not self._calls[rule][state] and (len(stack) == 1 or not self._accepting[rule][state]):  # type: ignore[index]
            return [stack]  # neither calls nor may return (inside a key, a string): the usual case
        seen = {stack}
        todo = [stack]
        while todo:
            st = todo.pop()
            rule, state = st[-1]
            nexts = []
            deep = len(st) >= self.max_depth
            for callee, resume in self._calls[rule][state]:
                # At the depth limit only rules that call nothing (a string, a number) are
                # still called: they nest no further, and a value at the deepest level can
                # still be written.
                if deep and not self._calls_nothing(callee):
                    continue
                if self.rules[callee] is None:
                    self._build(callee)
                pushed = st[:-1] + ((rule, resume), (callee, self._starts[callee]))
                if len(pushed) <= self._checked_from or self._viable_near_limit(pushed):
                    nexts.append(pushed)
            if len(st) > 1 and self._accepting[rule][state]:
                nexts.append(st[:-1])
            for nxt in nexts:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return list(seen)

    def _calls_nothing(self, rule: int) -> bool:
        """Whether rule ``rule``'s tree holds no call (asked only at the depth limit)."""
        got = self._leaf.get(rule)
        if got is None:
            got = self._leaf[rule] = not _callees(self.grammar.rules[rule])
        return got

    def _expanded(self, cid: int) -> list[tuple[Stack, int, list[int]]]:
        """The closure of configuration ``cid``: per stack, ``(frames below the top, top rule,
        the top state's row over byte classes)``. Computed once per configuration: every byte
        class stepped from it reuses it."""
        exp = self._expansions[cid]
        if exp is None:
            closed: set[Stack] = set()
            for stack in self._configs[cid]:
                closed.update(self._closure(stack))
            exp = [(st[:-1], st[-1][0], self._rows[st[-1][0]][st[-1][1]]) for st in closed]
            self._expansions[cid] = exp
        return exp

    def _step(self, cid: int, cls: int) -> int:
        exp = self._expanded(cid)
        return self._target(exp, (exp[0][2][cls],) if len(exp) == 1 else [row[cls] for _, _, row in exp])

    def _target(self, exp: list[tuple[Stack, int, list[int]]], column: Sequence[int]) -> int:
        """The configuration the expanded stacks ``exp`` reach when their top rules move to the
        states in ``column`` (-1: that stack dies); -1 when none survives."""
        checked = self._checked_from
        out = {below + ((rule, t),) for (below, rule, _), t in zip(exp, column)
               if t >= 0 and (len(below) < checked or self._viable_near_limit(below + ((rule, t),)))}
        return self._intern(frozenset(out)) if out else -1

    #: Frames this many levels from the depth limit (and deeper) are checked to be finishable.
    LIMIT_LEVELS = 4
    #: A search for a way to finish near the depth limit gives up (keeps the stack) past this
    #: many rule states (an any-order object's states are sets of members).
    MAX_LIMIT_SEARCH = 4096

    def _viable_near_limit(self, stack: Stack) -> bool:
        """Whether every frame of ``stack`` near the depth limit can still finish there.

        A frame at the limit may only call rules that call nothing; one a level above may call
        a rule that can finish at the limit; and so on (:meth:`_finishes_within`). Stacks with a
        frame that cannot are dropped, so that no mask leads into a value the depth limit
        forbids finishing (before, a key could start whose value could not be written). Frames
        more than :attr:`LIMIT_LEVELS` levels above the limit are not checked."""
        for index in range(self._checked_from, min(len(stack), self.max_depth)):
            rule, state = stack[index]
            if not self._finishes_within(rule, state, index + 1):
                return False
        return True

    def _finishes_within(self, rule: int, state: int, length: int) -> bool:
        """Whether rule ``rule``, its frame at stack length ``length``, reaches an accepting state
        from ``state`` by bytes and by calls the depth limit allows there (memoized)."""
        key = (rule, state, length)
        got = self._finishes_at.get(key)
        if got is not None:
            return got
        rows, calls, accepting = self._rows[rule], self._calls[rule], self._accepting[rule]
        seen = {state}
        todo = [state]
        got = False
        while todo and not got:
            s = todo.pop()
            if accepting[s]:
                got = True
                break
            nexts = [t for t in rows[s] if t >= 0]
            for callee, resume in calls[s]:
                if resume in seen:
                    continue
                if self._calls_nothing(callee):
                    nexts.append(resume)
                elif length < self.max_depth:
                    if self.rules[callee] is None:
                        self._build(callee)
                    if self._finishes_within(callee, self._starts[callee], length + 1):
                        nexts.append(resume)
            for t in nexts:
                if t not in seen:
                    if len(seen) >= self.MAX_LIMIT_SEARCH:
                        got = True  # gave up: keep the stack, as without this check
                        break
                    seen.add(t)
                    todo.append(t)
        self._finishes_at[key] = got
        return got

    def resolve(self, flat_indices: np.ndarray) -> None:
        """Compute the table entries at ``flat_indices`` (indices into :attr:`flat_table`).

        A token walk asks for many classes of each configuration, and most of them lead to the
        same few configurations (in a string, every plain character class to the same state):
        per configuration, classes whose column (the next state of each expanded stack) is the
        same share one target, so each distinct target is built and interned once.
        """
        with self._lock:
            # Flat indices throughout (one gather and one scatter; a walk calls this once per
            # trie level, so its fixed cost counts).
            todo = np.unique(flat_indices)
            todo = todo[self._table.reshape(-1)[todo] == UNKNOWN]
            num_classes = self.num_classes
            index_list = todo.tolist()
            cid_list = [x // num_classes for x in index_list]
            class_list = [x - c * num_classes for x, c in zip(index_list, cid_list)]
            found: list[int] = []
            target = self._target
            i, n = 0, len(cid_list)
            while i < n:  # the indices are sorted: each configuration's classes are together
                cid = cid_list[i]
                j = i + 1
                while j < n and cid_list[j] == cid:
                    j += 1
                exp = self._expanded(cid)
                targets: dict[Any, int] = {}
                if len(exp) == 1:  # the usual case: one stack, its next state is the key
                    row = exp[0][2]
                    for cls in class_list[i:j]:
                        t = row[cls]
                        got = targets.get(t)
                        if got is None:
                            got = targets[t] = target(exp, (t,))
                        found.append(got)
                else:
                    rows = [row for _, _, row in exp]
                    for cls in class_list[i:j]:
                        column = tuple([row[cls] for row in rows])
                        got = targets.get(column)
                        if got is None:
                            got = targets[column] = target(exp, column)
                        found.append(got)
                i = j
            self._table.reshape(-1)[todo] = found  # after the steps: interning may grow the table

    def resolve_entry(self, flat_index: int) -> int:
        """The table entry at ``flat_index``, computed first if unknown: :meth:`resolve` for one
        entry, without its array work (a walk of a few branches asks for entries one by one)."""
        cid, cls = divmod(flat_index, self.num_classes)
        nxt = int(self._table[cid, cls])
        return nxt if nxt != UNKNOWN else self._compute_entry(cid, cls)

    def _compute_entry(self, cid: int, cls: int) -> int:
        with self._lock:  # another thread may have computed it meanwhile
            nxt = int(self._table[cid, cls])
            if nxt == UNKNOWN:
                nxt = self._step(cid, cls)
                self._table[cid, cls] = nxt
        return nxt

    def top_reads_plain(self, cid: int, plain_state: int, plain_table: np.ndarray, max_pairs: int = 64) -> bool:
        """Whether some stack of configuration ``cid`` reads, with its top rule alone, every byte
        string that ``plain_table`` reads from ``plain_state`` (a sufficient condition for
        :func:`~constrain.tokentrie.simulates_plain_utf8`, proved without building configurations).

        The top frame ``(rule, state)`` stepping by bytes is what the automaton does to that
        stack as long as the rule neither returns nor calls, and the configuration holds at
        least that stack: if the rule's own DFA reads every plain string from ``state``, so does
        the configuration. The proof is the same simulation as simulates_plain_utf8's, over pairs
        (rule state, plain state) and the rule's rows, and it is remembered per rule state, so
        every context a string rule is used in shares it (a configuration is new in each).
        """
        with self._lock:
            if self._plain_table is not plain_table:
                # Per plain state, its distinct (global class, next plain state) moves.
                moves = []
                for row in plain_table.tolist():
                    moves.append(sorted({(int(self.byte_class[b]), v) for b, v in enumerate(row) if v >= 0}))
                self._plain_table, self._plain_moves, self._plain_memo = plain_table, moves, {}
            for stack in self._configs[cid]:
                rule, state = stack[-1]
                if self._rule_reads_plain(rule, state, plain_state, max_pairs):
                    return True
            return False

    def _rule_reads_plain(self, rule: int, state: int, plain_state: int, max_pairs: int) -> bool:
        moves, rows = self._plain_moves, self._rows[rule]

        def successors(s: int, u: int) -> set[tuple[int, int]] | None:
            row = rows[s]
            out = set()
            for c, v in moves[u]:
                nxt = row[c]
                if nxt < 0:
                    return None
                out.add((nxt, v))
            return out

        memo = self._plain_memo.setdefault(rule, {})
        return simulate_pairs((state, plain_state), successors, memo, max_pairs)

    def counted_budgets(self, cid: int, plain_table: np.ndarray) -> list[int | None] | None:
        """Per stack of configuration ``cid``, how many more characters its counted string may
        take (None: no upper bound), when every stack's top is a counted string at a character
        boundary whose characters include all plain text (``plain_table``, see
        :func:`~constrain.tokentrie.plain_utf8_table`); None otherwise.

        A plain token (no quote, no backslash) never ends the string, and each of its
        characters (a character the token ends inside included) takes one count: it is
        readable exactly when its character count fits some stack's budget. The mask is then
        a comparison of a per-vocabulary array, not a walk of the whole vocabulary, at the
        counts near ``maxLength`` that :meth:`mask_equivalent` cannot share.
        """
        if not self._counted:
            return None
        budgets: list[int | None] = []
        for stack in self._configs[cid]:
            rule, state = stack[-1]
            spec = self._counted.get(rule)
            if spec is None or state < 2:
                return None
            level, pos = divmod(state - 2, self.rules[rule].k)  # type: ignore[union-attr]
            if pos or not self._unit_reads_plain(rule, plain_table):
                return None
            budgets.append(None if spec.max_length is None else spec.max_length - level)
        return budgets

    def _unit_reads_plain(self, rule: int, plain_table: np.ndarray) -> bool:
        """Whether a counted string rule's character automaton reads plain text character by
        character: every plain byte alive, a character finished exactly where plain text is
        back at a character boundary."""
        key = (rule, id(plain_table))
        got = self._unit_plain.get(key)
        if got is None:
            moves = self.rules[rule]._moves  # type: ignore[union-attr]
            classes = self._byte_class_list
            rows = plain_table.tolist()
            got = True
            seen = {(0, 0)}
            todo = [(0, 0)]
            while todo and got:
                pos, u = todo.pop()
                for b, v in enumerate(rows[u]):
                    if v < 0:
                        continue
                    move = moves[pos][classes[b]]
                    if move is None or move[1] != (v == 0):
                        got = False
                        break
                    pair = (0 if move[1] else move[0], v)
                    if pair not in seen:
                        seen.add(pair)
                        todo.append(pair)
            self._unit_plain[key] = got
        return got

    def mask_equivalent(self, cid: int, horizon: int) -> int:
        """A configuration that reads exactly the same byte strings of up to ``horizon`` bytes
        as ``cid`` (so, for a vocabulary whose tokens are at most that long, the same tokens):
        ``cid`` itself, or one with its counted strings' counts moved to a canonical count.

        Inside a string of ``maxLength: 1000`` each token moves the count on, so without this
        every position would be a new configuration and a full vocabulary walk. But a count
        further than ``horizon`` characters from the upper bound, and either past the lower
        bound or further than ``horizon`` below it, allows the same next token as any other
        such count: the masks of all of them are computed once.
        """
        if not self._counted:
            return cid
        key = (cid, horizon)
        got = self._mask_keys.get(key)
        if got is not None:
            return got
        with self._lock:
            changed = False
            stacks = set()
            for stack in self._configs[cid]:
                rule, state = stack[-1]  # a counted string calls nothing: it is always on top
                spec = self._counted.get(rule)
                if spec is not None and state >= 2:
                    width = self.rules[rule].k  # type: ignore[union-attr]
                    level, pos = divmod(state - 2, width)
                    canonical = _canonical_count(level, spec.min_length, spec.max_length, horizon)
                    if canonical != level:
                        stack = stack[:-1] + ((rule, 2 + canonical * width + pos),)
                        changed = True
                stacks.add(stack)
            got = self._mask_keys[key] = self._intern(frozenset(stacks)) if changed else cid
        return got

    # -- the ByteDFA-like interface ----------------------------------------------------------
    def is_accepting(self, state: int) -> bool:
        got = self._config_accepting[state]
        if got is None:
            with self._lock:
                got = self._config_accepting[state] = any(self._can_finish(stack) for stack in self._configs[state])
        return got

    def walk(self, state: int, data: bytes) -> int:
        # accept_token's loop, once per byte of a token: Python-level lookups only (.item() and
        # a list, not numpy scalar indexing, which cost as much again).
        classes = self._byte_class_list
        table = self._table
        for b in data:
            cls = classes[b]
            nxt = table.item(state, cls)
            if nxt == UNKNOWN:
                nxt = self._compute_entry(state, cls)
                table = self._table  # interning may have grown it
            if nxt < 0:
                return -1
            state = nxt
        return state

    def forced_bytes(self, state: int, limit: int) -> bytes:
        out = bytearray()
        while len(out) < limit and not self.is_accepting(state):
            self.resolve(state * self.num_classes + np.arange(self.num_classes))
            row = self._table[state]
            live = np.flatnonzero(row >= 0)
            if live.size != 1 or self._class_sizes[live[0]] != 1:
                break
            out.append(self._class_byte[int(live[0])])
            state = int(row[live[0]])
        return bytes(out)

    def stacks(self, state: int) -> Sequence[Stack]:
        """The parse stacks of a configuration (for debugging and tests)."""
        return sorted(self._configs[state])


def _canonical_count(level: int, low: int, high: int | None, horizon: int) -> int:
    """The count standing for ``level`` characters written in a string of ``low..high``
    characters, as seen by byte strings of at most ``horizon`` bytes (so at most ``horizon``
    characters): only whether the string may close after each of them, and whether each fits,
    matters. Counts far from both bounds in the same way share one canonical count."""
    if low - level > horizon:  # may not close within the horizon; everything fits
        return low - horizon - 1
    if level >= low and (high is None or high - level > horizon):  # may close; everything fits
        return low
    return level


def _callees(node: Node) -> set[int]:
    """The rules a tree calls."""
    out: set[int] = set()
    seen: set[int] = set()
    todo = [node]
    while todo:
        n = todo.pop()
        if id(n) not in seen:
            seen.add(id(n))
            if isinstance(n, Call):
                out.add(n.rule)
            todo.extend(tree_children(n))
    return out


