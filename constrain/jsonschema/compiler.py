"""JSON Schema -> grammar of byte-level rules (see :mod:`constrain.grammar`).

Each object or array schema becomes its own grammar rule (called where the value appears, so
recursive schemas — trees, linked lists — work and automata stay small); scalar schemas are
inlined into their parent's rule. Keywords are enforced exactly, approximated soundly (the output
language is a subset of the schema's), or refused with :class:`UnsupportedSchemaError` naming the
keyword and the JSON pointer of the schema holding it. With ``lenient=True`` a refused keyword is
dropped with a :class:`UnsupportedSchemaWarning` instead — then outputs may fail the schema.

docs/json-schema.md is the reference for what is enforced how.

This module holds :class:`JsonOptions`, :class:`SchemaCompiler`'s entry points and state, the
dispatcher (:meth:`SchemaCompiler.value`: ``$ref`` resolution and cycle checks, then the keyword
families in turn, and ``_typed`` by JSON type), refusals (``unsupported``, ``_strictly``), the rule
helpers, the normalisation of the document done once up front and the final pass that drops
unproductive rules. The keywords themselves are compiled by mixin classes, one module per family,
which :class:`SchemaCompiler` inherits:

- :mod:`.objects` — properties, required, additionalProperties, patternProperties, propertyNames,
  min/maxProperties, members in any order, counted members;
- :mod:`.arrays` — items/prefixItems/additionalItems, min/maxItems, contains, uniqueItems;
- :mod:`.string_keywords` — string keywords, and string sets under ``not``/``oneOf``;
- :mod:`.number_keywords` — number keywords, and number sets under ``not``/``oneOf``;
- :mod:`.enums` — enum/const and other finite value sets, checking values against a schema;
- :mod:`.combinators` — allOf merging (and ``$ref`` with siblings), anyOf/oneOf alternatives;
- :mod:`.disjoint` — when oneOf branches cannot overlap, and narrowing them until they cannot;
- :mod:`.negation` — ``not`` in all its forms;
- :mod:`.conditionals` — if/then/else, dependencies/dependentRequired/dependentSchemas;
- :mod:`.keywords` — the keyword tables and helpers the families share.

Imports go down only: this module imports the families; they import :mod:`.keywords`,
:mod:`.refs` and the automata modules (:mod:`.strings`, :mod:`.numeric`, :mod:`.formats`,
``constrain.regex``), never this module nor each other, and call each other's methods through
``self``.
"""

from __future__ import annotations

import json
import sys
import warnings
from dataclasses import dataclass
from typing import Any

from .. import deadline
from ..errors import CompileTimeoutError, InvalidSchemaError, MalformedSchemaError, UnsupportedSchemaError
from ..grammar import Grammar, LazyRule
from ..regex.automaton import ByteDFA, Call
from ..regex.parser import Alt, Chars, Concat, Node, Repeat, parse
from . import strings
from .arrays import ArrayKeywords
from .combinators import CombinatorKeywords
from .conditionals import ConditionalKeywords
from .disjoint import DisjointBranches
from .enums import EnumKeywords
from .keywords import (
    ANNOTATIONS,
    HANDLED,  # noqa: F401 - defined in this module before the split: still importable from it
    INTERNAL_LISTS,  # noqa: F401 - likewise
    JSON_TYPES,
    REFUSED,
    UnsupportedSchemaWarning,
    _ptr,
    _types_of,
)
from .negation import NegationKeywords
from .number_keywords import NumberKeywords
from .objects import ObjectKeywords
from .refs import DATA_KEYWORDS, RefResolver
from .string_keywords import StringKeywords
from .strings import literal

#: Most schemas expanded inside one another before an object or array starts (deeper: a cycle).
_MAX_CHAIN = 256


@dataclass(frozen=True)
class JsonOptions:
    """How JSON text is generated.

    Attributes:
        whitespace: "default" (any JSON whitespace; the compiled constraint bounds runs) or
            "compact" (no whitespace at all).
        lenient: drop keywords that cannot be enforced (with a warning) instead of refusing.
        max_repeat: the most characters of a string or items of an array generated for a
            ``maxLength``/``maxItems`` above it: such bounds are tightened to it (sound; longer
            valid values are not produced), and a ``minLength``/``minItems`` above it is refused.
        property_order: "schema" (default): declared properties come in the schema's order.
            "any": the declared properties of an object with at most ``any_order_max`` of them
            may come in any order (each at most once, additional ones anywhere between); larger
            objects keep the schema's order.
        any_order_max: see ``property_order``. The sets of properties seen (``2**n`` of them)
            are built lazily, as parses reach them; the bound keeps the number of members a
            parse weighs at once (one per candidate key) within the grammar's stack budget
            (1,024 parses alive at once).
    """

    whitespace: str = "default"
    lenient: bool = False
    max_repeat: int = 256
    property_order: str = "schema"
    any_order_max: int = 240


class SchemaCompiler(
    ObjectKeywords, ArrayKeywords, StringKeywords, NumberKeywords, EnumKeywords,
    CombinatorKeywords, DisjointBranches, NegationKeywords, ConditionalKeywords,
):
    """Compiles one JSON Schema document to a :class:`~constrain.grammar.Grammar`.

    The keyword methods come from the family mixins it inherits (see the module docstring); the
    state they share is set up in ``__init__``.
    """

    def __init__(self, schema: Any, options: JsonOptions = JsonOptions()) -> None:
        if not isinstance(schema, (dict, bool)):
            raise MalformedSchemaError(f"a JSON Schema must be an object or a boolean, not {type(schema).__name__}")
        dialect = schema.get("$schema", "") if isinstance(schema, dict) else ""
        # Drafts 3 to 7 have the keyword "dependencies"; later drafts (and the default, 2020-12) do not.
        self._legacy_draft = isinstance(dialect, str) and any(f"draft-0{n}" in dialect for n in (3, 4, 6, 7))
        # if/then/else arrived in draft 7: earlier drafts' validators ignore them, and so do we.
        self._ignores_conditionals = isinstance(dialect, str) and any(f"draft-0{n}" in dialect for n in (3, 4, 6))
        if self._legacy_draft:
            # Up to draft 7, a $ref overrides its siblings: validators ignore them, and so do we.
            schema = _without_ref_siblings(schema)
        schema = _with_integral_counts(schema, True)
        self.root = schema
        self.options = options
        self.resolver = RefResolver(schema)
        self.ws = strings.whitespace(options.whitespace)
        self.sep = Concat((self.ws, literal(","), self.ws))
        self.colon = Concat((self.ws, literal(":"), self.ws))
        self._rules: list[Node | None] = [None]
        self._names: list[str] = ["root"]
        self._rule_of: dict[tuple[Any, ...], int] = {}
        self._lazy_rules: dict[int, LazyRule] = {}
        self._expanding: set[tuple[int, str] | None] = set()  # schemas being expanded since the last "{" or "["
        self._chain: list[str] = []  # their pointers
        self._any_value: int | None = None
        self._any_object = -1
        self._validator: Any = None
        # Set while trying an exact form that falls back to a refusal: unsupported() then raises.
        self._strict = False
        # Automata of negated / exclusive scalar schemas, by content (see _string_set, _number_set).
        self._sets: dict[tuple[Any, ...], ByteDFA] = {}
        self._finite: dict[tuple[int, str], list[Any] | None] = {}

    # -- entry points ------------------------------------------------------------------------
    def compile(self) -> Grammar:
        # Schemas nest deeply (and trees nest deeper still); Python 3.11+ calls between Python
        # functions do not use the C stack, so a higher limit for this pass is safe.
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 20000))
        try:
            return self._compile()
        finally:
            sys.setrecursionlimit(limit)

    def _compile(self) -> Grammar:
        self._rules[0] = self.value(self.root, "", "")
        try:
            rules = _without_unproductive_rules(self._rules)  # type: ignore[arg-type]
        except RecursionError:
            rules = tuple(self._rules)  # type: ignore[arg-type]  # trees too deep to check: left as they are
        if rules is None:
            raise InvalidSchemaError("no finite JSON value satisfies the schema (required values nest forever)")
        return Grammar(rules=rules, names=tuple(self._names), lazy_rules=tuple(self._lazy_rules.items()))

    def compile_any_object(self) -> Grammar:
        """The grammar of ``{"type": "json_object"}``: any JSON object."""
        self._ensure_any_value()
        self._rules[0] = Call(self._any_object)
        return Grammar(rules=tuple(self._rules), names=tuple(self._names))  # type: ignore[arg-type]

    # -- rules -------------------------------------------------------------------------------
    def _new_rule(self, name: str) -> int:
        self._rules.append(None)
        self._names.append(name)
        return len(self._rules) - 1

    def _ensure_any_value(self) -> int:
        if self._any_value is None:
            value = self._new_rule("any value")
            obj = self._new_rule("any object")
            arr = self._new_rule("any array")
            self._any_value, self._any_object = value, obj
            member = Concat((strings.ANY_STRING, self.colon, Call(value)))
            self._rules[value] = Alt((Call(obj), Call(arr), strings.ANY_STRING, strings.ANY_NUMBER, strings.LITERALS))
            self._rules[obj] = self._bracketed("{", "}", member, Concat((self.sep, member)))
            self._rules[arr] = self._bracketed("[", "]", Call(value), Concat((self.sep, Call(value))))
        return self._any_value

    def _bracketed(self, open_: str, close: str, first: Node, more: Node) -> Node:
        items = Repeat(Concat((first, Repeat(more, 0, None))), 0, 1)
        return Concat((literal(open_), self.ws, items, self.ws, literal(close)))

    # -- errors ------------------------------------------------------------------------------
    def unsupported(self, keyword: str, pointer: str, why: str = "") -> None:
        """Refuse ``keyword`` (or, in lenient mode, warn and go on without it)."""
        message = f"JSON Schema keyword {keyword!r} at {pointer or '/'} cannot be enforced"
        if why:
            message += f": {why}"
        if self.options.lenient and not self._strict:
            warnings.warn(message + " (dropped: lenient mode)", UnsupportedSchemaWarning, stacklevel=3)
            return
        raise UnsupportedSchemaError(message + " (pass lenient=True to drop it with a warning)", keyword, pointer or "/")

    # -- schema normalisation ----------------------------------------------------------------
    def _resolve(self, schema: Any, base: str, ptr: str, seen: tuple[int, ...] = ()) -> tuple[Any, str]:
        """Follow a bare ``$ref`` (one with no sibling validation keywords)."""
        while isinstance(schema, dict) and "$ref" in schema and not (set(schema) - ANNOTATIONS - {"$ref"}):
            if id(schema) in seen:
                raise MalformedSchemaError(f"$ref cycle without any value in between at {ptr or '/'}")
            seen = seen + (id(schema),)
            base = self.resolver.base_of(schema, base)
            schema, base = self.resolver.resolve(schema["$ref"], base, ptr)
        return schema, base

    # -- values ------------------------------------------------------------------------------
    def value(self, schema: Any, base: str, ptr: str) -> Node:
        """The JSON text of a value valid under ``schema``."""
        deadline.check()
        try:
            return self._value(schema, base, ptr)
        except CompileTimeoutError as exc:
            if exc.pointer is None:  # the innermost schema names where the time went
                raise CompileTimeoutError(f"{exc} (while compiling the schema at {ptr or '/'})", ptr) from None
            raise

    def _value(self, schema: Any, base: str, ptr: str) -> Node:
        schema, base = self._resolve(schema, base, ptr)
        # A schema met again before any character was read ("d0: oneOf [d0, ...]") would expand
        # forever; entering an object or array rule starts a new chain (see _rule_call). Merges
        # make new dicts, so a cycle may not meet a node of the document twice: the depth of the
        # chain is bounded too.
        key = (id(schema), base) if isinstance(schema, dict) and self.resolver.in_document(schema) else None
        if key in self._expanding or len(self._chain) >= _MAX_CHAIN:
            start = self._chain[0] if self._chain else ptr
            raise MalformedSchemaError(f"$ref cycle without any value in between, from {start or '/'} "
                                       f"({len(self._chain)} schemas nested in one another)")
        self._chain.append(ptr)
        if key is not None:
            self._expanding.add(key)
        try:
            return self._value_of(schema, base, ptr)
        finally:
            self._chain.pop()
            if key is not None:
                self._expanding.discard(key)

    def _value_of(self, schema: Any, base: str, ptr: str) -> Node:
        if schema is True:
            return Call(self._ensure_any_value())
        if schema is False:
            raise InvalidSchemaError(f"the schema at {ptr or '/'} is false: no value is valid there")
        if not isinstance(schema, dict):
            raise MalformedSchemaError(f"a schema must be an object or a boolean at {ptr or '/'}, not {type(schema).__name__}")
        values = self._valid_values(schema, base, ptr)
        if values is not None:
            # A finite set of candidates (enum, const, booleans, null, through allOf/anyOf/$ref),
            # each checked against the whole schema: every keyword is exact here.
            return self._enumerated(values, ptr)
        if "allOf" in schema or "$ref" in schema:
            schema = self._merge_all_of(schema, self.resolver.base_of(schema, base), ptr)
        else:
            base = self.resolver.base_of(schema, base)
        schema = self._with_conditionals(schema)
        if "$conditionals" in schema:
            return self._conditional(schema, base, ptr)
        for key in schema:
            if key in REFUSED:
                self.unsupported(key, ptr)
        if "not" in schema:
            schema = self._apply_not(schema, base, ptr)
        if "dependencies" in schema and not self._legacy_draft:
            # Not a keyword since draft 2019-09 (split into dependentRequired/dependentSchemas):
            # validators of the newer drafts ignore it, and so do we.
            schema = {k: v for k, v in schema.items() if k != "dependencies"}
        if any(k in schema for k in ("dependencies", "dependentRequired", "dependentSchemas")):
            return self._dependencies(schema, base, ptr)
        if "$not_all" in schema:
            return self._not_all(schema, base, ptr)
        if "$not_object" in schema:
            return self._not_object(schema, base, ptr)
        if "enum" in schema or "const" in schema:
            values = self._valid_values(schema, base, ptr)
            assert values is not None
            return self._enumerated(values, ptr)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self._alternatives(schema, key, base, ptr)
        return self._typed(schema, base, ptr)

    def _strictly(self, build: Any) -> Any:
        """``build()`` with refusals raised even in lenient mode: an exact form being tried, whose
        caller falls back to refusing (or, leniently, dropping) the keyword as a whole."""
        saved = self._strict
        self._strict = True
        try:
            return build()
        finally:
            self._strict = saved

    def _typed(self, schema: dict, base: str, ptr: str) -> Node:
        types = _types_of(schema)
        bad = [t for t in types if t not in JSON_TYPES]
        if bad:
            raise MalformedSchemaError(f"unknown type {bad[0]!r} at {ptr or '/'}")
        options: list[Node] = []
        banned = schema.get("$not_values", [])
        if "null" in types and not any(v is None for v in banned):
            options.append(literal("null"))
        if "boolean" in types:
            bools = [b for b in ("true", "false") if not any(v is (b == "true") for v in banned)]
            if bools:
                options.append(parse("|".join(bools)))
        builders: list[Any] = []
        if "number" in types:
            builders.append(lambda: self._number(schema, ptr, integer=False))
        elif "integer" in types:
            builders.append(lambda: self._number(schema, ptr, integer=True))
        if "string" in types:
            builders.append(lambda: self._string(schema, ptr))
        if "array" in types:
            builders.append(lambda: self._rule_call(schema, base, ptr, "array", self._array))
        if "object" in types:
            builders.append(lambda: self._rule_call(schema, base, ptr, "object", self._object))
        # A type none of whose values satisfies the schema leaves the others: without "type",
        # an unsatisfiable "required" (MaskBench o46142) still allows every non-object value.
        first_error: InvalidSchemaError | None = None
        for build in builders:
            try:
                options.append(build())
            except MalformedSchemaError:
                raise
            except InvalidSchemaError as exc:
                first_error = first_error or exc
        options = [o for o in options if o is not None]
        if not options:
            raise first_error or InvalidSchemaError(f"the schema at {ptr or '/'} allows no value")
        return options[0] if len(options) == 1 else Alt(tuple(options))

    def _rule_call(self, schema: dict, base: str, ptr: str, kind: str, build: Any) -> Node:
        """A call of the rule for ``schema``'s arrays or objects, built once per schema.

        Building it once is what makes recursive schemas finite: the second visit of a schema
        (through a ``$ref`` cycle) finds the rule already reserved. Schemas are told apart by
        their content, not their identity, because merging (allOf, ``$ref`` with siblings, anyOf
        branches with surrounding keywords) makes a new dict on every visit.
        """
        if self.resolver.in_document(schema):
            key: tuple[Any, ...] = (id(schema), base, kind)  # the document's nodes live as long as we do
        else:
            key = ("content", json.dumps(schema, sort_keys=True, default=repr), base, kind)
        rule = self._rule_of.get(key)
        if rule is None:
            rule = self._new_rule(f"{kind} at {ptr or '/'}")
            self._rule_of[key] = rule
            outer = self._expanding, self._chain
            self._expanding, self._chain = set(), []  # "{" or "[" comes first: a new chain
            try:
                self._rules[rule] = build(schema, base, ptr)
            except Exception:
                # An unsatisfiable schema (whose caller may drop it, as anyOf does) leaves its
                # reserved rule matching nothing, so calls already made to it stay well-formed;
                # a later visit builds it again (and fails again, or succeeds in lenient mode).
                self._rules[rule] = Chars(())
                del self._rule_of[key]
                raise
            finally:
                self._expanding, self._chain = outer
        return Call(rule)


# -- helpers ----------------------------------------------------------------------------------

#: Keywords whose value is a count (a non-negative integer; 2.0 is an integer in JSON Schema).
_COUNT_KEYWORDS = frozenset(
    "minLength maxLength minItems maxItems minProperties maxProperties minContains maxContains".split()
)
#: Keywords whose value maps names to schemas.
_SCHEMA_MAPS = frozenset("properties patternProperties $defs definitions dependentSchemas".split())
#: Keywords whose value is a schema or an array of schemas.
_SCHEMA_VALUED = frozenset(
    "items prefixItems additionalItems additionalProperties unevaluatedItems unevaluatedProperties contains "
    "propertyNames not if then else allOf anyOf oneOf".split()
)


class _BadCount(Exception):
    """A count that is no non-negative integer; ``path`` collects the keys up to it, innermost first."""

    def __init__(self, key: str, value: Any) -> None:
        super().__init__(key, value)
        self.key, self.value, self.path = key, value, [key]


def _with_integral_counts(node: Any, is_schema: bool) -> Any:
    """``node`` with integral float counts (``"maxItems": 3.0``) written as integers; a count that
    is no non-negative integer is a :class:`MalformedSchemaError` naming its pointer. Parts that need
    no change are returned as they are (the same objects). ``is_schema``: ``node`` stands where a
    schema does (elsewhere, say under a vendor keyword, counts are converted but not judged)."""
    try:
        return _integral_counts(node, is_schema)
    except _BadCount as exc:
        where = _ptr("", *reversed(exc.path))
        raise MalformedSchemaError(f"{exc.key} must be a non-negative integer at {where}, not {exc.value!r}") from None


def _integral_counts(node: Any, is_schema: bool) -> Any:
    # Runs over every compiled schema: pointers are built only for an error (see _BadCount).
    if isinstance(node, list):
        out_list = []
        for i, x in enumerate(node):
            try:
                out_list.append(_integral_counts(x, is_schema))
            except _BadCount as exc:
                exc.path.append(i)
                raise
        return node if all(x is y for x, y in zip(out_list, node)) else out_list
    if not isinstance(node, dict):
        return node
    out: dict = {}
    changed = False
    for key, value in node.items():
        new = value
        if key in DATA_KEYWORDS:
            pass
        elif key in _COUNT_KEYWORDS and not isinstance(value, (dict, list)):
            if isinstance(value, float) and value.is_integer():
                new = int(value)
            if is_schema and (isinstance(new, bool) or not isinstance(new, int) or new < 0):
                raise _BadCount(key, value)
        else:
            try:
                if key in _SCHEMA_MAPS and isinstance(value, dict) and is_schema:
                    mapped = {}
                    for name, sub in value.items():
                        try:
                            mapped[name] = _integral_counts(sub, True)
                        except _BadCount as exc:
                            exc.path.append(name)
                            raise
                    new = value if all(mapped[n] is value[n] for n in value) else mapped
                else:
                    new = _integral_counts(value, is_schema and key in _SCHEMA_VALUED)
            except _BadCount as exc:
                exc.path.append(key)
                raise
        changed = changed or new is not value
        out[key] = new
    return out if changed else node


def _without_ref_siblings(node: Any) -> Any:
    """A copy of a draft 3-7 document in which every ``$ref`` stands alone, as those drafts
    define it: its sibling validation keywords are dropped, and so is a sibling ``$id``/``id``
    (it must not change the base URI the ``$ref`` resolves against); annotations and the
    ``definitions`` that refs point into are kept."""
    if isinstance(node, list):
        return [_without_ref_siblings(x) for x in node]
    if not isinstance(node, dict):
        return node
    ref_only = isinstance(node.get("$ref"), str)
    return {
        k: (v if k in DATA_KEYWORDS else _without_ref_siblings(v))
        for k, v in node.items()
        if not ref_only or k == "$ref" or (k in ANNOTATIONS and k not in ("$id", "id"))
    }


def _without_unproductive_rules(rules: list[Node]) -> tuple[Node, ...] | None:
    """The rules with every call of an unproductive rule removed; None if rule 0 is unproductive.

    A rule is productive when it matches some finite text. A schema whose required property
    recurses into itself (``Foo`` requires ``child`` of type ``Foo``) gives a rule that is not:
    calls of it are dropped, so no mask ever leads into a value that cannot be finished. Trees
    share subtrees (they are DAGs), so every walk below is memoized by node identity.
    """
    productive: set[int] = set()
    # Nodes known to finish. A node that finishes keeps finishing as rules are found productive,
    # so these are shared by every check; "does not finish" may change and is not kept.
    finishes: set[int] = set()
    # Nodes found not to finish during the current rule's check (the productive set does not
    # change within one check; it grows between checks, so this is cleared before each).
    fails: set[int] = set()

    def can_finish(node: Node) -> bool:
        key = id(node)
        if key in finishes:
            return True
        if key in fails:
            return False
        t = type(node)
        if t is Call:
            result = node.rule in productive
        elif t is Chars:
            result = bool(node.ranges)
        elif t is Concat:
            result = True
            for n in node.items:
                # Characters (most items: literal text is one per character) are decided here.
                if n.ranges if type(n) is Chars else can_finish(n):
                    continue
                result = False
                break
        elif t is Alt:
            result = False
            for n in node.options:
                if can_finish(n):
                    result = True
                    break
        elif t is Repeat:
            result = node.min == 0 or can_finish(node.item)
        else:
            result = True  # Embed (never empty here) and anchors
        if result:
            finishes.add(key)
        else:
            fails.add(key)
        return result

    def rule_finishes(k: int) -> bool:
        fails.clear()
        return can_finish(rules[k])

    def callees(node: Node, out: set[int], seen: set[int]) -> set[int]:
        if id(node) in seen:
            return out
        seen.add(id(node))
        if isinstance(node, Call):
            out.add(node.rule)
        elif isinstance(node, Concat):
            for n in node.items:
                callees(n, out, seen)
        elif isinstance(node, Alt):
            for n in node.options:
                callees(n, out, seen)
        elif isinstance(node, Repeat):
            callees(node.item, out, seen)
        return out

    # A rule is numbered before its body is compiled, so its callees mostly come after it: a
    # sweep from the last rule to the first finds nearly all of them productive, each checked
    # once. A rule reused from a later one (a shared definition) or recursion may need a
    # second sweep; the call graph and its worklist are built only if sweeps stop helping.
    try:
        pending = list(range(len(rules) - 1, -1, -1))
        for _ in range(3):
            left = []
            for k in pending:
                if rule_finishes(k):
                    productive.add(k)
                else:
                    left.append(k)
            if not left:
                return tuple(rules)
            if len(left) == len(pending):
                break  # no progress: the rest may well be unproductive
            pending = left
        callers: list[set[int]] = [set() for _ in rules]
        for k, tree in enumerate(rules):
            for callee in callees(tree, set(), set()):
                callers[callee].add(k)
        pending = [k for k in range(len(rules)) if k not in productive]  # a worklist, not repeated sweeps
        while pending:
            k = pending.pop()
            if k not in productive and rule_finishes(k):
                productive.add(k)
                pending.extend(c for c in callers[k] if c not in productive)
        if 0 not in productive:
            return None
        if len(productive) == len(rules):
            return tuple(rules)
        nothing = Chars(())
        pruned: dict[int, Node] = {}

        def prune(node: Node) -> Node:
            done = pruned.get(id(node))
            if done is not None:
                return done
            if isinstance(node, Call):
                result = node if node.rule in productive else nothing
            elif isinstance(node, Concat):
                result = Concat(tuple(prune(n) for n in node.items))
            elif isinstance(node, Alt):
                result = Alt(tuple(prune(n) for n in node.options))
            elif isinstance(node, Repeat):
                result = Repeat(prune(node.item), node.min, node.max)
            else:
                result = node
            pruned[id(node)] = result
            return result

        out = tuple(prune(tree) if k in productive else nothing for k, tree in enumerate(rules))
        prune = None  # it too calls itself through its closure cell
        return out
    finally:
        # can_finish and callees call themselves through their closure cells: reference cycles
        # that would keep the sets above (and the rules) alive until a full garbage collection.
        can_finish = callees = None
