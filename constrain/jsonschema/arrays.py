"""Array keywords of the JSON Schema compiler.

``items``/``prefixItems`` (and the draft 4-7 tuple form with ``additionalItems``),
``minItems``/``maxItems``, ``contains`` and ``uniqueItems``. Holds the mixin :class:`ArrayKeywords`.

Imports go down only: this module may import :mod:`.keywords`, :mod:`.refs`, the automata modules
(:mod:`.strings`, :mod:`.numeric`, :mod:`.formats`, ``constrain.regex``), ``constrain.grammar`` and
``constrain.errors``; never :mod:`.compiler` nor another keyword family module (the methods of the
other families are reached through ``self``).
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidSchemaError, MalformedSchemaError, UnsupportedSchemaError
from ..regex.parser import Alt, Concat, Node, Repeat
from .keywords import _item_schemas, _ptr
from .strings import EMPTY, literal, value_literal

#: uniqueItems is enforced for items from a finite set of at most this many values.
_MAX_UNIQUE_DOMAIN = 8


class ArrayKeywords:
    """Methods of :class:`~constrain.jsonschema.compiler.SchemaCompiler` for array schemas.

    Calls through ``self``: ``_strictly``, ``unsupported``, ``value`` (compiler); ``_as_dict``,
    ``_branch_values``, ``_merge`` (combinators); ``_valid_values`` (enums). Compiler state it uses:
    ``options``, ``sep``, ``ws``.
    """

    def _array(self, schema: dict, base: str, ptr: str) -> Node:
        prefix, items = _item_schemas(schema, ptr)
        items_key = "additionalItems" if isinstance(schema.get("items"), list) else "items"
        min_items = schema.get("minItems", 0)
        max_items = schema.get("maxItems")
        for key, v in (("minItems", min_items), ("maxItems", max_items)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                raise MalformedSchemaError(f"{key} must be a non-negative integer at {ptr or '/'}")
        if max_items is not None and min_items > max_items:
            raise InvalidSchemaError(f"minItems {min_items} is above maxItems {max_items} at {ptr or '/'}")
        if items is False:
            max_items = len(prefix) if max_items is None else min(max_items, len(prefix))
            if min_items > max_items:
                raise InvalidSchemaError(f"minItems {min_items} needs more items than the schema allows at {ptr or '/'}")
        if schema.get("uniqueItems") is True and (max_items is None or max_items > 1):
            domain = None if prefix else self._finite_domain(items, base, _ptr(ptr, items_key))
            if domain is not None:
                return self._unique_array(domain, min_items, max_items, ptr)
            self.unsupported("uniqueItems", ptr, "only items from a finite set of at most "
                             f"{_MAX_UNIQUE_DOMAIN} values (enum, const, boolean, null) are enforced")
        if "contains" in schema:
            node = self._contains(schema, items, prefix, min_items, max_items, base, ptr)
            if node is not None:
                return node
        cap = self.options.max_repeat
        if min_items > cap:
            self.unsupported("minItems", ptr, f"arrays longer than max_repeat={cap} are not generated")
            min_items = cap
        if max_items is not None and max_items > cap:
            max_items = cap
        # Positions no value fits end the array before them (arrays need not reach them).
        elements: list[Node] = []
        for i, p in enumerate(prefix):
            if max_items is not None and i >= max_items:
                break  # never reached
            try:
                elements.append(self.value(p, base, _ptr(ptr, "prefixItems" if items_key == "items" else "items", i)))
            except MalformedSchemaError:
                raise
            except InvalidSchemaError:
                if min_items > i:
                    raise
                max_items = i
                break
        k = len(elements)
        rest = None
        if items is not False and k == len(prefix) and (max_items is None or max_items > k):
            try:
                rest = self.value(items, base, _ptr(ptr, items_key))
            except MalformedSchemaError:
                raise
            except InvalidSchemaError:
                if min_items > k:
                    raise
        # tail(i): the elements after the first i, each preceded by a separator.
        upper = max_items
        if rest is None:
            upper = k if upper is None else min(upper, k)

        def tail(i: int) -> Node:
            if upper is not None and i >= upper:
                return EMPTY
            if i >= k:
                lo = max(0, min_items - i)
                hi = None if upper is None else upper - i
                return Repeat(Concat((self.sep, rest)), lo, hi)
            nxt = Concat((self.sep, elements[i], tail(i + 1)))
            return nxt if i < min_items else Repeat(nxt, 0, 1)

        if upper == 0:
            body: Node = EMPTY
        else:
            first = elements[0] if k else rest
            body = Concat((first, tail(1)))
            if min_items == 0:
                body = Repeat(body, 0, 1)
        tail = None  # it calls itself through its closure cell: a reference cycle holding the compiler
        return Concat((literal("["), self.ws, body, self.ws, literal("]")))

    def _contains(self, schema: dict, items: Any, prefix: list, min_items: int, max_items: int | None,
                  base: str, ptr: str) -> Node | None:
        """``contains: C`` (with ``items: I``): split at the first item satisfying C.

        Items before it satisfy I and not C, that item I and C, later ones I: exact, since every
        array with a match splits one way only. Needs ``not C`` in a supported form (see
        ``not``), no ``prefixItems`` and item bounds up to 16; refused otherwise (None in lenient
        mode: the keyword is then dropped).
        """
        limit = 16
        if prefix or min_items > limit or (max_items is not None and max_items > limit):
            self.unsupported("contains", ptr, f"only without prefixItems and with minItems/maxItems up to {limit}")
            return None
        cptr = _ptr(ptr, "contains")
        item = self._as_dict(items, _ptr(ptr, "items"), base, 0) if items is not True else {}
        contains = self._as_dict(schema["contains"], cptr, base, 0)
        try:
            miss = self._strictly(lambda: self._branch_values([(self._merge(item, {"not": contains}, cptr), cptr)], base))
            hit = self._strictly(lambda: self._branch_values([(self._merge(item, contains, cptr), cptr)], base))
        except UnsupportedSchemaError as exc:
            self.unsupported("contains", ptr, f"its negation cannot be enforced ({exc})")
            return None
        if not hit:
            raise InvalidSchemaError(f"no item satisfies both items and contains at {ptr or '/'}")
        any_item = self.value(items, base, _ptr(ptr, "items"))
        more = Concat((self.sep, any_item))
        options: list[Node] = []
        sep = self.sep

        def head(m: int, unbounded: bool) -> Node:
            # m items that miss (at least m when unbounded), then the first match.
            if not miss:
                return hit[0]
            if m == 0:
                return Concat((Repeat(Concat((miss[0], sep)), 0, None), hit[0])) if unbounded else hit[0]
            parts: list[Node] = [miss[0]] + [Concat((sep, miss[0]))] * (m - 1)
            if unbounded:
                parts.append(Repeat(Concat((sep, miss[0])), 0, None))
            return Concat((*parts, sep, hit[0]))

        options: list[Node] = []
        top = (max(min_items, 1) - 1 if max_items is None else max_items - 1) if miss else 0
        for m in range(0, top + 1):
            lo_rest = max(0, min_items - 1 - m)
            hi_rest = None if max_items is None else max_items - 1 - m
            if hi_rest is not None and hi_rest < lo_rest:
                continue
            options.append(Concat((head(m, max_items is None and m == top), Repeat(more, lo_rest, hi_rest))))
        if not options:
            raise InvalidSchemaError(f"no array satisfies contains with minItems/maxItems at {ptr or '/'}")
        body = options[0] if len(options) == 1 else Alt(tuple(options))
        return Concat((literal("["), self.ws, body, self.ws, literal("]")))

    def _finite_domain(self, items: Any, base: str, ptr: str) -> list[Any] | None:
        """The distinct values an item schema allows, when they are few (enum, const, boolean, null)."""
        values = self._valid_values(items, base, ptr)
        return values if values is not None and len(values) <= _MAX_UNIQUE_DOMAIN else None

    def _unique_array(self, domain: list[Any], min_items: int, max_items: int | None, ptr: str) -> Node:
        """Arrays of distinct values from ``domain``: the automaton remembers which were used."""
        texts = [value_literal(v) for v in domain]
        upper = len(domain) if max_items is None else min(max_items, len(domain))
        if min_items > upper:
            raise InvalidSchemaError(f"minItems {min_items} needs more distinct items than the {len(domain)} allowed at {ptr or '/'}")
        memo: dict[frozenset[int], Node] = {}

        def after(used: frozenset[int]) -> Node:
            # What may follow once the items in ``used`` were written (at least one).
            if used not in memo:
                options: list[Node] = [EMPTY] if len(used) >= min_items else []
                if len(used) < upper:
                    options += [Concat((self.sep, texts[i], after(used | {i}))) for i in range(len(domain)) if i not in used]
                memo[used] = options[0] if len(options) == 1 else Alt(tuple(options))
            return memo[used]

        firsts = [Concat((texts[i], after(frozenset({i})))) for i in range(len(domain))] if upper else []
        if min_items == 0:
            firsts.append(EMPTY)
        body = firsts[0] if len(firsts) == 1 else Alt(tuple(firsts))
        return Concat((literal("["), self.ws, body, self.ws, literal("]")))
