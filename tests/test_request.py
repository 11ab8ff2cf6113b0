"""Chat-completions request parsing: a corpus of bad bodies (each names its field), good bodies parse."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from constrain.chat.request import (
    DEFAULT_MAX_TOKENS,
    IGNORED_FIELDS,
    ChatRequest,
    parse_request,
)
from constrain.errors import InvalidRequestError

MSGS = [{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "Hello!"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
SEARCH = {
    "type": "function",
    "function": {"name": "search", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}},
}
CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}


def body(**fields):
    out = {"messages": copy.deepcopy(MSGS)}
    out.update(fields)
    return out


def with_messages(*messages):
    return {"messages": list(messages)}


BAD_BODIES = [
    # (id, body, expected field)
    ("not-an-object", [1, 2], None),
    ("typo max_token", body(max_token=5), "max_token"),
    ("unknown field", body(frobnicate=True), "frobnicate"),
    ("messages missing", {"model": "x"}, "messages"),
    ("messages empty", body(messages=[]), "messages"),
    ("messages not array", body(messages="hi"), "messages"),
    ("message not object", body(messages=["hi"]), "messages[0]"),
    ("message without role", body(messages=[{"content": "hi"}]), "messages[0].role"),
    ("wrong role", body(messages=[MSGS[0], {"role": "robot", "content": "hi"}]), "messages[1].role"),
    ("missing content", body(messages=[{"role": "user"}]), "messages[0].content"),
    ("content wrong type", body(messages=[{"role": "user", "content": 5}]), "messages[0].content"),
    ("image part", body(messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]),
     "messages[0].content[0].type"),
    ("unknown message field", body(messages=[{"role": "user", "content": "x", "tool_call_id": "a"}]),
     "messages[0].tool_call_id"),
    ("tool without tool_call_id", with_messages(
        {"role": "user", "content": "w?"}, {"role": "assistant", "tool_calls": [CALL]}, {"role": "tool", "content": "9"}),
     "messages[2].tool_call_id"),
    ("tool answering nothing", with_messages(
        {"role": "user", "content": "w?"}, {"role": "tool", "content": "9", "tool_call_id": "call_1"}),
     "messages[1].tool_call_id"),
    ("tool_calls not array", with_messages({"role": "user", "content": "w?"},
                                           {"role": "assistant", "tool_calls": {"id": "x"}}),
     "messages[1].tool_calls"),
    ("tool_call without function", with_messages({"role": "user", "content": "w?"},
                                                 {"role": "assistant", "tool_calls": [{"id": "c", "type": "function"}]}),
     "messages[1].tool_calls[0].function"),
    ("tool_call bad arguments", with_messages(
        {"role": "user", "content": "w?"},
        {"role": "assistant", "tool_calls": [{"id": "c", "type": "function",
                                              "function": {"name": "f", "arguments": "{not json"}}]}),
     "messages[1].tool_calls[0].function.arguments"),
    ("tool_call without id", with_messages(
        {"role": "user", "content": "w?"},
        {"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{}"}}]}),
     "messages[1].tool_calls[0].id"),
    ("model not string", body(model=3), "model"),
    ("temperature too high", body(temperature=2.5), "temperature"),
    ("temperature negative", body(temperature=-0.1), "temperature"),
    ("temperature string", body(temperature="hot"), "temperature"),
    ("temperature bool", body(temperature=True), "temperature"),
    ("top_p zero", body(top_p=0), "top_p"),
    ("top_p above one", body(top_p=1.5), "top_p"),
    ("top_k negative", body(top_k=-1), "top_k"),
    ("top_k float", body(top_k=2.5), "top_k"),
    ("top_k bool", body(top_k=True), "top_k"),
    ("min_p above one", body(min_p=1.2), "min_p"),
    ("frequency_penalty range", body(frequency_penalty=3), "frequency_penalty"),
    ("presence_penalty range", body(presence_penalty=-2.5), "presence_penalty"),
    ("repetition_penalty zero", body(repetition_penalty=0), "repetition_penalty"),
    ("xtc_threshold range", body(xtc_threshold=1.5), "xtc_threshold"),
    ("xtc_probability range", body(xtc_probability=-0.5), "xtc_probability"),
    ("max_tokens zero", body(max_tokens=0), "max_tokens"),
    ("max_tokens bool", body(max_tokens=True), "max_tokens"),
    ("max_tokens string", body(max_tokens="10"), "max_tokens"),
    ("max_tokens vs alias", body(max_tokens=10, max_completion_tokens=20), "max_completion_tokens"),
    ("min_tokens above max", body(max_tokens=5, min_tokens=6), "min_tokens"),
    ("min_tokens negative", body(min_tokens=-1), "min_tokens"),
    ("n zero", body(n=0), "n"),
    ("n too many", body(n=17), "n"),
    ("seed negative", body(seed=-1), "seed"),
    ("seed float", body(seed=1.5), "seed"),
    ("logit_bias out of range", body(logit_bias={"50256": 101}), "logit_bias.50256"),
    ("logit_bias bad key", body(logit_bias={"hello": 1}), "logit_bias.hello"),
    ("logit_bias negative key", body(logit_bias={"-3": 1}), "logit_bias.-3"),
    ("logit_bias value string", body(logit_bias={"5": "x"}), "logit_bias.5"),
    ("logit_bias not object", body(logit_bias=[1, 2]), "logit_bias"),
    ("logprobs not bool", body(logprobs=1), "logprobs"),
    ("top_logprobs without logprobs", body(top_logprobs=3), "top_logprobs"),
    ("top_logprobs too many", body(logprobs=True, top_logprobs=21), "top_logprobs"),
    ("stop too many", body(stop=["a", "b", "c", "d", "e"]), "stop"),
    ("stop empty string", body(stop=["a", ""]), "stop[1]"),
    ("stop not string", body(stop=[5]), "stop[0]"),
    ("stop number", body(stop=5), "stop"),
    ("stream not bool", body(stream="yes"), "stream"),
    ("stream_options without stream", body(stream_options={"include_usage": True}), "stream_options"),
    ("stream_options unknown", body(stream=True, stream_options={"include_usag": True}), "stream_options.include_usag"),
    ("eos_token not list", body(eos_token=2), "eos_token"),
    ("eos_token not ints", body(eos_token=[2, "x"]), "eos_token[1]"),
    ("eos_token bool", body(eos_token=[True]), "eos_token[0]"),
    ("tools not array", body(tools={"type": "function"}), "tools"),
    ("tool type", body(tools=[{"type": "retrieval", "function": {"name": "a"}}]), "tools[0].type"),
    ("tool name missing", body(tools=[{"type": "function", "function": {"description": "x"}}]),
     "tools[0].function.name"),
    ("tool name bad chars", body(tools=[{"type": "function", "function": {"name": "get weather"}}]),
     "tools[0].function.name"),
    ("duplicate tool names", body(tools=[WEATHER, WEATHER]), "tools[1].function.name"),
    ("tool parameters not object schema",
     body(tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}}]),
     "tools[0].function.parameters"),
    ("tool parameters not a dict", body(tools=[{"type": "function", "function": {"name": "f", "parameters": [1]}}]),
     "tools[0].function.parameters"),
    ("tool parameters malformed schema",
     body(tools=[{"type": "function", "function": {"name": "f", "parameters": {
         "type": "object", "properties": {"a": {"$ref": "#/nope"}}, "required": ["a"]}}}]),
     "tools[0].function.parameters"),
    ("tool_choice unknown tool", body(tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "get_wether"}}),
     "tool_choice.function.name"),
    ("tool_choice named without tools", body(tool_choice={"type": "function", "function": {"name": "get_weather"}}),
     "tool_choice.function.name"),
    ("tool_choice required without tools", body(tool_choice="required"), "tool_choice"),
    ("tool_choice bad string", body(tools=[WEATHER], tool_choice="always"), "tool_choice"),
    ("tool_choice bad type", body(tools=[WEATHER], tool_choice={"type": "fn", "function": {"name": "get_weather"}}),
     "tool_choice.type"),
    ("parallel_tool_calls not bool", body(parallel_tool_calls="no"), "parallel_tool_calls"),
    ("parse_reasoning not bool", body(parse_reasoning=1), "parse_reasoning"),
    ("include_reasoning not bool", body(include_reasoning="x"), "include_reasoning"),
    ("response_format not object", body(response_format="json"), "response_format"),
    ("response_format no type", body(response_format={"schema": "a"}), "response_format.type"),
    ("response_format unknown type", body(response_format={"type": "yaml"}), "response_format"),
    ("response_format bad regex", body(response_format={"type": "regex", "schema": "(a|b"}), "response_format"),
    ("response_format bad schema", body(response_format={"type": "json_schema", "json_schema": {
        "schema": {"type": "array", "minItems": 3, "maxItems": 1}}}), "response_format"),
    ("chat_template_kwargs not object", body(chat_template_kwargs=["x"]), "chat_template_kwargs"),
    ("chat_template_kwargs reserved", body(chat_template_kwargs={"tokenize": True}), "chat_template_kwargs.tokenize"),
]


@pytest.mark.parametrize("bad, field", [(b, f) for _, b, f in BAD_BODIES], ids=[i for i, _, _ in BAD_BODIES])
def test_bad_bodies_name_their_field(bad, field):
    with pytest.raises(InvalidRequestError) as info:
        parse_request(bad)
    assert info.value.field == field, str(info.value)
    if field is not None:
        assert str(info.value).startswith(f"{field}: ")


def test_corpus_size():
    assert len(BAD_BODIES) >= 30


def test_typo_suggests_the_field():
    with pytest.raises(InvalidRequestError, match="did you mean 'max_tokens'"):
        parse_request(body(max_token=5))
    with pytest.raises(InvalidRequestError, match="did you mean 'temperature'"):
        parse_request(body(temprature=0.5))
    with pytest.raises(InvalidRequestError, match="did you mean 'get_weather'"):
        parse_request(body(tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "get_wether"}}))


def test_vocab_size_bounds_token_ids():
    with pytest.raises(InvalidRequestError) as info:
        parse_request(body(logit_bias={"50256": 5}), vocab_size=49152)
    assert info.value.field == "logit_bias.50256"
    with pytest.raises(InvalidRequestError) as info:
        parse_request(body(eos_token=[2, 60000]), vocab_size=49152)
    assert info.value.field == "eos_token[1]"
    req = parse_request(body(logit_bias={"50256": 5}))
    with pytest.raises(InvalidRequestError) as info:
        req.check_vocab_size(49152)
    assert info.value.field == "logit_bias.50256"


def test_seed_request_parses_with_defaults():
    req = parse_request(body())
    assert isinstance(req, ChatRequest)
    assert [m.role for m in req.messages] == ["system", "user"]
    assert req.max_tokens == DEFAULT_MAX_TOKENS and req.n == 1 and req.temperature == 1.0
    assert req.stop == () and req.tools == () and req.effective_tool_choice == "none"
    with pytest.raises(dataclasses.FrozenInstanceError):
        req.n = 3  # type: ignore[misc]


def test_full_body_parses():
    req = parse_request(
        {
            "model": "smollm2",
            "messages": [
                {"role": "developer", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "Weather "}, {"type": "text", "text": "in Paris?"}]},
                {"role": "assistant", "content": None, "tool_calls": [CALL]},
                {"role": "tool", "content": "18C", "tool_call_id": "call_1"},
                {"role": "assistant", "content": "It is 18C."},
                {"role": "user", "content": "Thanks"},
            ],
            "chat_template_kwargs": {"enable_thinking": False},
            "eos_token": [2, 0],
            "frequency_penalty": 0.5,
            "presence_penalty": -0.5,
            "repetition_penalty": 1.1,
            "logit_bias": {"5": -100, "7": 2.5},
            "logprobs": True,
            "top_logprobs": 3,
            "max_completion_tokens": 50,
            "min_tokens": 2,
            "min_p": 0.05,
            "top_k": 40,
            "top_p": 0.9,
            "temperature": 0.7,
            "xtc_threshold": 0.2,
            "xtc_probability": 0.5,
            "n": 2,
            "seed": 42,
            "stop": "\n\n",
            "stream": True,
            "stream_options": {"include_usage": True},
            "tools": [WEATHER, SEARCH],
            "tool_choice": {"type": "function", "function": {"name": "search"}},
            "parallel_tool_calls": False,
            "parse_reasoning": True,
            "include_reasoning": False,
            "response_format": {"type": "json_object"},
        },
        vocab_size=49152,
    )
    assert [m.role for m in req.messages] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert req.messages[1].content == "Weather in Paris?"
    assert req.messages[2].content is None and req.messages[2].tool_calls[0]["function"]["name"] == "get_weather"
    assert req.messages[3].tool_call_id == "call_1"
    assert req.max_tokens == 50 and req.min_tokens == 2 and req.stop == ("\n\n",)
    assert req.logit_bias == {5: -100.0, 7: 2.5}
    assert req.eos_token == (2, 0) and req.include_usage and req.stream
    assert req.tool_choice == {"type": "function", "function": {"name": "search"}} and req.tools_enabled
    assert not req.parallel_tool_calls and req.parse_reasoning and not req.include_reasoning
    assert req.chat_template_kwargs == {"enable_thinking": False}
    assert req.top_logprobs == 3 and req.logprobs


def test_equal_alias_and_integral_float_accepted():
    assert parse_request(body(max_tokens=10, max_completion_tokens=10)).max_tokens == 10
    assert parse_request(body(max_tokens=10.0)).max_tokens == 10
    assert parse_request(body(stop=["a", "a"])).stop == ("a",)


def test_null_fields_mean_default():
    req = parse_request(body(temperature=None, stop=None, tools=None, tool_choice=None, response_format=None))
    assert req.temperature == 1.0 and req.stop == () and req.response_format is None


def test_ignored_openai_fields_accepted():
    extra = {
        "user": "u-1",
        "metadata": {"a": "b"},
        "store": False,
        "service_tier": "auto",
        "modalities": ["text"],
        "prediction": {"type": "content", "content": "x"},
        "audio": None,
    }
    assert set(extra) <= IGNORED_FIELDS
    req = parse_request(body(**extra))
    assert set(req.ignored) == set(extra)


def test_tool_choice_none_disables_tools():
    req = parse_request(body(tools=[WEATHER], tool_choice="none"))
    assert not req.tools_enabled
    req = parse_request(body(tools=[WEATHER]))
    assert req.tools_enabled and req.effective_tool_choice == "auto"
    # parameters default to an empty object schema
    req = parse_request(body(tools=[{"type": "function", "function": {"name": "ping"}}], tool_choice="required"))
    assert req.tools[0]["function"]["parameters"] == {"type": "object", "properties": {}}


def test_sampling_params():
    sampling = pytest.importorskip("constrain.chat.sampling")
    req = parse_request(body(temperature=0.3, top_k=5, logit_bias={"3": -100}, min_tokens=4, seed=7, logprobs=True,
                             top_logprobs=2, repetition_penalty=1.3, xtc_probability=0.5))
    params = req.sampling_params()
    assert isinstance(params, sampling.SamplingParams)
    assert params.temperature == 0.3 and params.top_k == 5 and params.logit_bias == {3: -100.0}
    assert params.min_tokens == 4 and params.seed == 7 and params.top_logprobs == 2
    assert params.repetition_penalty == 1.3 and params.xtc_probability == 0.5
    params.validate()
    # A body without sampling fields gives SamplingParams' own defaults (the two lists agree).
    assert parse_request(body()).sampling_params() == sampling.SamplingParams()
