"""Tools (function calling) and reasoning as token constraints, and the call syntax's prompt text.

A chat-completions request may carry ``tools``, ``tool_choice``, ``parallel_tool_calls`` and ask
for the reasoning to be split off. :func:`build_output_constraint` turns all of that, together
with the ``response_format``, into ONE :class:`~constrain.compiler.CompiledConstraint`: a grammar
(see :mod:`constrain.grammar`) whose start rule strings together literal markers, free-text
automata and calls of the JSON rules compiled from each function's ``parameters`` schema. The
matcher, masks, rollback and jump-forward therefore work unchanged.

Call syntax (Hermes / Qwen style; configurable with :class:`ToolCallFormat`)::

    <tool_call>
    {"name": "get_weather", "arguments": {"location": "Paris"}}
    </tool_call>

Several calls (``parallel_tool_calls``) follow each other, separated by whitespace (``"\\n"`` when
rendered). Inside the wrapper, whitespace around the JSON object is free; the object is
``{"name": <the exact name>, "arguments": <object valid under the function's parameters>}`` with
its keys in that order, and JSON whitespace as the ``whitespace`` option says.

Reasoning (``parse_reasoning=True``, markers configurable with :class:`ReasoningFormat`): the output
may start with ``<think>`` free text ``</think>``; the free text cannot contain ``</think>`` (the first
one closes the block, so reasoning can never "break out" into unconstrained content), then optional
whitespace, then the constrained part.

Semantics per ``tool_choice`` (the constrained part):

* ``"none"`` (the default without tools): the content follows ``response_format``; with a text
  format and no reasoning split there is nothing to enforce (:func:`build_output_constraint`
  returns None; with reasoning too, since an unconstrained output needs no enforcing).
* ``"required"``: optional whitespace, then one call of any listed tool, or several when
  ``parallel_tool_calls``; nothing else (no content, whatever ``response_format`` says).
* ``{"type": "function", "function": {"name": N}}``: exactly one call of N (never several, even
  with ``parallel_tool_calls``).
* ``"auto"`` (the default with tools): with a text format, free text that does not contain the
  start marker, optionally followed by calls: the first start marker starts the calls, and from
  there on the rest must be valid calls (and optional trailing whitespace). With a ``json_schema``
  / ``json_object`` / ``regex`` format: EITHER the content (the format's value, exactly as
  :func:`constrain.compile` would enforce it; a regex content additionally may not contain the
  start marker) OR calls — never both.

Free text (content before calls, reasoning) is any valid UTF-8 text apart from the marker rules.
Whitespace guard: like JSON constraints, the whole output is subject to the runaway guard
(``max_whitespace``, default 32 consecutive blank bytes), free text and reasoning included.

:func:`parse_output` splits a finished output into reasoning, content and tool calls, exactly
along the lines the constraint draws (round trip). :func:`tools_system_prompt` and
:func:`render_tool_calls` give the prompt text that teaches a model the syntax.

Why the prompt text lives here, beside the constraint, and not in the request layer
(:mod:`constrain.chat`): it is the same syntax written the other way. :func:`render_tool_calls` is
the inverse of :func:`parse_output` (same markers, same ``{"name", "arguments"}`` object),
:func:`tools_system_prompt` reads ``tools``/``tool_choice`` with the same validation as
:func:`build_output_constraint` and states the same rules, and :func:`new_call_id` is what
:func:`parse_output` assigns. Keeping them in one module means a change of syntax is made in one
place, and the request layer needs none of this module's private helpers.

Imports: the engine below it (``compiler``, ``grammar``, ``jsonschema``, ``regex``, ``vocab``,
``errors``); never the request layer (``chat``).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .compiler import (
    DEFAULT_MAX_WHITESPACE,
    CompiledConstraint,
    ConstraintCache,
    _check_keys,
    _schema_of,
    format_kind,
)
from .compiler import compile as compile_format
from .errors import (
    ConstraintError,
    InvalidRegexError,
    InvalidRequestError,
    InvalidResponseFormatError,
)
from .grammar import DEFAULT_MAX_DEPTH, Grammar, GrammarAutomaton, LazyRule
from .jsonschema.compiler import JsonOptions, SchemaCompiler
from .jsonschema.strings import literal, value_literal, whitespace
from .regex import compile_regex, regex_to_dfa
from .regex.automaton import (
    DEFAULT_MAX_DFA_STATES,
    DEFAULT_MAX_NFA_STATES,
    ByteDFA,
    Call,
    Embed,
)
from .regex.parser import ANY, Alt, Anchor, Chars, Concat, Node, Repeat
from .regex.product import intersect
from .regex.setops import difference, is_empty
from .vocab import Vocabulary

__all__ = [
    "ParsedOutput",
    "ReasoningFormat",
    "ToolCallFormat",
    "build_output_constraint",
    "parse_output",
    "new_call_id",
    "render_tool_calls",
    "tools_system_prompt",
]

_JSON_WS = " \t\n\r"
_EMPTY = Concat(())
#: Any run of blanks between the wrapper's pieces (bounded by the whitespace guard).
_WS = whitespace("default")


@dataclass(frozen=True)
class ToolCallFormat:
    """The markers around each tool call.

    ``start`` must be non-empty and must not start with a blank; ``end`` may be empty (formats
    where a call ends with its JSON object).
    """

    start: str = "<tool_call>"
    end: str = "</tool_call>"


@dataclass(frozen=True)
class ReasoningFormat:
    """The markers around the reasoning block.

    ``start=""`` means the prompt already opened the block (a template that prefills ``<think>``):
    the output then MUST begin with reasoning and its end marker. ``end`` must be non-empty.
    """

    start: str = "<think>"
    end: str = "</think>"


@dataclass
class ParsedOutput:
    """A finished output split into its chat-completions message fields."""

    content: str | None
    reasoning_content: str | None = None
    tool_calls: list[dict] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Request parts: tools, tool_choice, options
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tool:
    name: str
    parameters: Any  # a JSON Schema (dict or bool), or None: any object
    field: str  # where it sits in the request, for messages


def _normalize_tools(tools: Sequence[Mapping] | None) -> list[_Tool]:
    if tools is None:
        return []
    if isinstance(tools, (str, bytes, Mapping)) or not isinstance(tools, Sequence):
        raise InvalidRequestError("must be an array of tools", "tools")
    out: list[_Tool] = []
    seen: set[str] = set()
    for i, tool in enumerate(tools):
        where = f"tools[{i}]"
        if not isinstance(tool, Mapping):
            raise InvalidRequestError("must be an object", where)
        kind = tool.get("type", "function")
        if kind != "function":
            raise InvalidRequestError(f"unsupported tool type {kind!r}; only 'function' tools are supported", where + ".type")
        if "function" in tool:
            fn = tool["function"]
            where += ".function"
            if not isinstance(fn, Mapping):
                raise InvalidRequestError("must be an object", where)
        else:  # the flat form {"type": "function", "name": ..., "parameters": ...}
            fn = tool
        name = fn.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidRequestError("must be a non-empty string", where + ".name")
        if name in seen:
            raise InvalidRequestError(f"duplicate function name {name!r}", where + ".name")
        seen.add(name)
        params = fn.get("parameters")
        if params is not None and not isinstance(params, (Mapping, bool)):
            raise InvalidRequestError("must be a JSON Schema object", where + ".parameters")
        if params is False:
            raise InvalidRequestError("the schema false admits no arguments at all", where + ".parameters")
        out.append(_Tool(name, None if params is True else params, where))
    return out


def _normalize_choice(tool_choice: str | Mapping | None, tools: list[_Tool]) -> tuple[str, _Tool | None]:
    """("none" | "auto" | "required" | "named", the named tool)."""
    if tool_choice is None:
        return ("auto" if tools else "none"), None
    if isinstance(tool_choice, str):
        if tool_choice not in ("none", "auto", "required"):
            raise InvalidRequestError(
                f"unknown value {tool_choice!r}; expected 'none', 'auto', 'required' or a function", "tool_choice"
            )
        if tool_choice == "required" and not tools:
            raise InvalidRequestError("'required' needs at least one tool in 'tools'", "tool_choice")
        if tool_choice == "auto" and not tools:
            return "none", None
        return tool_choice, None
    if not isinstance(tool_choice, Mapping):
        raise InvalidRequestError("must be a string or an object", "tool_choice")
    if tool_choice.get("type", "function") != "function":
        raise InvalidRequestError("only {'type': 'function', ...} is supported", "tool_choice.type")
    fn = tool_choice.get("function", tool_choice)
    name = fn.get("name") if isinstance(fn, Mapping) else None
    if not isinstance(name, str):
        raise InvalidRequestError("must name a function", "tool_choice.function.name")
    for tool in tools:
        if tool.name == name:
            return "named", tool
    raise InvalidRequestError(f"function {name!r} is not among the request's tools", "tool_choice.function.name")


_OPTION_DEFAULTS: dict[str, Any] = {
    "max_nfa_states": DEFAULT_MAX_NFA_STATES,
    "max_dfa_states": DEFAULT_MAX_DFA_STATES,
    "lenient": False,
    "whitespace": "default",
    "max_whitespace": DEFAULT_MAX_WHITESPACE,
    "max_depth": DEFAULT_MAX_DEPTH,
    "cache": True,
}


def _options(compile_options: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(compile_options) - set(_OPTION_DEFAULTS))
    if unknown:
        raise TypeError(f"build_output_constraint() got unexpected option(s) {unknown}; known: {sorted(_OPTION_DEFAULTS)}")
    return {**_OPTION_DEFAULTS, **compile_options}


def _check_formats(tool_format: ToolCallFormat, reasoning_format: ReasoningFormat) -> None:
    if not isinstance(tool_format, ToolCallFormat) or not isinstance(reasoning_format, ReasoningFormat):
        raise TypeError("tool_format must be a ToolCallFormat and reasoning_format a ReasoningFormat")
    if not tool_format.start or tool_format.start[0] in _JSON_WS:
        raise ConstraintError("ToolCallFormat.start must be non-empty and must not start with whitespace")
    if not reasoning_format.end:
        raise ConstraintError("ReasoningFormat.end must be non-empty")
    if reasoning_format.start and reasoning_format.start[0] in _JSON_WS:
        raise ConstraintError("ReasoningFormat.start must not start with whitespace")
    rs, ts = reasoning_format.start, tool_format.start
    if rs and (rs.startswith(ts) or ts.startswith(rs)):
        raise ConstraintError("the reasoning and tool-call start markers must not be prefixes of each other")


def _is_text_format(response_format: Any) -> bool:
    if response_format is None:
        return True
    if isinstance(response_format, Mapping) and response_format.get("type") == "text":
        _check_keys(response_format, set())
        return True
    return False


# --------------------------------------------------------------------------------------------
# Byte automata for free text around literal markers
# --------------------------------------------------------------------------------------------


def _marker_dfa(marker: bytes, mode: str) -> ByteDFA:
    """Byte DFAs built from the Knuth-Morris-Pratt automaton of ``marker`` (non-empty).

    ``mode``: "avoid" — strings that do not contain ``marker``; "first" — strings whose first
    occurrence of ``marker`` is at their very end; "prefix" — strings that start with ``marker``.
    """
    m = len(marker)
    symbols = sorted(set(marker))
    byte_class = np.zeros(256, dtype=np.int32)
    for k, b in enumerate(symbols):
        byte_class[b] = k + 1
    other = next((b for b in range(256) if b not in set(symbols)), None)
    reps = [other] + symbols  # a representative byte per class (None: class 0 is empty)
    # Sedgewick's KMP DFA: delta[j][b] = matched prefix length after reading b in state j.
    delta = [[0] * 256 for _ in range(m)]
    delta[0][marker[0]] = 1
    x = 0
    for j in range(1, m):
        delta[j] = list(delta[x])
        delta[j][marker[j]] = j + 1
        x = delta[x][marker[j]]
    n_cls = len(reps)
    table = np.full((m + 1, n_cls), -1, dtype=np.int32)
    accepting = np.zeros(m + 1, dtype=bool)
    for j in range(m):
        for c, b in enumerate(reps):
            if b is None:
                continue
            t = delta[j][b]
            if mode == "prefix":
                table[j, c] = j + 1 if t == j + 1 else -1
            elif mode == "avoid":
                table[j, c] = t if t < m else -1
            else:
                table[j, c] = t
    if mode == "avoid":
        accepting[:m] = True
        table = table[:m]
        accepting = accepting[:m]
    elif mode == "first":
        accepting[m] = True
    else:  # prefix: then anything
        accepting[m] = True
        table[m, :] = m
    return ByteDFA(byte_class=byte_class, table=table, accepting=accepting, start=0)


_UTF8_TEXT: list[ByteDFA] = []


def _free_text(marker: bytes, mode: str) -> ByteDFA:
    """Valid UTF-8 text that avoids ``marker`` ("avoid") or ends at its first occurrence ("first")."""
    if not _UTF8_TEXT:
        _UTF8_TEXT.append(regex_to_dfa(Repeat(Chars(ANY), 0, None)))
    return intersect(_marker_dfa(marker, mode), _UTF8_TEXT[0])


# --------------------------------------------------------------------------------------------
# Grammar composition
# --------------------------------------------------------------------------------------------


def _relocate(node: Node, offset: int, memo: dict[int, Node]) -> Node:
    """``node`` with every ``Call(k)`` turned into ``Call(k + offset)``; shared subtrees stay shared."""
    done = memo.get(id(node))
    if done is not None:
        return done
    if isinstance(node, Call):
        out: Node = Call(node.rule + offset)
    elif isinstance(node, Concat):
        items = tuple(_relocate(x, offset, memo) for x in node.items)
        out = node if all(a is b for a, b in zip(items, node.items)) else Concat(items)
    elif isinstance(node, Alt):
        options = tuple(_relocate(x, offset, memo) for x in node.options)
        out = node if all(a is b for a, b in zip(options, node.options)) else Alt(options)
    elif isinstance(node, Repeat):
        item = _relocate(node.item, offset, memo)
        out = node if item is node.item else Repeat(item, node.min, node.max)
    elif isinstance(node, (Chars, Anchor, Embed)):
        out = node
    else:  # pragma: no cover - no other node types exist
        raise TypeError(f"unknown grammar node {node!r}")
    memo[id(node)] = out
    return out


class _Builder:
    """Rules of a composed grammar; rule 0 (the output) is set last."""

    def __init__(self) -> None:
        self.rules: list[Node | None] = [None]
        self.names: list[str] = ["output"]
        self.lazy_rules: list[tuple[int, LazyRule]] = []

    def add_rule(self, name: str, node: Node) -> int:
        self.rules.append(node)
        self.names.append(name)
        return len(self.rules) - 1

    def add_grammar(self, grammar: Grammar, prefix: str) -> int:
        """Append every rule of ``grammar`` (calls renumbered); returns the index of its start rule."""
        offset = len(self.rules)
        memo: dict[int, Node] = {}
        for node, name in zip(grammar.rules, grammar.names):
            self.rules.append(_relocate(node, offset, memo))
            self.names.append(f"{prefix}{name}")
        self.lazy_rules.extend((rule + offset, spec.relocated(offset)) for rule, spec in grammar.lazy_rules)
        return offset

    def grammar(self, start: Node) -> Grammar:
        self.rules[0] = start
        return Grammar(rules=tuple(self.rules), names=tuple(self.names), lazy_rules=tuple(self.lazy_rules))  # type: ignore[arg-type]


def _object_parameters(params: Any, where: str) -> Any:
    """The parameters schema with the value forced to be an object (arguments are an object)."""
    if params is None:
        return None
    params = dict(params)
    kind = params.get("type")
    if kind is None or (isinstance(kind, list) and "object" in kind):
        params["type"] = "object"
    elif kind != "object":
        raise InvalidRequestError(f"must describe a JSON object (its type is {kind!r})", where + ".parameters")
    return params


def _arguments_rule(b: _Builder, tool: _Tool, json_options: JsonOptions) -> int:
    params = _object_parameters(tool.parameters, tool.field)
    try:
        if params is None:
            grammar = SchemaCompiler(True, json_options).compile_any_object()
        else:
            grammar = SchemaCompiler(params, json_options).compile()
    except ConstraintError as e:
        e.add_note(f"in {tool.field}.parameters (function {tool.name!r})")
        raise
    return b.add_grammar(grammar, f"{tool.name}.arguments: ")


def _call_object(tool: _Tool, arguments_rule: int, json_ws: Node) -> Node:
    """``{"name": NAME, "arguments": ARGS}`` with JSON whitespace per the options."""
    colon = Concat((json_ws, literal(":"), json_ws))
    return Concat((
        literal("{"), json_ws, literal('"name"'), colon, value_literal(tool.name),
        json_ws, literal(","), json_ws, literal('"arguments"'), colon, Call(arguments_rule), json_ws, literal("}"),
    ))  # fmt: skip


def _content(b: _Builder, response_format: Mapping, opts: dict[str, Any], json_options: JsonOptions) -> Node | ByteDFA:
    """The content node of a non-text ``response_format``: a Call of its JSON rule, or a regex DFA."""
    kind = format_kind(response_format)
    if kind == "json_object":
        _check_keys(response_format, set())
        return Call(b.add_grammar(SchemaCompiler(True, json_options).compile_any_object(), "content: "))
    if kind == "json_schema":
        _check_keys(response_format, {"json_schema"})
        schema = _schema_of(response_format.get("json_schema"))
        return Call(b.add_grammar(SchemaCompiler(schema, json_options).compile(), "content: "))
    if kind == "regex":
        _check_keys(response_format, {"schema"})
        pattern = response_format.get("schema")
        if not isinstance(pattern, str):
            raise InvalidResponseFormatError("response_format of type 'regex' needs a 'schema' field holding the regex")
        dfa = compile_regex(pattern, max_nfa_states=opts["max_nfa_states"], max_dfa_states=opts["max_dfa_states"])
        if is_empty(dfa):
            raise InvalidRegexError("the regex matches no string at all", pattern)
        return dfa
    raise InvalidResponseFormatError(
        f"unknown response_format type {kind!r}; expected one of 'text', 'regex', 'json_object', 'json_schema'"
    )


def _compose(
    vocab: Vocabulary,
    response_format: Any,
    tools: list[_Tool],
    mode: str,
    named: _Tool | None,
    parallel: bool,
    parse_reasoning: bool,
    tool_format: ToolCallFormat,
    reasoning_format: ReasoningFormat,
    opts: dict[str, Any],
) -> CompiledConstraint:
    json_options = JsonOptions(whitespace=opts["whitespace"], lenient=opts["lenient"])
    json_ws = whitespace(opts["whitespace"])
    max_states = opts["max_dfa_states"]
    b = _Builder()
    ts, te = tool_format.start.encode(), tool_format.end.encode()
    rs, re_ = reasoning_format.start.encode(), reasoning_format.end.encode()
    markers = [ts, te] if mode != "none" else []
    markers += [rs, re_] if parse_reasoning else []
    for marker in markers:
        missing = sorted({x for x in marker if not vocab.producible_bytes[x]})
        if missing:
            raise ConstraintError(f"marker {marker!r} holds bytes no token of {vocab.name} can output: {missing}")
    # Plain text may not *start* with the reasoning marker when reasoning is split off (such an
    # output is a reasoning block), so parse_output and the constraint always agree.
    not_reasoning = _marker_dfa(rs, "prefix") if parse_reasoning and rs else None

    def unless_reasoning(dfa: ByteDFA) -> ByteDFA:
        return dfa if not_reasoning is None else difference(dfa, not_reasoning, max_states=max_states)

    # The constrained part.
    text_format = _is_text_format(response_format)
    content: Node | None = None
    if not text_format and mode in ("none", "auto"):
        c = _content(b, response_format, opts, json_options)
        if isinstance(c, ByteDFA):
            if mode == "auto":  # so the first start marker always starts the calls
                c = intersect(c, _marker_dfa(ts, "avoid"), max_states=max_states)
            c = unless_reasoning(c)
            if is_empty(c):
                raise InvalidRegexError("no output can match the regex here", response_format["schema"])
            c = Embed(c)
        content = c
    if mode == "none":
        body: Node = content  # type: ignore[assignment]
        kind = "reasoning"
    else:
        kind = "tools"
        chosen = [named] if mode == "named" else tools
        objects = [_call_object(t, _arguments_rule(b, t, json_options), json_ws) for t in chosen]
        call_rule = b.add_rule("tool call", objects[0] if len(objects) == 1 else Alt(tuple(objects)))
        one = Concat((literal(tool_format.start), _WS, Call(call_rule), _WS, literal(tool_format.end)))
        more = Repeat(Concat((_WS, one)), 0, None) if parallel and mode != "named" else _EMPTY
        # Everything after the first start marker: the first call's body, more calls, blanks.
        after_start = Concat((_WS, Call(call_rule), _WS, literal(tool_format.end), more, _WS))
        calls = Concat((_WS, literal(tool_format.start), after_start))
        if mode in ("required", "named"):
            body = calls
        elif content is not None:
            body = Alt((content, calls))
        else:  # auto with free text: text, then optionally calls from the first start marker on
            plain = unless_reasoning(_free_text(ts, "avoid"))
            up_to_marker = unless_reasoning(_free_text(ts, "first"))
            body = Alt((Embed(plain), Concat((Embed(up_to_marker), after_start))))
    if parse_reasoning:
        block = Concat((Embed(_free_text(re_, "first")), _WS))
        if rs:
            start: Node = Alt((Concat((literal(reasoning_format.start), block, body)), body))
        else:
            start = Concat((block, body))
    else:
        start = body
    grammar = b.grammar(start)
    automaton = GrammarAutomaton(
        grammar, max_depth=opts["max_depth"], max_dfa_states=max_states, producible_bytes=vocab.producible_bytes
    )
    names = ", ".join(t.name for t in ([named] if named else tools))
    description = {
        "none": "content",
        "auto": f"content or calls of {names}",
        "required": f"calls of {names}",
        "named": f"one call of {names}",
    }[mode]
    if parse_reasoning:
        description = "optional reasoning, then " + description
    return CompiledConstraint(
        automaton, vocab, kind=kind, description=description, max_whitespace=opts["max_whitespace"]
    )


_CACHE = ConstraintCache()


def build_output_constraint(
    vocab: Vocabulary,
    response_format: Mapping | None = None,
    *,
    tools: Sequence[Mapping] | None = None,
    tool_choice: str | Mapping | None = None,
    parallel_tool_calls: bool = True,
    parse_reasoning: bool = False,
    tool_format: ToolCallFormat = ToolCallFormat(),
    reasoning_format: ReasoningFormat = ReasoningFormat(),
    **compile_options: Any,
) -> CompiledConstraint | None:
    """The constraint for a whole assistant output: reasoning, content and tool calls.

    Args:
        vocab: the tokenizer's vocabulary.
        response_format: the request's ``response_format`` (None = text).
        tools: OpenAI tools, ``[{"type": "function", "function": {"name", "description"?,
            "parameters"?, "strict"?}}]`` (the flat form without ``"function"`` works too). The
            arguments are always enforced against ``parameters`` (absent: any JSON object), whatever
            ``strict`` says.
        tool_choice: "none" | "auto" | "required" | ``{"type": "function", "function": {"name": N}}``;
            None means "auto" with tools, "none" without. See the module docstring.
        parallel_tool_calls: allow several calls ("auto" and "required"; a named choice is one call).
        parse_reasoning: the output may start with a reasoning block (see :class:`ReasoningFormat`).
        tool_format, reasoning_format: the markers.
        **compile_options: as for :func:`constrain.compile`: ``lenient``, ``whitespace``,
            ``max_whitespace``, ``max_depth``, ``max_nfa_states``, ``max_dfa_states``, ``cache``.

    Returns:
        None when there is nothing to enforce (text format and no tool call or reasoning to
        constrain), the plain :func:`constrain.compile` result when only ``response_format``
        matters, else a composed constraint (``kind`` "tools" or "reasoning").

    Raises:
        InvalidRequestError: malformed ``tools`` / ``tool_choice`` (``err.field`` names the field).
        ConstraintError subclasses from schema and regex compiling (a note names the tool).
    """
    opts = _options(compile_options)
    _check_formats(tool_format, reasoning_format)
    tool_list = _normalize_tools(tools)
    mode, named = _normalize_choice(tool_choice, tool_list)
    text_format = _is_text_format(response_format)
    if mode == "none":
        if text_format:
            return None
        if not parse_reasoning:
            return compile_format(response_format, vocab, **compile_options)
    key = None
    if opts["cache"]:
        try:
            key = (
                json.dumps([response_format, tools, tool_choice], sort_keys=True),
                bool(parallel_tool_calls), bool(parse_reasoning), tool_format, reasoning_format,
                tuple(sorted(opts.items())), id(vocab),
            )  # fmt: skip
        except (TypeError, ValueError):
            key = None
        hit = None if key is None else _CACHE.get(key, vocab)
        if hit is not None:
            return hit
    compiled = _compose(
        vocab, response_format, tool_list, mode, named, bool(parallel_tool_calls), bool(parse_reasoning),
        tool_format, reasoning_format, opts,
    )  # fmt: skip
    if key is not None:
        _CACHE.put(key, vocab, compiled)
    return compiled


# --------------------------------------------------------------------------------------------
# Parsing outputs
# --------------------------------------------------------------------------------------------


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in _JSON_WS:
        i += 1
    return i


def new_call_id() -> str:
    """An OpenAI-style tool call id: ``call_`` and 24 hex digits."""
    return "call_" + secrets.token_hex(12)


def _parse_calls(text: str, i: int, tool_format: ToolCallFormat) -> list[dict] | None:
    """The calls of ``text[i:]`` (which starts with the start marker), or None if it is not calls only."""
    decoder = json.JSONDecoder()
    start, end = tool_format.start, tool_format.end
    calls: list[dict] = []
    while True:
        if not text.startswith(start, i):
            return None
        i = _skip_ws(text, i + len(start))
        try:
            obj, i = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            return None
        if not isinstance(obj, dict) or not isinstance(obj.get("name"), str) or not isinstance(obj.get("arguments"), dict):
            return None
        calls.append({
            "id": new_call_id(),
            "type": "function",
            "function": {"name": obj["name"], "arguments": json.dumps(obj["arguments"], ensure_ascii=False)},
        })  # fmt: skip
        i = _skip_ws(text, i)
        if end:
            if not text.startswith(end, i):
                return None
            i = _skip_ws(text, i + len(end))
        if i == len(text):
            return calls


def parse_output(
    text: str,
    *,
    tools_enabled: bool,
    parse_reasoning: bool,
    tool_format: ToolCallFormat = ToolCallFormat(),
    reasoning_format: ReasoningFormat = ReasoningFormat(),
) -> ParsedOutput:
    """Split a finished output into reasoning, content and tool calls (what the constraint allows).

    * Reasoning (``parse_reasoning``): an output that starts with the reasoning start marker (or
      any output, when that marker is "") holds reasoning up to the first end marker (all of it
      when the output was cut off before it); ``reasoning_content`` is that text without its
      surrounding blanks, and the rest loses its leading blanks.
    * Tool calls (``tools_enabled``): if, from the first start marker on, the rest is a sequence of
      well-formed calls, they become ``tool_calls`` (ids ``call_<24 hex>``, arguments re-serialized
      with ``json.dumps``) and the text before is the content (trailing blanks dropped). Otherwise
      (no marker, or a malformed or cut-off call) everything is content.
    * ``content`` is None when it is empty and there are calls or reasoning; otherwise the text
      (an unconstrained text output is returned unchanged).
    """
    reasoning: str | None = None
    rest = text
    if parse_reasoning:
        rs, re_ = reasoning_format.start, reasoning_format.end
        if text.startswith(rs):
            body = text[len(rs):]
            j = body.find(re_)
            if j < 0:
                reasoning, rest = body, ""
            else:
                reasoning, rest = body[:j], body[j + len(re_):].lstrip(_JSON_WS)
            reasoning = reasoning.strip(_JSON_WS)
    tool_calls: list[dict] = []
    content: str | None = rest
    if tools_enabled:
        i = rest.find(tool_format.start)
        if i >= 0:
            calls = _parse_calls(rest, i, tool_format)
            if calls is not None:
                tool_calls = calls
                content = rest[:i].rstrip(_JSON_WS)
    if not content and (tool_calls or reasoning is not None):
        content = None
    return ParsedOutput(content=content, reasoning_content=reasoning, tool_calls=tool_calls)


# --------------------------------------------------------------------------------------------
# Prompt text
# --------------------------------------------------------------------------------------------


def tools_system_prompt(
    tools: Sequence[Mapping],
    tool_choice: str | Mapping | None = None,
    tool_format: ToolCallFormat = ToolCallFormat(),
    *,
    parallel_tool_calls: bool = True,
) -> str:
    """Text for the system message that lists the tools and teaches the call syntax.

    Every tool appears as its JSON definition (name, description, parameters); the closing
    instruction follows ``tool_choice`` (and ``parallel_tool_calls``).
    """
    tool_list = _normalize_tools(tools)
    mode, named = _normalize_choice(tool_choice, tool_list)
    defs = []
    for tool, raw in zip(tool_list, tools):
        fn = raw.get("function", raw)
        entry: dict[str, Any] = {"name": tool.name}
        if fn.get("description"):
            entry["description"] = fn["description"]
        entry["parameters"] = tool.parameters if tool.parameters is not None else {"type": "object"}
        defs.append(json.dumps({"type": "function", "function": entry}, ensure_ascii=False))
    start, end = tool_format.start, tool_format.end
    lines = [
        "# Tools",
        "",
        "You may call one or more functions to assist with the user query.",
        "",
        "You are provided with function signatures within <tools></tools> XML tags:",
        "<tools>",
        *defs,
        "</tools>",
        "",
        f"For each function call, return a json object with function name and arguments within {start}{end} tags:",
        start,
        '{"name": <function-name>, "arguments": <args-json-object>}',
        *([end] if end else []),
    ]
    if mode == "none":
        lines += ["", "Do not call any function in this reply; answer directly."]
    elif mode == "required":
        lines += ["", "You must call a function in this reply" + ("." if parallel_tool_calls else ", exactly one.")]
    elif mode == "named":
        lines += ["", f"You must call the function {named.name!r} in this reply, once."]  # type: ignore[union-attr]
    elif not parallel_tool_calls:
        lines += ["", "Call at most one function per reply."]
    return "\n".join(lines)


def render_tool_calls(tool_calls: Sequence[Mapping], tool_format: ToolCallFormat = ToolCallFormat()) -> str:
    """An assistant message's ``tool_calls`` as text in the call syntax (for the prompt history).

    ``arguments`` may be the JSON text OpenAI sends or an object; text that is not JSON is kept as
    a JSON string. Non-ASCII characters are written raw (as the constraint prefers).
    """
    parts = []
    for i, call in enumerate(tool_calls):
        if not isinstance(call, Mapping):
            raise InvalidRequestError("must be an object", f"tool_calls[{i}]")
        fn = call.get("function", call)
        if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
            raise InvalidRequestError("must name a function", f"tool_calls[{i}].function.name")
        args = fn.get("arguments", {})
        if isinstance(args, str):
            try:
                args = json.loads(args) if args.strip() else {}
            except json.JSONDecodeError:
                pass
        obj = json.dumps({"name": fn["name"], "arguments": args}, ensure_ascii=False)
        parts.append(f"{tool_format.start}\n{obj}\n{tool_format.end}" if tool_format.end else f"{tool_format.start}\n{obj}")
    return "\n".join(parts)
