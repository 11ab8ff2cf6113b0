"""Tool calls and reasoning as constraints: constrain.toolcalls (build_output_constraint, parse_output, ...)."""

from __future__ import annotations

import json
import random
import re

import numpy as np
import pytest

import constrain
from constrain.errors import ConstraintError, InvalidRequestError
from constrain.toolcalls import (
    ParsedOutput,
    ReasoningFormat,
    ToolCallFormat,
    build_output_constraint,
    parse_output,
    render_tool_calls,
    tools_system_prompt,
)
from json_helpers import validator_for

WEATHER_PARAMS = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "City and country"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["location"],
}
EVENT_PARAMS = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
        "attendees": {"type": "array", "items": {"type": "string", "format": "email"}, "maxItems": 10},
    },
    "required": ["title", "start", "end"],
    "additionalProperties": False,
}
SEARCH_PARAMS = {
    "type": "object",
    "properties": {
        "query": {"type": "string"},
        "filters": {
            "type": "object",
            "properties": {
                "category": {"enum": ["books", "electronics", "clothing"]},
                "min_price": {"type": "number", "minimum": 0},
                "max_price": {"type": "number"},
                "in_stock": {"type": "boolean"},
            },
            "additionalProperties": False,
        },
        "limit": {"type": "integer", "minimum": 1, "maximum": 50},
    },
    "required": ["query"],
    "additionalProperties": False,
}


def _tool(name, params, description=None):
    fn = {"name": name, "parameters": params}
    if description:
        fn["description"] = description
    return {"type": "function", "function": fn}


TOOLS = [
    _tool("get_weather", WEATHER_PARAMS, "Current weather at a place"),
    _tool("create_calendar_event", EVENT_PARAMS, "Create an event in the user's calendar"),
    _tool("search", SEARCH_PARAMS, "Search the product catalogue"),
]
PARAMS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}
VALIDATORS = {name: validator_for(schema) for name, schema in PARAMS.items()}
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string", "maxLength": 40}, "confidence": {"type": "number", "minimum": 0, "maximum": 1}},
    "required": ["answer", "confidence"],
    "additionalProperties": False,
}
ANSWER_FORMAT = {"type": "json_schema", "json_schema": {"name": "answer", "schema": ANSWER_SCHEMA, "strict": True}}
NAMED = {"type": "function", "function": {"name": "search"}}

WEATHER_CALL = {"name": "get_weather", "arguments": {"location": "Paris, France", "unit": "celsius"}}
EVENT_CALL = {
    "name": "create_calendar_event",
    "arguments": {"title": "Standup", "start": "2025-03-01T09:00:00Z", "end": "2025-03-01T09:15:00+01:00",
                  "attendees": ["a@example.com", "b.c@example.org"]},
}  # fmt: skip
SEARCH_CALL = {"name": "search", "arguments": {"query": "usb-c cable", "filters": {"category": "electronics", "min_price": 0, "in_stock": True}, "limit": 5}}


HERMES = ToolCallFormat()


def _wrap(call, compact=False, fmt=HERMES):
    body = json.dumps(call, separators=(",", ":")) if compact else json.dumps(call)
    return f"{fmt.start}\n{body}\n{fmt.end}"


def _accepts(compiled, text):
    m = compiled.matcher()
    return m.accept_string(text) and m.can_terminate()


def _marker_biased(vocab):
    """Per token: holds a character that closes JSON values or starts/ends markers."""
    closing = np.array([bool(b) and any(c in b for c in b'"}]>') for b in vocab.token_bytes], dtype=bool)
    markers = np.array([bool(b) and any(s in b for s in (b"<", b"tool", b"call", b"think", b"/")) for b in vocab.token_bytes])
    return closing, markers


def _walk(compiled, rng, *, prefix="", cap=600, stop=0.5, bias=None, bias_p=0.4, insert=None):
    """A random walk over the allowed tokens, with EOS taken with probability ``stop`` when allowed
    and, with probability ``bias_p``, a token drawn from ``bias`` (if any is allowed). ``insert``
    = (text, step): try to accept ``text`` after ``step`` tokens (e.g. to close a reasoning block).
    Returns the text when the walk ended with EOS, else None."""
    vocab = compiled.vocab
    eos = set(vocab.eos_token_ids)
    m = compiled.matcher()
    assert m.accept_string(prefix)
    out = [prefix.encode()]
    for step in range(cap):
        if insert is not None and step == insert[1] and m.accept_string(insert[0]):
            out.append(insert[0].encode())
        allowed = m.allowed_token_ids()
        assert allowed.size, f"dead end after {b''.join(out)!r}"
        if m.can_terminate() and rng.random() < stop:
            return b"".join(out).decode("utf-8")
        if bias is not None and rng.random() < bias_p:
            narrowed = allowed[bias[allowed]]
            if narrowed.size:
                allowed = narrowed
        token = int(allowed[rng.randrange(allowed.size)])
        assert m.accept_token(token)
        if token in eos:
            return b"".join(out).decode("utf-8")
        out.append(vocab.token_bytes[token])
    return None


def _check_calls(parsed: ParsedOutput, names=None):
    assert parsed.tool_calls, parsed
    for call in parsed.tool_calls:
        assert re.fullmatch(r"call_[0-9a-f]{24}", call["id"])
        assert call["type"] == "function"
        name = call["function"]["name"]
        assert name in (names or PARAMS), name
        arguments = json.loads(call["function"]["arguments"])
        VALIDATORS[name].validate(arguments)


# -- compile-time semantics ------------------------------------------------------------------


def test_nothing_to_enforce_returns_none_or_plain_compile(smollm2_vocab):
    assert build_output_constraint(smollm2_vocab) is None
    assert build_output_constraint(smollm2_vocab, {"type": "text"}, tools=TOOLS, tool_choice="none") is None
    assert build_output_constraint(smollm2_vocab, None, parse_reasoning=True) is None
    plain = build_output_constraint(smollm2_vocab, ANSWER_FORMAT, tools=TOOLS, tool_choice="none")
    assert plain is constrain.compile(ANSWER_FORMAT, smollm2_vocab)
    assert build_output_constraint(smollm2_vocab, tools=[], tool_choice="auto") is None


def test_request_errors(smollm2_vocab):
    with pytest.raises(InvalidRequestError) as e:
        build_output_constraint(smollm2_vocab, tools=TOOLS, tool_choice="sometimes")
    assert e.value.field == "tool_choice"
    with pytest.raises(InvalidRequestError) as e:
        build_output_constraint(smollm2_vocab, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "nope"}})
    assert e.value.field == "tool_choice.function.name"
    with pytest.raises(InvalidRequestError):
        build_output_constraint(smollm2_vocab, tool_choice="required")
    with pytest.raises(InvalidRequestError) as e:
        build_output_constraint(smollm2_vocab, tools=[_tool("f", {"type": "string"})], tool_choice="required")
    assert e.value.field == "tools[0].function.parameters"
    with pytest.raises(InvalidRequestError) as e:
        build_output_constraint(smollm2_vocab, tools=[_tool("f", None), _tool("f", None)])
    assert e.value.field == "tools[1].function.name"
    with pytest.raises(InvalidRequestError):
        build_output_constraint(smollm2_vocab, tools=[{"type": "retrieval"}])
    with pytest.raises(ConstraintError):
        build_output_constraint(smollm2_vocab, tools=TOOLS, tool_format=ToolCallFormat(start=""))
    with pytest.raises(TypeError):
        build_output_constraint(smollm2_vocab, tools=TOOLS, bogus_option=1)
    with pytest.raises(constrain.UnsupportedSchemaError):
        build_output_constraint(smollm2_vocab, tools=[_tool("f", {"type": "object", "properties": {"t": {"type": "array", "uniqueItems": True}}})], tool_choice="required")


# -- required --------------------------------------------------------------------------------


def test_required_accepts_valid_calls_and_rejects_others(smollm2_vocab):
    c = build_output_constraint(smollm2_vocab, tools=TOOLS, tool_choice="required")
    assert c.kind == "tools"
    for call in (WEATHER_CALL, EVENT_CALL, SEARCH_CALL, {"name": "get_weather", "arguments": {"location": "Oslo"}}):
        VALIDATORS[call["name"]].validate(call["arguments"])
        for compact in (False, True):
            assert _accepts(c, _wrap(call, compact)), call
        assert _accepts(c, "<tool_call>" + json.dumps(call, indent=2) + "</tool_call>\n")
    bad = [
        {"name": "get_wether", "arguments": {"location": "Paris"}},  # wrong name
        {"name": "get_weather", "arguments": {"unit": "celsius"}},  # missing required argument
        {"name": "get_weather", "arguments": {"location": "Paris", "unit": "kelvin"}},  # enum
        {"name": "search", "arguments": {"query": "x", "limit": 0}},  # minimum
        {"name": "search", "arguments": {"query": "x", "color": "red"}},  # additionalProperties
        {"name": "create_calendar_event", "arguments": {"title": "t", "start": "tomorrow", "end": "2025-03-01T09:00:00Z"}},
        {"arguments": {"location": "Paris"}, "name": "get_weather"},  # key order is name, arguments
        {"name": "get_weather"},
    ]
    for call in bad:
        assert not _accepts(c, _wrap(call)), call
    too_many = {"name": "create_calendar_event", "arguments": dict(EVENT_CALL["arguments"], attendees=["a@b.co"] * 11)}
    assert not _accepts(c, _wrap(too_many))
    assert not _accepts(c, "Sure! " + _wrap(WEATHER_CALL))  # no content under "required"
    assert not _accepts(c, _wrap(WEATHER_CALL) + " Done.")  # no text after the calls
    assert not _accepts(c, "")
    assert not _accepts(c, json.dumps(WEATHER_CALL))  # markers are required
    # Several calls (parallel_tool_calls defaults to true), any whitespace between them.
    assert _accepts(c, _wrap(WEATHER_CALL) + "\n" + _wrap(SEARCH_CALL, True) + _wrap(EVENT_CALL))


def test_required_random_walks_give_valid_calls(smollm2_vocab):
    c = build_output_constraint(smollm2_vocab, tools=TOOLS, tool_choice="required")
    closing, _ = _marker_biased(smollm2_vocab)
    ended = 0
    names = set()
    for seed in range(40):
        text = _walk(c, random.Random(seed), bias=closing)
        if text is None:
            continue
        ended += 1
        parsed = parse_output(text, tools_enabled=True, parse_reasoning=False)
        assert parsed.content is None and parsed.reasoning_content is None, text
        _check_calls(parsed)
        names.update(call["function"]["name"] for call in parsed.tool_calls)
    assert ended >= 25
    assert names == set(PARAMS)


def test_parallel_tool_calls_false_allows_one_call(smollm2_vocab):
    c = build_output_constraint(smollm2_vocab, tools=TOOLS, tool_choice="required", parallel_tool_calls=False)
    assert _accepts(c, _wrap(WEATHER_CALL))
    assert not _accepts(c, _wrap(WEATHER_CALL) + "\n" + _wrap(SEARCH_CALL))
    auto = build_output_constraint(smollm2_vocab, tools=TOOLS, parallel_tool_calls=False)
    assert _accepts(auto, "Checking. " + _wrap(WEATHER_CALL))
    assert not _accepts(auto, "Checking. " + _wrap(WEATHER_CALL) + "\n" + _wrap(SEARCH_CALL))
    closing, _ = _marker_biased(smollm2_vocab)
    for seed in range(10):
        text = _walk(c, random.Random(seed), bias=closing)
        if text is not None:
            assert len(parse_output(text, tools_enabled=True, parse_reasoning=False).tool_calls) == 1


# -- named function --------------------------------------------------------------------------


def test_named_function_only(smollm2_vocab):
    c = build_output_constraint(smollm2_vocab, tools=TOOLS, tool_choice=NAMED)
    assert _accepts(c, _wrap(SEARCH_CALL))
    assert _accepts(c, _wrap(SEARCH_CALL, compact=True))
    assert not _accepts(c, _wrap(WEATHER_CALL))
    assert not _accepts(c, _wrap(SEARCH_CALL) + "\n" + _wrap(SEARCH_CALL))  # one call
    assert not _accepts(c, _wrap(SEARCH_CALL) + " thanks")
    m = c.matcher()
    assert m.accept_string('<tool_call>{"name":')
    assert m.find_jump_forward_string() == ""  # whitespace may follow ":"
    assert m.accept_string('"')
    assert m.find_jump_forward_string() == 'search"'  # the only name
    closing, _ = _marker_biased(smollm2_vocab)
    ended = 0
    for seed in range(30):
        text = _walk(c, random.Random(seed), bias=closing)
        if text is None:
            continue
        ended += 1
        parsed = parse_output(text, tools_enabled=True, parse_reasoning=False)
        _check_calls(parsed, names={"search"})
        assert len(parsed.tool_calls) == 1 and parsed.content is None
    assert ended >= 20


# -- auto ------------------------------------------------------------------------------------


def test_auto_text_or_calls(smollm2_vocab):
    c = build_output_constraint(smollm2_vocab, tools=TOOLS)  # tool_choice None = auto
    assert _accepts(c, "The weather is nice. <b>bold</b> {not a call} <tool_")
    assert _accepts(c, "")
    assert _accepts(c, _wrap(WEATHER_CALL))
    assert _accepts(c, "Let me look that up.\n" + _wrap(WEATHER_CALL) + "\n" + _wrap(SEARCH_CALL) + "\n")
    # Once the start marker is written, only calls may follow.
    assert not _accepts(c, "I would use <tool_call> here")
    assert not _accepts(c, _wrap(WEATHER_CALL) + " and some text")
    assert not _accepts(c, _wrap({"name": "get_weather", "arguments": {}}))
    m = c.matcher()
    assert m.accept_string("Hello <tool_call>")
    assert not m.can_terminate()
    assert not m.accept_string(" plain")


def test_auto_random_walks(smollm2_vocab):
    c = build_output_constraint(smollm2_vocab, tools=TOOLS, tool_choice="auto")
    closing, markers = _marker_biased(smollm2_vocab)
    plain = calls = 0
    for seed in range(40):
        rng = random.Random(seed)
        # Free walks (biased towards "<", "tool", "call", "/" so near-misses of the marker happen).
        text = _walk(c, rng, cap=200, stop=0.03, bias=markers, bias_p=0.5)
        if text is not None:
            parsed = parse_output(text, tools_enabled=True, parse_reasoning=False)
            if parsed.tool_calls:
                calls += 1
                _check_calls(parsed)
                assert "<tool_call>" not in (parsed.content or "")
            else:
                plain += 1
                assert "<tool_call>" not in text and parsed.content == text
        # Walks that start a call after some text: the rest must be valid calls.
        text = _walk(c, rng, prefix="Let me check that for you. <tool_call>", bias=closing)
        if text is not None:
            parsed = parse_output(text, tools_enabled=True, parse_reasoning=False)
            assert parsed.content == "Let me check that for you."
            _check_calls(parsed)
            calls += 1
    assert plain >= 20 and calls >= 25


def test_auto_with_json_schema_content(smollm2_vocab):
    c = build_output_constraint(smollm2_vocab, ANSWER_FORMAT, tools=TOOLS, tool_choice="auto")
    answer = {"answer": "sunny <tool_call> maybe", "confidence": 0.5}
    assert _accepts(c, json.dumps(answer))
    assert _accepts(c, _wrap(WEATHER_CALL))
    assert not _accepts(c, "Hi " + _wrap(WEATHER_CALL))  # content is the schema's JSON, not text
    assert not _accepts(c, json.dumps(answer) + _wrap(WEATHER_CALL))  # content OR calls
    assert not _accepts(c, json.dumps({"answer": "x"}))
    parsed = parse_output(json.dumps(answer), tools_enabled=True, parse_reasoning=False)
    assert parsed.tool_calls == [] and json.loads(parsed.content) == answer
    closing, _ = _marker_biased(smollm2_vocab)
    validator = validator_for(ANSWER_SCHEMA)
    kinds = set()
    for seed in range(30):
        text = _walk(c, random.Random(seed), bias=closing)
        if text is None:
            continue
        parsed = parse_output(text, tools_enabled=True, parse_reasoning=False)
        if parsed.tool_calls:
            kinds.add("calls")
            _check_calls(parsed)
            assert parsed.content is None
        else:
            kinds.add("content")
            validator.validate(json.loads(parsed.content))
    assert kinds == {"calls", "content"}


def test_auto_with_regex_content_never_holds_the_marker(smollm2_vocab):
    fmt = {"type": "regex", "schema": r"[<>a-z_/ ]{1,30}"}
    c = build_output_constraint(smollm2_vocab, fmt, tools=TOOLS, tool_choice="auto")
    assert _accepts(c, "hello <tool_ call>")
    assert not _accepts(c, "hello <tool_call> x")
    assert _accepts(c, _wrap(SEARCH_CALL))


# -- reasoning -------------------------------------------------------------------------------


def test_reasoning_then_json(smollm2_vocab):
    c = build_output_constraint(smollm2_vocab, ANSWER_FORMAT, parse_reasoning=True)
    assert c.kind == "reasoning"
    answer = json.dumps({"answer": "42", "confidence": 1})
    thought = 'The user wants {"x": 1} and "</thin" ... <think> </ think> <tool_call> done'
    text = f"<think>{thought}</think>\n\n{answer}"
    assert _accepts(c, text)
    assert _accepts(c, answer)  # reasoning is optional
    assert _accepts(c, f"<think></think>{answer}")
    assert not _accepts(c, f"<think>{thought}</think> plain text")  # no breaking out
    assert not _accepts(c, f"<think>a</think>b</think>{answer}")  # the first end marker closes it
    assert not _accepts(c, f"<think>{thought}")
    parsed = parse_output(text, tools_enabled=False, parse_reasoning=True)
    assert parsed.reasoning_content == thought and parsed.content == answer and parsed.tool_calls == []
    cut = parse_output("<think>still thinking", tools_enabled=False, parse_reasoning=True)
    assert cut.reasoning_content == "still thinking" and cut.content is None


def test_reasoning_random_walks_give_valid_content(smollm2_vocab):
    c = build_output_constraint(smollm2_vocab, ANSWER_FORMAT, parse_reasoning=True)
    closing, _ = _marker_biased(smollm2_vocab)
    validator = validator_for(ANSWER_SCHEMA)
    ended = with_reasoning = 0
    for seed in range(40):
        rng = random.Random(seed)
        think = seed % 2 == 1
        text = _walk(c, rng, prefix="<think>" if think else "", bias=closing, insert=("</think>", 30) if think else None)
        if text is None:
            continue
        ended += 1
        parsed = parse_output(text, tools_enabled=False, parse_reasoning=True)
        validator.validate(json.loads(parsed.content))
        if parsed.reasoning_content is not None:
            with_reasoning += 1
            assert "</think>" not in parsed.reasoning_content
    assert ended >= 25 and with_reasoning >= 10


def test_reasoning_with_tools(smollm2_vocab):
    req = build_output_constraint(smollm2_vocab, tools=TOOLS, tool_choice="required", parse_reasoning=True)
    text = "<think>I need the weather.</think>\n" + _wrap(WEATHER_CALL)
    assert _accepts(req, text)
    assert _accepts(req, _wrap(WEATHER_CALL))
    assert not _accepts(req, "<think>x</think> ok " + _wrap(WEATHER_CALL))
    parsed = parse_output(text, tools_enabled=True, parse_reasoning=True)
    assert parsed.reasoning_content == "I need the weather." and parsed.content is None
    _check_calls(parsed, names={"get_weather"})
    auto = build_output_constraint(smollm2_vocab, tools=TOOLS, tool_choice="auto", parse_reasoning=True)
    assert _accepts(auto, "<think>hmm <tool_call> maybe</think>It is sunny.")
    # Text may not start with the reasoning marker unless it is a reasoning block.
    assert not _accepts(auto, "<think>no end " + _wrap(WEATHER_CALL))
    assert _accepts(auto, "<think>a</think>Checking. " + _wrap(WEATHER_CALL))
    parsed = parse_output("<think>a</think>Checking. " + _wrap(WEATHER_CALL), tools_enabled=True, parse_reasoning=True)
    assert (parsed.reasoning_content, parsed.content) == ("a", "Checking.")
    closing, markers = _marker_biased(smollm2_vocab)
    for seed in range(20):
        text = _walk(req, random.Random(seed), prefix="<think>", bias=markers | closing, insert=("</think>\n", 20))
        if text is not None:
            parsed = parse_output(text, tools_enabled=True, parse_reasoning=True)
            assert parsed.reasoning_content is not None and parsed.content is None
            _check_calls(parsed)


def test_prefilled_reasoning_marker(smollm2_vocab):
    fmt = ReasoningFormat(start="", end="</think>")
    c = build_output_constraint(smollm2_vocab, ANSWER_FORMAT, parse_reasoning=True, reasoning_format=fmt)
    answer = json.dumps({"answer": "a", "confidence": 0})
    assert _accepts(c, f"thinking...</think>{answer}")
    assert not _accepts(c, answer)  # the block was opened by the prompt: it must be closed
    parsed = parse_output(f"thinking...</think>{answer}", tools_enabled=False, parse_reasoning=True, reasoning_format=fmt)
    assert parsed.reasoning_content == "thinking..." and parsed.content == answer


# -- formats, prompt and history -------------------------------------------------------------


def test_custom_tool_format(smollm2_vocab):
    fmt = ToolCallFormat(start="<function_call>", end="")
    c = build_output_constraint(smollm2_vocab, tools=TOOLS, tool_format=fmt)
    text = "Sure. <function_call>" + json.dumps(WEATHER_CALL) + "\n<function_call>" + json.dumps(SEARCH_CALL)
    assert _accepts(c, text)
    other = "Sure. " + _wrap(WEATHER_CALL)  # another syntax is plain text here
    assert _accepts(c, other)
    assert parse_output(other, tools_enabled=True, parse_reasoning=False, tool_format=fmt).content == other
    assert not _accepts(c, "Sure. <function_call> no")
    parsed = parse_output(text, tools_enabled=True, parse_reasoning=False, tool_format=fmt)
    assert parsed.content == "Sure." and [t["function"]["name"] for t in parsed.tool_calls] == ["get_weather", "search"]
    rendered = render_tool_calls([{"function": {"name": "get_weather", "arguments": "{}"}}], fmt)
    assert rendered == '<function_call>\n{"name": "get_weather", "arguments": {}}'


def test_tools_system_prompt():
    prompt = tools_system_prompt(TOOLS, "auto")
    for tool in TOOLS:
        fn = tool["function"]
        assert fn["name"] in prompt and fn["description"] in prompt
        assert json.dumps(fn["parameters"]) in prompt
    assert "<tool_call>" in prompt and "</tool_call>" in prompt
    assert "must call" in tools_system_prompt(TOOLS, "required")
    assert "'search'" in tools_system_prompt(TOOLS, NAMED)
    assert "<fc>" in tools_system_prompt(TOOLS, "auto", ToolCallFormat("<fc>", "</fc>"))


def test_render_tool_calls_round_trip(smollm2_vocab):
    history = [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": json.dumps(WEATHER_CALL["arguments"])}},
        {"id": "call_2", "type": "function", "function": {"name": "create_calendar_event", "arguments": json.dumps(EVENT_CALL["arguments"])}},
    ]
    text = render_tool_calls(history)
    assert text.startswith("<tool_call>\n{") and text.count("</tool_call>") == 2
    for choice in ("auto", "required"):
        assert _accepts(build_output_constraint(smollm2_vocab, tools=TOOLS, tool_choice=choice), text)
    parsed = parse_output(text, tools_enabled=True, parse_reasoning=False)
    assert [(t["function"]["name"], json.loads(t["function"]["arguments"])) for t in parsed.tool_calls] == [
        (h["function"]["name"], json.loads(h["function"]["arguments"])) for h in history
    ]


def test_parse_output_edge_cases():
    assert parse_output("just text ", tools_enabled=True, parse_reasoning=True) == ParsedOutput("just text ", None, [])
    broken = "see <tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Pa"
    assert parse_output(broken, tools_enabled=True, parse_reasoning=False).content == broken
    call_text = _wrap(WEATHER_CALL)
    assert parse_output(call_text, tools_enabled=False, parse_reasoning=False).content == call_text
    parsed = parse_output(call_text, tools_enabled=True, parse_reasoning=False)
    assert parsed.content is None and json.loads(parsed.tool_calls[0]["function"]["arguments"]) == WEATHER_CALL["arguments"]
    unicode_call = {"name": "get_weather", "arguments": {"location": "Zürich"}}
    args = parse_output(_wrap(unicode_call), tools_enabled=True, parse_reasoning=False).tool_calls[0]["function"]["arguments"]
    assert json.loads(args) == unicode_call["arguments"]


# -- another tokenizer -----------------------------------------------------------------------


def test_tekken_vocabulary(tekken_vocab):
    c = build_output_constraint(tekken_vocab, tools=TOOLS, tool_choice="required", parse_reasoning=True)
    for call in (WEATHER_CALL, EVENT_CALL, SEARCH_CALL):
        assert _accepts(c, _wrap(call)) and _accepts(c, "<think>ok</think>" + _wrap(call, compact=True))
    assert not _accepts(c, "text " + _wrap(WEATHER_CALL))
    closing, _ = _marker_biased(tekken_vocab)
    ended = 0
    for seed in range(8):
        text = _walk(c, random.Random(seed), bias=closing)
        if text is not None:
            ended += 1
            _check_calls(parse_output(text, tools_enabled=True, parse_reasoning=True))
    assert ended >= 4
