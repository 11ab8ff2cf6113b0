"""``response_format`` -> compiled constraint (cached).

:func:`compile` reads the ``response_format`` dict of a chat-completions request body and returns a
:class:`CompiledConstraint`: an immutable automaton over the vocabulary's bytes plus a cache of
token masks per automaton state, shared by every :class:`~constrain.matcher.Matcher` made from it.

Imports: the engine below it (``vocab``, ``regex``, ``jsonschema``, ``grammar``, ``tokentrie``,
``matcher``, ``bitmask``, ``deadline``, ``gcpause``, ``errors``); never the request layer (``chat``).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import deadline
from .bitmask import bitmask_width, mask_to_bitmask_row
from .errors import AutomatonTooLargeError, ConstraintError, InvalidRegexError, InvalidResponseFormatError
from .gcpause import gc_paused
from .grammar import DEFAULT_MAX_DEPTH, GrammarAutomaton
from .jsonschema.compiler import JsonOptions, SchemaCompiler
from .matcher import TERMINATED, Matcher
from .regex import compile_regex
from .regex.automaton import (
    DEFAULT_MAX_DFA_STATES,
    DEFAULT_MAX_NFA_STATES,
    ByteDFA,
    restrict_bytes,
)
from .regex.setops import is_empty
from .tokentrie import _lookup, simulates_plain_utf8
from .vocab import Vocabulary

#: Wall-clock budget of one compilation, in seconds. The slowest MaskBench schema that compiles
#: takes about 8 s on a loaded 2-core machine; adversarial ones (Handwritten allany16) take minutes.
DEFAULT_MAX_COMPILE_SECONDS = 20.0
#: Masks kept per compiled constraint; a 131k vocabulary costs 16 KiB per cached state.
DEFAULT_MASK_CACHE_SIZE = 4096
#: Default runaway-whitespace guard of JSON constraints (consecutive blank bytes).
DEFAULT_MAX_WHITESPACE = 32
#: Longest forced continuation reported by jump-forward.
MAX_JUMP_FORWARD_BYTES = 4096


def _any_bytes_dfa() -> ByteDFA:
    """One accepting state that loops on every byte: the 'text' (unconstrained) automaton."""
    return ByteDFA(
        byte_class=np.zeros(256, dtype=np.int32),
        table=np.zeros((1, 1), dtype=np.int32),
        accepting=np.ones(1, dtype=bool),
        start=0,
    )


class CompiledConstraint:
    """An immutable constraint over a vocabulary: automaton + per-state mask cache.

    Create it with :func:`constrain.compile`; make per-sequence matchers with :meth:`matcher`.
    Thread-safe: the mask cache is guarded by a lock, a lazily built automaton grows under its
    own lock (matchers of one constraint may run in several threads), the rest is read-only.

    Attributes:
        vocab: the vocabulary the constraint was compiled for.
        kind: "text", "regex", "json_object" or "json_schema".
        description: what the constraint enforces (the regex, for example), for messages.
        automaton: the byte-level automaton: a :class:`ByteDFA`, or a :class:`GrammarAutomaton`
            (pushdown, determinized lazily) where recursion needs a stack.
    """

    def __init__(
        self,
        automaton: ByteDFA | GrammarAutomaton,
        vocab: Vocabulary,
        *,
        kind: str,
        description: str,
        mask_cache_size: int = DEFAULT_MASK_CACHE_SIZE,
        max_whitespace: int | None = None,
    ) -> None:
        self.automaton = automaton
        # Runaway-whitespace guard (JSON): once the output ends in ``max_whitespace`` blank bytes,
        # no token may start with another. A matcher *position* then packs the automaton state
        # and the current run of trailing blanks: position = state * width + run.
        self.max_whitespace = max_whitespace
        self._width = 1 if max_whitespace is None else max_whitespace + 1
        self._ws = vocab.whitespace_info if max_whitespace is not None else None
        self._ws_rows = self._ws.allowed_rows(max_whitespace) if self._ws is not None else None
        self.vocab = vocab
        self.kind = kind
        self.description = description
        # Rows by matcher position (what the matcher asks for), and, under the whitespace guard,
        # the automaton's unguarded rows by state. Insertion-ordered; the oldest entry goes first.
        self._mask_cache: dict[int, np.ndarray] = {}
        self._state_rows: dict[int, np.ndarray] = {}
        self._simulation_memo: dict[tuple[int, int], bool] = {}
        self._byte_class256 = np.asarray(automaton.byte_class[:256], dtype=np.int64)
        self._mask_cache_size = mask_cache_size
        self._lock = threading.Lock()
        self._eos = frozenset(vocab.eos_token_ids)
        self._eos_ids = np.array(vocab.eos_token_ids, dtype=np.int64)
        self._token_bytes = vocab.token_bytes
        # States whose masks are provably equal share one (counted strings far from their bounds).
        self._mask_equivalent = getattr(automaton, "mask_equivalent", None)
        self._horizon = vocab.trie.max_depth  # the longest token, in bytes

    def __repr__(self) -> str:
        return (
            f"CompiledConstraint({self.kind}: {self.description[:60]!r}, states={self.automaton.num_states}, "
            f"vocab={self.vocab.size})"
        )

    @property
    def dfa(self) -> ByteDFA | GrammarAutomaton:
        """Alias of :attr:`automaton` (a :class:`ByteDFA` for text and regex constraints)."""
        return self.automaton

    @property
    def start_state(self) -> int:
        """The matcher position at the start of the output."""
        return self.automaton.start * self._width

    def automaton_state(self, position: int) -> int:
        """The automaton state of a matcher position (they differ only under the whitespace guard)."""
        return position if position < 0 else position // self._width

    def matcher(self) -> Matcher:
        """A fresh matcher at the start of the output."""
        return Matcher(self)

    # -- automaton steps (used by Matcher) ---------------------------------------------------
    def is_accepting(self, position: int) -> bool:
        return position != TERMINATED and self.automaton.is_accepting(position // self._width)

    def next_state(self, position: int, token_id: int) -> int:
        """Position after ``token_id`` (an in-range id), ``TERMINATED`` for an allowed EOS, -1 if not allowed."""
        if position == TERMINATED:
            return -1
        if token_id in self._eos:
            return TERMINATED if self.automaton.is_accepting(position // self._width) else -1
        data = self._token_bytes[token_id]
        if data is None:
            return -1
        if self._ws is None:
            return self.automaton.walk(position, data)
        state, run = divmod(position, self._width)
        if not self._ws.allows(token_id, run, self.max_whitespace):
            return -1
        nxt = self.automaton.walk(state, data)
        if nxt < 0:
            return -1
        return nxt * self._width + self._ws.next_run(token_id, run)

    def advance_bytes(self, position: int, data: bytes) -> int:
        if position == TERMINATED:
            return -1
        if self._ws is None:
            return self.automaton.walk(position, data)
        state, run = divmod(position, self._width)
        for b in data:  # the guard, byte by byte
            run = run + 1 if b in (0x20, 0x09, 0x0A, 0x0D) else 0
            if run > self.max_whitespace:
                return -1
        nxt = self.automaton.walk(state, data)
        if nxt < 0:
            return -1
        return nxt * self._width + run

    def forced_bytes(self, position: int) -> bytes:
        """Bytes every continuation from ``position`` starts with (jump-forward)."""
        return self.automaton.forced_bytes(position // self._width, MAX_JUMP_FORWARD_BYTES)

    # -- masks -------------------------------------------------------------------------------
    def _automaton_mask(self, state: int) -> np.ndarray:
        """Boolean array over the vocabulary: tokens the automaton allows in ``state``, EOS when it accepts.

        The string slicer: for each first byte ``b``, if the automaton after ``b`` provably reads
        all plain string text (:func:`~constrain.tokentrie.simulates_plain_utf8`; JSON string
        interiors), every plain token starting with ``b`` is allowed without a walk. Only the
        vocabulary's few thousand other tokens, and the subtrees of the remaining first bytes,
        are walked. Exact: the walks decide every token the shortcut does not.
        """
        if state == TERMINATED:
            allowed = np.zeros(self.vocab.size, dtype=bool)
            allowed[self._eos_ids] = True
            return allowed
        trie = self.vocab.trie
        automaton = self.automaton
        num_classes = automaton.num_classes
        plain_table = trie.plain_utf8
        counted_budgets = getattr(automaton, "counted_budgets", None)
        budgets = None if counted_budgets is None else counted_budgets(state, plain_table)
        if budgets is not None:
            # Inside counted strings (maxLength): plain tokens by their character count, the
            # others walked (see GrammarAutomaton.counted_budgets).
            plain, rest = trie.plain_split
            if any(b is None for b in budgets):
                allowed = plain.copy()
            else:
                allowed = plain & (trie.plain_chars <= max(budgets))  # type: ignore[type-var]
            if rest is not None:
                allowed |= rest.walk(automaton, self._byte_class256, state)
            if automaton.is_accepting(state):
                allowed[self._eos_ids] = True
            return allowed
        # Level 1 for every byte (the walk needs these entries anyway).
        first = _lookup(automaton, state * num_classes + self._byte_class256)
        candidates = np.flatnonzero((first >= 0) & (plain_table[0] >= 0))
        good = np.zeros(256, dtype=bool)
        if candidates.size > 32:  # a wide state: worth trying the shortcut
            pairs = first[candidates] * 8 + plain_table[0, candidates]
            memo = self._simulation_memo
            top_reads_plain = getattr(automaton, "top_reads_plain", None)
            for pair in np.unique(pairs).tolist():
                a, u = divmod(pair, 8)
                # A grammar's string rule proves it once for all the contexts it is used in;
                # otherwise the configurations themselves are simulated.
                if (top_reads_plain is not None and top_reads_plain(a, u, plain_table)) or simulates_plain_utf8(
                        automaton, a, u, plain_table, memo):
                    good[candidates[pairs == pair]] = True
        if not good.any():
            allowed = trie.walk(automaton, self._byte_class256, state)
        else:
            plain, rest = trie.plain_split
            alive = first >= 0
            if good[trie.plain_first_bytes].all():
                allowed = plain.copy()  # JSON string interiors: every plain token
            else:
                allowed = plain & good[trie.first_byte]  # first_byte -1 -> good[255] (never plain)
            if rest is not None:
                allowed |= rest.walk(automaton, self._byte_class256, state)
            # Plain tokens whose first byte is not proven: walk their subtrees.
            bad = np.flatnonzero(alive & ~good & (plain_table[0] >= 0))
            roots = trie.root_of_byte[bad]
            roots = roots[roots >= 0]
            if roots.size:
                allowed |= trie.walk(automaton, self._byte_class256, state, roots)
        if automaton.is_accepting(state):
            allowed[self._eos_ids] = True
        return allowed

    def bitmask_row(self, position: int) -> np.ndarray:
        """The int32 bitmask row at ``position``, computed once per distinct mask and cached.

        The array is the cache's own: callers must not write to it (Matcher.next_token_bitmask
        hands out read-only views). It stays writable because torch warns on read-only arrays.
        """
        row = self._mask_cache.get(position)  # the hot path: one dict lookup
        if row is None:
            row = self._compute_row(position)
        return row

    def _compute_row(self, position: int) -> np.ndarray:
        with gc_paused:  # a new mask allocates many parse stacks (see constrain.gcpause)
            return self._compute_row_now(position)

    def _compute_row_now(self, position: int) -> np.ndarray:
        if position < 0:
            row = mask_to_bitmask_row(self._automaton_mask(position))
        elif self._ws_rows is None:
            row = self._state_row(position, self._mask_cache)
        else:
            # Under the whitespace guard the automaton's row is shared by every blank run; the
            # position's row is that row and the guard's row for the run.
            state, run = divmod(position, self._width)
            base = self._state_rows.get(state)
            if base is None:
                base = self._state_row(state, self._state_rows)
                self._store(self._state_rows, state, base)
            row = np.bitwise_and(base, self._ws_rows[run])
        self._store(self._mask_cache, position, row)
        return row

    def _state_row(self, state: int, cache: dict) -> np.ndarray:
        """The automaton's row at ``state``: that of an equivalent state when one is cached in
        ``cache`` (computed and cached under the equivalent state otherwise)."""
        if self._mask_equivalent is None:
            return mask_to_bitmask_row(self._automaton_mask(state))
        same = self._mask_equivalent(state, self._horizon)
        if same == state:
            return mask_to_bitmask_row(self._automaton_mask(state))
        row = cache.get(same)
        if row is None:
            row = mask_to_bitmask_row(self._automaton_mask(same))
            self._store(cache, same, row)
        return row

    def _store(self, cache: dict, key: int, row: np.ndarray) -> None:
        with self._lock:
            cache[key] = row
            if len(cache) > self._mask_cache_size:
                del cache[next(iter(cache))]  # the oldest entry

    def clear_mask_cache(self) -> None:
        """Drop every cached mask row (their memory), keeping the automaton and what it has
        built: the next mask of a state is computed again, by a walk whose table entries are
        known. Matchers keep working; rows already handed out stay valid."""
        with self._lock:
            self._mask_cache.clear()
            self._state_rows.clear()

    @property
    def bitmask_width(self) -> int:
        return bitmask_width(self.vocab.size)


# --------------------------------------------------------------------------------------------
# response_format parsing
# --------------------------------------------------------------------------------------------

class ConstraintCache:
    """A small thread-safe LRU of compiled constraints, keyed by their inputs (and the vocabulary).

    Entries hold the vocabulary itself, so an id reused by a new vocabulary object never hits.
    """

    def __init__(self, size: int = 64) -> None:
        self._entries: OrderedDict[tuple[Any, ...], tuple[Vocabulary, CompiledConstraint]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], vocab: Vocabulary) -> CompiledConstraint | None:
        with self._lock:
            hit = self._entries.get(key)
            if hit is None or hit[0] is not vocab:
                return None
            self._entries.move_to_end(key)
            return hit[1]

    def put(self, key: tuple[Any, ...], vocab: Vocabulary, compiled: CompiledConstraint) -> None:
        with self._lock:
            self._entries[key] = (vocab, compiled)
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)


_COMPILE_CACHE = ConstraintCache()


def _schema_of(json_schema: Any) -> Any:
    """The schema inside ``response_format.json_schema``: ``{"schema": {...}, "name": ..., "strict": ...}``
    (OpenAI's form), or the schema itself placed there directly."""
    if json_schema is None:
        raise InvalidResponseFormatError("response_format of type 'json_schema' needs a 'json_schema' field")
    if isinstance(json_schema, bool):
        return json_schema
    if not isinstance(json_schema, Mapping):
        raise InvalidResponseFormatError(
            f"response_format.json_schema must be an object, not {type(json_schema).__name__}"
        )
    if "schema" in json_schema and isinstance(json_schema["schema"], (Mapping, bool)):
        extra = sorted(set(json_schema) - {"schema", "name", "strict", "description"})
        if extra:
            raise InvalidResponseFormatError(f"response_format.json_schema has unknown field(s) {extra}")
        return json_schema["schema"]
    return dict(json_schema)


def format_kind(response_format: Any) -> Any:
    """The ``type`` of a ``response_format`` dict (raises when it is not a dict with a type)."""
    if not isinstance(response_format, Mapping):
        raise InvalidResponseFormatError(
            f"response_format must be an object like {{\"type\": \"text\"}}, not {type(response_format).__name__}"
        )
    if "type" not in response_format:
        raise InvalidResponseFormatError("response_format is missing its 'type' field")
    return response_format["type"]


def _check_keys(response_format: Mapping[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(response_format) - allowed - {"type"})
    if extra:
        kind = response_format.get("type")
        raise InvalidResponseFormatError(
            f"response_format of type {kind!r} has unknown field(s) {extra}; allowed: {sorted(allowed | {'type'})}"
        )


def compile(
    response_format: Mapping[str, Any] | None,
    vocab: Vocabulary,
    *,
    max_nfa_states: int = DEFAULT_MAX_NFA_STATES,
    max_dfa_states: int = DEFAULT_MAX_DFA_STATES,
    lenient: bool = False,
    whitespace: str = "default",
    max_whitespace: int = DEFAULT_MAX_WHITESPACE,
    max_depth: int = DEFAULT_MAX_DEPTH,
    cache: bool = True,
    property_order: str = "schema",
    max_compile_seconds: float | None = DEFAULT_MAX_COMPILE_SECONDS,
) -> CompiledConstraint:
    """Compile a chat-completions ``response_format`` for ``vocab``.

    Python's cyclic garbage collector is paused while it runs, and while a matcher computes a
    mask not seen before (:mod:`constrain.gcpause`; it is switched back on afterwards).

    Args:
        response_format: ``None`` or ``{"type": "text"}`` (no constraint),
            ``{"type": "regex", "schema": "<regex>"}`` (the whole output must fullmatch the regex;
            ECMA-262 dialect, see the README), ``{"type": "json_object"}`` (any JSON object) or
            ``{"type": "json_schema", "json_schema": {"schema": {...}}}`` (a value valid under the
            schema; see docs/json-schema.md).
        vocab: the tokenizer's :class:`~constrain.vocab.Vocabulary`.
        max_nfa_states, max_dfa_states: automaton budgets; exceeding one raises
            :class:`~constrain.errors.AutomatonTooLargeError` quickly instead of hanging.
        lenient: JSON Schema keywords that cannot be enforced are dropped with a warning instead
            of raising :class:`~constrain.errors.UnsupportedSchemaError`.
        whitespace: JSON whitespace between tokens: "default" (any JSON whitespace, bounded by
            ``max_whitespace``) or "compact" (none).
        max_whitespace: runaway-whitespace guard for JSON: at most this many consecutive blank
            bytes (spaces, tabs, line breaks) before a non-blank one; 32 fits ``json.dumps`` with
            ``indent=2`` up to 15 levels deep.
        max_depth: deepest nesting of JSON objects/arrays generated (recursive schemas, json_object).
        cache: reuse an earlier compilation of the same format for the same vocabulary object.
        property_order: JSON objects' declared properties in the schema's order ("schema",
            the default) or, for objects with at most 240 of them, in any order, each at most
            once, additional ones anywhere between ("any").
        max_compile_seconds: wall-clock budget of one compilation (``None``: no limit). Each
            automaton is bounded by the state budgets, but a schema may ask for very many of
            them; past this budget :class:`~constrain.errors.CompileTimeoutError` names the
            schema location being compiled.

    Raises:
        InvalidResponseFormatError: unknown type or malformed shape.
        InvalidRegexError / UnsupportedRegexError: a bad or unenforceable regex.
        AutomatonTooLargeError: the automaton would exceed its budget (its subclass
            CompileTimeoutError: compiling took longer than ``max_compile_seconds``).
    """
    if not isinstance(vocab, Vocabulary):
        raise ConstraintError(f"vocab must be a constrain.Vocabulary, not {type(vocab).__name__}")
    key = None
    if cache:
        try:
            key = (json.dumps(response_format, sort_keys=True), id(vocab), max_nfa_states, max_dfa_states,
                   lenient, whitespace, max_whitespace, max_depth, property_order)
        except (TypeError, ValueError):
            key = None  # not JSON-serializable: let the validation below report it
        hit = None if key is None else _COMPILE_CACHE.get(key, vocab)
        if hit is not None:
            return hit
    if property_order not in ("schema", "any"):
        raise ConstraintError(f"property_order must be 'schema' or 'any', not {property_order!r}")
    if max_compile_seconds is not None and (
        isinstance(max_compile_seconds, bool) or not isinstance(max_compile_seconds, (int, float))
        or not max_compile_seconds > 0
    ):
        raise ConstraintError(f"max_compile_seconds must be a positive number or None, not {max_compile_seconds!r}")
    json_options = JsonOptions(whitespace=whitespace, lenient=lenient, property_order=property_order)
    with deadline.time_budget(max_compile_seconds), gc_paused:
        try:
            compiled = _compile_uncached(
                response_format, vocab, max_nfa_states, max_dfa_states, json_options, max_depth, max_whitespace
            )
        except RecursionError:
            # Schemas and regexes are walked recursively: one nested past Python's recursion
            # limit is a budget error of its own, not a crash from deep inside.
            kind = format_kind(response_format) if isinstance(response_format, Mapping) else "format"
            hint = " (share repeated parts through $defs)" if kind == "json_schema" else ""
            raise AutomatonTooLargeError(
                f"the {kind} is nested too deeply to compile: Python's recursion limit was reached{hint}"
            ) from None
    if key is not None:
        _COMPILE_CACHE.put(key, vocab, compiled)
    return compiled


def _compile_uncached(
    response_format: Mapping[str, Any] | None,
    vocab: Vocabulary,
    max_nfa_states: int,
    max_dfa_states: int,
    json_options: JsonOptions,
    max_depth: int,
    max_whitespace: int,
) -> CompiledConstraint:
    if response_format is None:
        return CompiledConstraint(_any_bytes_dfa(), vocab, kind="text", description="any text")
    kind = format_kind(response_format)
    if kind == "text":
        _check_keys(response_format, set())
        return CompiledConstraint(_any_bytes_dfa(), vocab, kind="text", description="any text")
    if kind == "regex":
        _check_keys(response_format, {"schema"})
        if "schema" not in response_format:
            raise InvalidResponseFormatError("response_format of type 'regex' needs a 'schema' field holding the regex")
        pattern = response_format["schema"]
        if not isinstance(pattern, str):
            raise InvalidResponseFormatError(
                f"response_format.schema must be a regex string, not {type(pattern).__name__}"
            )
        dfa = compile_regex(pattern, max_nfa_states=max_nfa_states, max_dfa_states=max_dfa_states)
        if is_empty(dfa):
            raise InvalidRegexError("the regex matches no string at all", pattern)
        dfa = restrict_bytes(dfa, vocab.producible_bytes)
        if is_empty(dfa):
            raise InvalidRegexError(f"no output of this vocabulary ({vocab.name}) can match the regex", pattern)
        return CompiledConstraint(dfa, vocab, kind="regex", description=pattern)
    if kind == "json_object":
        _check_keys(response_format, set())
        grammar = SchemaCompiler(True, json_options).compile_any_object()
        return CompiledConstraint(
            GrammarAutomaton(grammar, max_depth=max_depth, producible_bytes=vocab.producible_bytes),
            vocab,
            kind="json_object",
            description="any JSON object",
            max_whitespace=max_whitespace,
        )
    if kind == "json_schema":
        _check_keys(response_format, {"json_schema"})
        schema = _schema_of(response_format.get("json_schema"))
        grammar = SchemaCompiler(schema, json_options).compile()
        return CompiledConstraint(
            GrammarAutomaton(
                grammar, max_depth=max_depth, max_dfa_states=max_dfa_states, producible_bytes=vocab.producible_bytes
            ),
            vocab,
            kind="json_schema",
            description=json.dumps(schema)[:200],
            max_whitespace=max_whitespace,
        )
    raise InvalidResponseFormatError(
        f"unknown response_format type {kind!r}; expected one of 'text', 'regex', 'json_object', 'json_schema'"
    )
