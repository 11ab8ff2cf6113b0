"""Object keywords of the JSON Schema compiler.

``properties``, ``required``, ``additionalProperties``, ``patternProperties``, ``propertyNames``,
``minProperties``/``maxProperties`` (counted over declared members), members in any order
(``property_order="any"``), and the keys of undeclared members. Holds the mixin
:class:`ObjectKeywords` and the helpers only it uses.

Imports go down only: this module may import :mod:`.keywords`, :mod:`.refs`, the automata modules
(:mod:`.strings`, :mod:`.numeric`, :mod:`.formats`, ``constrain.regex``), ``constrain.grammar`` and
``constrain.errors``; never :mod:`.compiler` nor another keyword family module (the methods of the
other families are reached through ``self``).
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidRegexError, InvalidSchemaError, MalformedSchemaError, UnsupportedRegexError
from ..grammar import AnyOrderObject
from ..regex import compile_regex
from ..regex.automaton import ByteDFA, Call, Embed
from ..regex.parser import Alt, Concat, Node, Repeat
from ..regex.product import intersect as intersection
from ..regex.setops import difference, is_empty, without_words
from . import strings
from .keywords import ANNOTATIONS, _dfa_of, _ptr
from .strings import EMPTY, literal, value_literal

#: Largest minProperties/maxProperties counted over optional members.
_MAX_COUNTED = 8

#: Objects with more members than this get one grammar rule per member (see ``_object``).
_INLINE_MEMBERS = 8


class ObjectKeywords:
    """Methods of :class:`~constrain.jsonschema.compiler.SchemaCompiler` for object schemas.

    Calls through ``self``: ``_new_rule``, ``_resolve``, ``unsupported``, ``value`` (compiler);
    ``_string_content`` (string_keywords). Compiler state it uses: ``_lazy_rules``, ``_rules``,
    ``colon``, ``options``, ``sep``, ``ws``.
    """

    def _object(self, schema: dict, base: str, ptr: str) -> Node:
        props = schema.get("properties", {})
        if not isinstance(props, dict):
            raise MalformedSchemaError(f"properties must be an object at {ptr or '/'}")
        required = schema.get("required", [])
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise MalformedSchemaError(f"required must be an array of strings at {ptr or '/'}")
        # Merged schemas may list a name twice (allOf, dependencies): it is still one member.
        required = list(dict.fromkeys(required))
        extra = schema.get("additionalProperties", True)
        forbidden = set(schema.get("$forbidden", []))
        for name in forbidden & set(required):
            raise InvalidSchemaError(f"property {name!r} is both required and forbidden (by not) at {ptr or '/'}")
        patterns = self._pattern_properties(schema, ptr)
        key_language = self._property_names(schema, base, ptr)
        if key_language is not None:
            # Declared names that propertyNames rejects can never appear.
            for name in set(props) | set(required):
                if not key_language.fullmatch(name.encode("utf-8")):
                    if name in required:
                        raise InvalidSchemaError(f"required property {name!r} fails propertyNames at {ptr or '/'}")
                    forbidden.add(name)
        members: list[tuple[str, Any, bool, str]] = []
        for name, sub in props.items():
            if name not in forbidden:
                matching = [p_sub for _, p_sub, dfa in patterns if dfa.fullmatch(name.encode("utf-8"))]
                members.append((name, {"allOf": [sub, *matching]} if matching else sub, name in required, _ptr(ptr, "properties", name)))
        for name in required:
            if name not in props:
                # Not declared: patternProperties, else additionalProperties, decide its schema.
                matching = [p_sub for _, p_sub, dfa in patterns if dfa.fullmatch(name.encode("utf-8"))]
                sub = {"allOf": matching} if matching else extra
                if sub is False:
                    raise InvalidSchemaError(f"required property {name!r} is not allowed by additionalProperties: false at {ptr or '/'}")
                members.append((name, sub, True, _ptr(ptr, "additionalProperties")))
        # Members whose schema is false can never appear: their names are forbidden, so that
        # additionalProperties does not let them in as undeclared keys either.
        never = {m[0] for m in members if m[1] is False and not m[2]}
        forbidden |= never
        members = [m for m in members if m[0] not in never]
        for name, sub, _, mptr in members:
            if sub is False:
                raise InvalidSchemaError(f"required property {name!r} has schema false at {mptr}")
        num_required = sum(1 for m in members if m[2])
        min_props = schema.get("minProperties", 0)
        max_props = schema.get("maxProperties")
        if max_props is not None and num_required > max_props:
            raise InvalidSchemaError(f"maxProperties {max_props} is below the {num_required} required properties at {ptr or '/'}")
        names = [m[0] for m in members] + sorted(forbidden - {m[0] for m in members})
        extra_member = self._extra_member(extra, patterns, names, base, ptr, key_language)
        allow_extra = extra_member is not None
        if extra_member is not None and members:
            # Its own rule: inlined, the automaton of "any key but the declared ones" would be
            # copied between every pair of declared members (thousands of states for 50 optional
            # properties); called, the object's automaton only counts positions.
            extra_rule = self._new_rule(f"additional member at {ptr or '/'}")
            self._rules[extra_rule] = extra_member
            extra_member = Call(extra_rule)
        # Counted extras: with every declared member required, min/maxProperties bound the number
        # of additional members exactly. Otherwise they are refused unless trivially satisfied.
        all_required = num_required == len(members)
        extra_min, extra_max = 0, None
        if all_required and allow_extra:
            extra_min = max(0, min_props - num_required)
            extra_max = None if max_props is None else max_props - num_required
            if extra_min > 1:
                # Two undeclared members may spell the same key (nothing keeps their keys apart),
                # and a JSON parser keeps one: only a minimum of one extra is sure to hold.
                self.unsupported("minProperties", ptr, "it needs several undeclared properties, whose keys could repeat")
                extra_min = 1
        # Otherwise declared members are counted in the automaton (up to _MAX_COUNTED), extras
        # are not: minProperties is then met by declared members alone (a sound subset), and
        # maxProperties is refused when extras may appear.
        count_min = min_props if (not all_required and min_props > num_required) else 0
        count_max = max_props if (not all_required and max_props is not None and len(members) > max_props) else None
        if count_min > _MAX_COUNTED:
            self.unsupported("minProperties", ptr, f"counting more than {_MAX_COUNTED} optional properties")
            count_min = 0
        if count_max is not None and (allow_extra or count_max > _MAX_COUNTED):
            self.unsupported("maxProperties", ptr, "fewer properties than may be present")
            count_max = None
        if not all_required and max_props is not None and allow_extra and len(members) <= max_props:
            self.unsupported("maxProperties", ptr, "additional properties are not counted")
        if min_props > len(members) and not allow_extra:
            raise InvalidSchemaError(f"minProperties {min_props} needs more properties than the schema allows at {ptr or '/'}")
        member_nodes = []
        for name, sub, req, mptr in members:
            try:
                value = self.value(sub, base, mptr)
            except MalformedSchemaError:
                raise  # a wrong schema is an error even where an unsatisfiable part is dropped
            except InvalidSchemaError:
                if req:
                    raise
                continue  # an optional property no value satisfies is simply never present
            member_nodes.append((Concat((value_literal(name), self.colon, value)), req))
        if len(member_nodes) > _INLINE_MEMBERS:
            # Many members: each is its own rule, so the object's automaton only tracks which
            # members may still come (the key tries of the remaining members are no longer
            # multiplied into it); the grammar automaton follows the candidate calls lazily.
            for i, (node, req) in enumerate(member_nodes):
                rule = self._new_rule(f"member {i} at {ptr or '/'}")
                self._rules[rule] = node
                member_nodes[i] = (Call(rule), req)
        # A[i]: members from i on, none emitted yet; B[i]: the same after at least one member.
        if extra_member is not None and all_required:
            cap = self.options.max_repeat
            hi = None if extra_max is None else min(extra_max, cap)
            if members:
                b_next: Node = Repeat(Concat((self.sep, extra_member)), extra_min, hi)
                a_next: Node = EMPTY  # unused: the first declared member is required
            else:
                b_next = EMPTY
                rest = Repeat(Concat((self.sep, extra_member)), max(0, extra_min - 1), None if hi is None else max(0, hi - 1))
                a_next = EMPTY if hi == 0 else Concat((extra_member, rest))
                if extra_min == 0 and hi != 0:
                    a_next = Repeat(a_next, 0, 1)
        elif extra_member is not None:
            b_next = Repeat(Concat((self.sep, extra_member)), 0, None)
            a_next = Repeat(Concat((extra_member, b_next)), 0, 1)
        else:
            b_next = EMPTY
            a_next = EMPTY
        counted_extras = extra_member is not None and all_required and (extra_min > 0 or extra_max is not None)
        if (self.options.property_order == "any" and len(member_nodes) <= self.options.any_order_max
                and (len(member_nodes) >= 2 or (member_nodes and extra_member is not None))
                and not counted_extras):
            return self._members_any_order(member_nodes, extra_member, count_min, count_max, ptr)
        if count_min or count_max is not None:
            a_next = self._counted_members(member_nodes, a_next, b_next, count_min, count_max, ptr)
        else:
            for node, req in reversed(member_nodes):
                with_it_a = Concat((node, b_next))
                with_it_b = Concat((self.sep, node, b_next))
                if req:
                    a_next, b_next = with_it_a, with_it_b
                else:
                    a_next, b_next = Alt((with_it_a, a_next)), Alt((with_it_b, b_next))
        return Concat((literal("{"), self.ws, a_next, self.ws, literal("}")))

    def _members_any_order(self, member_nodes: list[tuple[Node, bool]], extra_member: Node | None,
                           count_min: int, count_max: int | None, ptr: str) -> Node:
        """The whole object, declared members in any order, each at most once, additional ones
        anywhere between: a rule the grammar automaton runs itself (see
        :class:`~constrain.grammar.AnyOrderObject`), building only the sets of members seen that a
        parse reaches (there are ``2**n``)."""
        calls: list[Call] = []
        for i, (node, _) in enumerate(member_nodes):
            if not isinstance(node, Call):
                rule = self._new_rule(f"member {i} at {ptr or '/'}")
                self._rules[rule] = node
                node = Call(rule)
            calls.append(node)
        if extra_member is not None and not isinstance(extra_member, Call):
            rule = self._new_rule(f"additional member at {ptr or '/'}")
            self._rules[rule] = extra_member
            extra_member = Call(rule)
        required = frozenset(i for i, (_, req) in enumerate(member_nodes) if req)
        if (count_max is not None and len(required) > count_max) or count_min > len(calls):  # extras are not counted
            raise InvalidSchemaError(f"no set of properties satisfies the object schema at {ptr or '/'}")
        # The tree: a superset language with the same characters and calls (for byte classes and
        # the productive-rule pass), required members first so that it is unproductive exactly
        # when one of them is.
        any_member = Alt(tuple(calls) + ((extra_member,) if extra_member is not None else ()))
        more = Repeat(Concat((self.sep, any_member)), 0, None)
        firsts: list[Node] = []
        for i in sorted(required):
            firsts.extend((self.sep, calls[i]) if firsts else (calls[i],))
        body: Node = Concat(tuple(firsts) + (more,)) if firsts else Repeat(Concat((any_member, more)), 0, 1)
        rule = self._new_rule(f"object members in any order at {ptr or '/'}")
        self._rules[rule] = Concat((literal("{"), self.ws, body, self.ws, literal("}")))
        self._lazy_rules[rule] = AnyOrderObject(
            members=tuple(c.rule for c in calls), required=required,
            extra=None if extra_member is None else extra_member.rule,  # type: ignore[union-attr]
            whitespace=self.options.whitespace != "compact", count_min=count_min, count_max=count_max)
        return Call(rule)

    def _counted_members(self, member_nodes: list[tuple[Node, bool]], tail_first: Node, tail_more: Node,
                         count_min: int, count_max: int | None, ptr: str) -> Node:
        """Declared members in order with their number in ``count_min..count_max``.

        ``N(i, c)``: members from ``i`` on after ``c`` were emitted (``c`` capped at the largest
        bound that matters). ``tail_first``/``tail_more`` end the object after none/some members.
        """
        cap = count_max if count_max is not None else count_min
        n = len(member_nodes)
        memo: dict[tuple[int, int], Node | None] = {}
        for i in range(n, -1, -1):
            for c in range(cap + 1):
                if i == n:
                    memo[(i, c)] = (tail_first if c == 0 else tail_more) if c >= count_min else None
                    continue
                node, req = member_nodes[i]
                options = []
                after = c + 1 if count_max is not None else min(c + 1, cap)
                if after <= cap and memo[(i + 1, after)] is not None:
                    options.append(Concat(((self.sep,) if c else ()) + (node, memo[(i + 1, after)])))
                if not req and memo[(i + 1, c)] is not None:
                    options.append(memo[(i + 1, c)])
                memo[(i, c)] = None if not options else options[0] if len(options) == 1 else Alt(tuple(options))
        start = memo[(0, 0)]
        if start is None:
            raise InvalidSchemaError(f"no set of properties satisfies minProperties/maxProperties at {ptr or '/'}")
        return start

    def _pattern_properties(self, schema: dict, ptr: str) -> list[tuple[str, Any, ByteDFA]]:
        """(pattern, schema, DFA of the names it matches) for each ``patternProperties`` entry."""
        out = []
        pattern_props = schema.get("patternProperties", {})
        if not isinstance(pattern_props, dict):
            raise MalformedSchemaError(f"patternProperties must be an object at {ptr or '/'}")
        for pattern, sub in pattern_props.items():
            try:
                out.append((pattern, sub, compile_regex(pattern, search=True, portable=True)))
            except UnsupportedRegexError as exc:
                self.unsupported("patternProperties", ptr, str(exc))
            except InvalidRegexError as exc:
                raise InvalidSchemaError(f"invalid patternProperties pattern at {ptr or '/'}: {exc}") from None
        return out

    def _property_names(self, schema: dict, base: str, ptr: str) -> ByteDFA | None:
        """The decoded key language ``propertyNames`` allows (None: any key).

        Supported: string keywords (``pattern``, ``minLength``, ``maxLength``, ``format``, ``enum``,
        ``const``, ``type: string``), ``true`` and ``false``; other forms are refused.
        """
        if "propertyNames" not in schema:
            return None
        names_schema, _ = self._resolve(schema["propertyNames"], base, ptr)
        pptr = _ptr(ptr, "propertyNames")
        if names_schema is True:
            return None
        if names_schema is False:
            return compile_regex("[]")  # the empty language: no key at all
        if not isinstance(names_schema, dict):
            raise MalformedSchemaError(f"propertyNames must hold a schema at {ptr or '/'}")
        allowed = {"pattern", "minLength", "maxLength", "format", "enum", "const", "type"}
        keys = set(names_schema) - ANNOTATIONS
        if keys - allowed or names_schema.get("type", "string") != "string":
            self.unsupported("propertyNames", ptr, "only string keywords are supported in it")
            return None
        content = self._string_content(names_schema, pptr) or compile_regex("[^]*")
        min_len, max_len = names_schema.get("minLength", 0), names_schema.get("maxLength")
        if min_len or max_len is not None:
            content = intersection(content, compile_regex("[^]{%d,%s}" % (min_len, "" if max_len is None else max_len)))
        values = [names_schema["const"]] if "const" in names_schema else names_schema.get("enum")
        if values is not None:
            texts = [v for v in values if isinstance(v, str)]
            if not texts:
                return compile_regex("[]")
            content = intersection(content, _dfa_of(Alt(tuple(literal(t) for t in texts)) if len(texts) > 1 else literal(texts[0])))
        return content

    def _extra_member(
        self, extra: Any, patterns: list, names: list[str], base: str, ptr: str, key_language: ByteDFA | None = None
    ) -> Node | None:
        """``key: value`` for the undeclared properties, or None when none is allowed.

        Keys never spell a declared (or forbidden) name. A key matching a ``patternProperties``
        pattern takes that pattern's schema; others take ``additionalProperties``. Patterns must
        not overlap on undeclared names (a key in two of them would need both schemas): such
        schemas are refused.
        """
        if not patterns and key_language is None:
            if extra is False:
                return None
            try:
                extra_value = self.value(extra, base, _ptr(ptr, "additionalProperties"))
            except MalformedSchemaError:
                raise  # a wrong schema is an error even where an unsatisfiable part is dropped
            except InvalidSchemaError:
                return None  # no value satisfies it: no undeclared key is allowed
            return Concat((_key_excluding(names), self.colon, extra_value))
        # Decoded key languages: each pattern's names, and the rest, all minus the declared names
        # and within propertyNames.
        any_key = key_language if key_language is not None else compile_regex("[^]*")
        declared = _dfa_of(Alt(tuple(literal(n) for n in names))) if len(names) > 1 else (_dfa_of(literal(names[0])) if names else None)
        regions: list[tuple[ByteDFA, Any, str]] = []
        rest = any_key
        for pattern, sub, dfa in patterns:
            region = dfa if declared is None else difference(dfa, declared)
            if key_language is not None:
                region = intersection(region, key_language)
            for other, _, _ in regions:
                if not is_empty(intersection(region, other)):
                    self.unsupported("patternProperties", ptr, "two patterns match the same undeclared names")
            regions.append((region, sub, _ptr(ptr, "patternProperties", pattern)))
            rest = difference(rest, dfa)
        if extra is not False:
            regions.append((rest if declared is None else difference(rest, declared), extra, _ptr(ptr, "additionalProperties")))
        options = []
        for content, sub, sptr in regions:
            if is_empty(content) or sub is False:
                continue
            try:
                member_value = self.value(sub, base, sptr)
            except MalformedSchemaError:
                raise  # a wrong schema is an error even where an unsatisfiable part is dropped
            except InvalidSchemaError:
                continue  # no value satisfies it (say a merged allOf of true and false): no such key
            options.append(Concat((Embed(strings.escaped_dfa(content)), self.colon, member_value)))
        if not options:
            return None
        return options[0] if len(options) == 1 else Alt(tuple(options))


_KEY_CACHE: dict[str, ByteDFA] = {}
# Key text with raw characters and the escapes that decode to control or non-ASCII characters.
_ESCAPING_KEY = (
    r'"(?:[^"\\\x00-\x1f]|\\[bfnrt%s]|\\u00(?:[01][0-9a-fA-F]|7[fF])'
    r"|\\u(?:00[89a-fA-F][0-9a-fA-F]|0[1-9a-fA-F][0-9a-fA-F]{2}|[1-9a-cA-Ce-fE-F][0-9a-fA-F]{3}|[dD][0-7][0-9a-fA-F]{2})"
    r'|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})*"'
)
_RAW_KEY = r'"[^"\\\x00-\x1f]*"'


def _key_excluding(names: list[str]) -> Node:
    """A JSON string key that cannot decode to any of ``names`` (the declared properties).

    When every name is printable ASCII, keys may also hold escapes of control and non-ASCII
    characters (``json.dumps`` writes them): such a key decodes to a string outside ASCII-printable
    and so cannot equal a name, and raw spellings of the names are subtracted. Otherwise only raw
    characters are allowed in extra keys (a sound restriction).
    """
    printable = all(all(0x20 <= ord(ch) < 0x7F for ch in n) for n in names)
    # \" \\ \/ decode to printable characters: allowed when no name holds that character.
    short = "".join(esc for ch, esc in (('"', '"'), ("\\", "\\\\"), ("/", "/")) if not any(ch in n for n in names))
    pattern = _ESCAPING_KEY % short if printable else _RAW_KEY
    keys = _KEY_CACHE.get(pattern)
    if keys is None:
        keys = _KEY_CACHE[pattern] = compile_regex(pattern)
    if names:
        spellings = sorted({json.dumps(n, ensure_ascii=False) for n in names} | {json.dumps(n) for n in names})
        keys = without_words(keys, {t.encode("utf-8") for t in spellings})
    return Embed(keys)
