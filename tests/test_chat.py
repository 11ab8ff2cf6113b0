"""run_chat / stream_chat on a scripted tiny model with the real SmolLM2 tokenizer.

The "model" is a :class:`constrain.chat.completions.LogitsFunctionModel`: the test decides the logits of every
step from the tokens generated so far, so each request field has a test that fails when the field
is ignored or applied in the wrong order.
"""

from __future__ import annotations

import json
import re

import jsonschema
import numpy as np
import pytest

from constrain.chat.completions import LogitsFunctionModel, render_prompt, run_chat, stream_chat
from constrain.chat.request import parse_request
from constrain.errors import InvalidRequestError

NEG = -np.inf
USER = [{"role": "user", "content": "Say something."}]

_TOP_LOGPROB = {
    "type": "object",
    "required": ["token", "logprob", "bytes"],
    "properties": {
        "token": {"type": "string"},
        "logprob": {"type": "number", "maximum": 0},
        "bytes": {"type": ["array", "null"], "items": {"type": "integer", "minimum": 0, "maximum": 255}},
    },
}
_LOGPROBS = {
    "type": ["object", "null"],
    "required": ["content"],
    "properties": {
        "content": {
            "type": ["array", "null"],
            "items": {
                **_TOP_LOGPROB,
                "required": ["token", "logprob", "bytes", "top_logprobs"],
                "properties": {**_TOP_LOGPROB["properties"], "top_logprobs": {"type": "array", "items": _TOP_LOGPROB}},
            },
        }
    },
}
_TOOL_CALL = {
    "type": "object",
    "required": ["id", "type", "function"],
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "type": {"const": "function"},
        "function": {
            "type": "object",
            "required": ["name", "arguments"],
            "properties": {"name": {"type": "string"}, "arguments": {"type": "string"}},
        },
    },
}
_USAGE = {
    "type": "object",
    "required": ["prompt_tokens", "completion_tokens", "total_tokens"],
    "properties": {k: {"type": "integer", "minimum": 0} for k in ("prompt_tokens", "completion_tokens", "total_tokens")},
}
_FINISH = {"enum": ["stop", "length", "tool_calls"]}
COMPLETION_SCHEMA = {
    "type": "object",
    "required": ["id", "object", "created", "model", "choices", "usage"],
    "properties": {
        "id": {"type": "string", "pattern": "^chatcmpl-"},
        "object": {"const": "chat.completion"},
        "created": {"type": "integer"},
        "model": {"type": "string"},
        "choices": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["index", "message", "finish_reason"],
                "additionalProperties": False,
                "properties": {
                    "index": {"type": "integer", "minimum": 0},
                    "finish_reason": _FINISH,
                    "logprobs": _LOGPROBS,
                    "message": {
                        "type": "object",
                        "required": ["role", "content"],
                        "additionalProperties": False,
                        "properties": {
                            "role": {"const": "assistant"},
                            "content": {"type": ["string", "null"]},
                            "reasoning_content": {"type": "string"},
                            "tool_calls": {"type": "array", "minItems": 1, "items": _TOOL_CALL},
                        },
                    },
                },
            },
        },
        "usage": _USAGE,
    },
}
CHUNK_SCHEMA = {
    "type": "object",
    "required": ["id", "object", "created", "model", "choices"],
    "properties": {
        "id": {"type": "string", "pattern": "^chatcmpl-"},
        "object": {"const": "chat.completion.chunk"},
        "created": {"type": "integer"},
        "model": {"type": "string"},
        "usage": {"oneOf": [{"type": "null"}, _USAGE]},
        "choices": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["index", "delta", "finish_reason"],
                "additionalProperties": False,
                "properties": {
                    "index": {"type": "integer", "minimum": 0},
                    "finish_reason": {"oneOf": [{"type": "null"}, _FINISH]},
                    "logprobs": _LOGPROBS,
                    "delta": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "role": {"const": "assistant"},
                            "content": {"type": ["string", "null"]},
                            "reasoning_content": {"type": "string"},
                            "tool_calls": {
                                "type": "array",
                                "items": {**_TOOL_CALL, "required": ["index", "id", "type", "function"]},
                            },
                        },
                    },
                },
            },
        },
    },
}


def check_completion(resp: dict) -> dict:
    jsonschema.validate(resp, COMPLETION_SCHEMA)
    u = resp["usage"]
    assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]
    assert [c["index"] for c in resp["choices"]] == list(range(len(resp["choices"])))
    return resp


# --------------------------------------------------------------------------------------------
# the scripted model
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tok(smollm2_tokenizer):
    return smollm2_tokenizer


@pytest.fixture(scope="module")
def V(tok):
    return len(tok)


@pytest.fixture(scope="module")
def ids(tok):
    """text -> token ids (no special tokens)."""
    return lambda text: tok.encode(text, add_special_tokens=False)


@pytest.fixture(scope="module")
def EOS(tok):
    return int(tok.eos_token_id)


@pytest.fixture(scope="module")
def lm(tok, V):
    """lm(step) -> a model whose next logits are step(generated_ids) (a dict id -> logit, or an array)."""
    marker = tok.encode("<|im_start|>assistant\n", add_special_tokens=False)

    def make(step, *, background=0.0, width=None):
        width = width or V

        def next_logits(history):
            for i in range(len(history) - len(marker), -1, -1):
                if history[i : i + len(marker)] == marker:
                    generated = history[i + len(marker) :]
                    break
            else:  # pragma: no cover
                raise AssertionError("no generation prompt in the history")
            out = step(generated)
            if isinstance(out, dict):
                row = np.full(width, background, dtype=np.float32)
                for k, v in out.items():
                    row[k] = v
                return row
            return out

        return LogitsFunctionModel(next_logits, width)

    return make


@pytest.fixture(scope="module")
def follow(lm, EOS):
    """A model that writes exactly ``token_ids`` (logit 10 against 0) and then EOS."""

    def make(token_ids, **kw):
        return lm(lambda g: {token_ids[len(g)] if len(g) < len(token_ids) else EOS: 10.0}, **kw)

    return make


def chat(lm_, tok, **fields):
    body = {"messages": USER, "temperature": 0, **fields}
    return check_completion(run_chat(body, model=lm_, tokenizer=tok))


def content(resp, i=0):
    return resp["choices"][i]["message"]["content"]


def finish(resp, i=0):
    return resp["choices"][i]["finish_reason"]


SENTENCE = " Hello world, this is a test."


# --------------------------------------------------------------------------------------------
# basics: rendering, usage, finish reasons
# --------------------------------------------------------------------------------------------


def test_greedy_follows_the_script_and_counts_usage(tok, ids, follow):
    resp = chat(follow(ids(SENTENCE)), tok)
    assert content(resp) == SENTENCE and finish(resp) == "stop"
    expected_prompt = tok.apply_chat_template(USER, add_generation_prompt=True)
    if hasattr(expected_prompt, "keys"):
        expected_prompt = expected_prompt["input_ids"]
    assert resp["usage"]["prompt_tokens"] == len(expected_prompt)
    assert resp["usage"]["completion_tokens"] == len(ids(SENTENCE)) + 1  # EOS counted
    assert resp["object"] == "chat.completion" and resp["choices"][0]["logprobs"] is None


def test_model_name_echoed(tok, ids, follow):
    assert chat(follow(ids(" x")), tok, model="my-model")["model"] == "my-model"


def test_max_tokens_gives_length(tok, ids, lm):
    x = ids(" apple")[0]
    resp = chat(lm(lambda g: {x: 10.0}), tok, max_tokens=5)
    assert finish(resp) == "length" and content(resp) == " apple" * 5
    assert resp["usage"]["completion_tokens"] == 5


def test_max_completion_tokens_alias(tok, ids, lm):
    x = ids(" apple")[0]
    resp = chat(lm(lambda g: {x: 10.0}), tok, max_completion_tokens=3)
    assert finish(resp) == "length" and resp["usage"]["completion_tokens"] == 3


def test_eos_token_ids_stop(tok, ids, lm):
    x, y = ids(" apple")[0], ids(" pear")[0]
    model = lm(lambda g: {y if len(g) == 3 else x: 10.0})
    plain = chat(model, tok, max_tokens=6)
    assert finish(plain) == "length" and " pear" in content(plain)
    resp = chat(model, tok, max_tokens=6, eos_token=[y])
    assert finish(resp) == "stop" and content(resp) == " apple" * 3
    assert resp["usage"]["completion_tokens"] == 4


def test_eos_token_outside_vocabulary(tok, ids, follow, V):
    with pytest.raises(InvalidRequestError) as info:
        run_chat({"messages": USER, "eos_token": [V + 5]}, model=follow(ids(" x")), tokenizer=tok)
    assert info.value.field == "eos_token[0]"
    with pytest.raises(InvalidRequestError) as info:
        run_chat({"messages": USER, "logit_bias": {str(V): 5}}, model=follow(ids(" x")), tokenizer=tok)
    assert info.value.field == f"logit_bias.{V}"


def test_logits_wider_than_the_tokenizer_never_pick_padding(tok, ids, lm, V, EOS):
    x = ids(" apple")[0]

    def step(g):
        row = np.zeros(V + 64, dtype=np.float32)
        row[V:] = 50.0  # padding ids: the best logits, never allowed
        row[EOS if g else x] = 10.0
        return row

    resp = chat(lm(step, width=V + 64), tok)
    assert content(resp) == " apple" and finish(resp) == "stop"


def test_special_tokens_are_never_text(tok, ids, lm, EOS):
    im_start = tok.convert_tokens_to_ids("<|im_start|>")
    x = ids(" apple")[0]
    resp = chat(lm(lambda g: {im_start: 20.0, x: 10.0, EOS: 5.0 if not g else 15.0}), tok)
    assert content(resp) == " apple"


# --------------------------------------------------------------------------------------------
# sampling fields
# --------------------------------------------------------------------------------------------


def test_logit_bias_removes_the_top_token(tok, ids, lm, EOS):
    a, b = ids(" apple")[0], ids(" pear")[0]
    model = lm(lambda g: {a: 10.0, b: 9.0} if not g else {EOS: 10.0})
    assert content(chat(model, tok)) == " apple"
    assert content(chat(model, tok, logit_bias={str(a): -100})) == " pear"
    assert content(chat(model, tok, logit_bias={str(b): 5})) == " pear"


def test_min_tokens_delays_eos(tok, ids, lm, EOS):
    x = ids(" apple")[0]
    model = lm(lambda g: {EOS: 10.0, x: 5.0})
    resp = chat(model, tok)
    assert content(resp) == "" and finish(resp) == "stop"
    resp = chat(model, tok, min_tokens=3)
    assert content(resp) == " apple" * 3 and finish(resp) == "stop"
    assert resp["usage"]["completion_tokens"] == 4


def test_multi_token_stop_string_is_cut(tok, ids, follow):
    sentence = ids(SENTENCE)
    model = follow(sentence)
    # " is a" spans the tokens " is" and " a"
    assert len(ids(" is a")) > 1
    resp = chat(model, tok, stop=[" is a"])
    assert content(resp) == " Hello world, this" and finish(resp) == "stop"
    assert resp["usage"]["completion_tokens"] < len(sentence) + 1
    # a stop string inside one token cuts that token
    resp = chat(model, tok, stop="orl")
    assert content(resp) == " Hello w" and finish(resp) == "stop"
    # the earliest of several stop strings wins
    resp = chat(model, tok, stop=["test", ","])
    assert content(resp) == " Hello world"


def test_min_tokens_holds_off_stop_strings(tok, ids, follow):
    pattern = ids(" a b a b a b")
    model = follow(pattern)
    assert content(chat(model, tok, stop=[" b"])) == " a"
    # " b" is complete within the first 3 tokens: ignored; the next one stops
    assert content(chat(model, tok, stop=[" b"], min_tokens=3)) == " a b a"


def test_seed_reproduces_and_differs(tok, ids, lm):
    words = [ids(w)[0] for w in (" apple", " pear", " plum", " fig", " kiwi", " lime")]
    model = lm(lambda g: {w: 1.0 for w in words}, background=NEG)
    body = {"temperature": 1.0, "max_tokens": 12}
    a = content(chat(model, tok, seed=7, **body))
    b = content(chat(model, tok, seed=7, **body))
    c = content(chat(model, tok, seed=8, **body))
    assert a == b and a != c


def test_n_gives_independent_choices(tok, ids, lm):
    words = [ids(w)[0] for w in (" apple", " pear", " plum", " fig", " kiwi", " lime")]
    model = lm(lambda g: {w: 1.0 for w in words}, background=NEG)
    resp = chat(model, tok, n=4, seed=3, temperature=1.0, max_tokens=8)
    texts = [content(resp, i) for i in range(4)]
    assert len(set(texts)) == 4
    assert resp["usage"]["completion_tokens"] == 4 * 8
    # choice i is reproducible on its own: the same seed gives the same choices
    again = chat(model, tok, n=4, seed=3, temperature=1.0, max_tokens=8)
    assert [content(again, i) for i in range(4)] == texts
    # greedy choices are all the same
    greedy = chat(model, tok, n=2, max_tokens=4)
    assert content(greedy, 0) == content(greedy, 1)


def test_top_k_one_is_greedy(tok, ids, lm):
    rng = np.random.default_rng(0)
    table = rng.normal(size=(10, 2000)).astype(np.float32)
    words = list(range(1000, 3000))

    def step(g):
        return {w: float(v) for w, v in zip(words, table[len(g) % 10])}

    model = lm(step, background=NEG)
    greedy = content(chat(model, tok, max_tokens=10))
    sampled = content(chat(model, tok, max_tokens=10, temperature=1.5, seed=1))
    top1 = content(chat(model, tok, max_tokens=10, temperature=1.5, seed=1, top_k=1))
    assert top1 == greedy and sampled != greedy


def test_frequency_and_presence_penalties(tok, ids, lm):
    x, y = ids(" apple")[0], ids(" pear")[0]
    model = lm(lambda g: {x: 5.0, y: 4.5})
    assert content(chat(model, tok, max_tokens=4)) == " apple" * 4
    # after one " apple": 5 - 1 < 4.5; after one " pear" too: both penalized, counts decide
    assert content(chat(model, tok, max_tokens=4, frequency_penalty=1.0)) == " apple pear apple pear"
    # presence: only whether it appeared; both appear after two steps, then apple wins again
    assert content(chat(model, tok, max_tokens=4, presence_penalty=1.0)) == " apple pear apple apple"


def test_repetition_penalty(tok, ids, lm):
    x, y = ids(" apple")[0], ids(" pear")[0]
    prompt = parse_request({"messages": USER})
    assert x not in render_prompt(prompt, tok)[1] and y not in render_prompt(prompt, tok)[1]
    model = lm(lambda g: {x: 5.0, y: 4.0})
    assert content(chat(model, tok, max_tokens=3)) == " apple" * 3
    # 5 / 2 < 4: apple, pear; then both seen: 2.5 vs 2.0 -> apple
    assert content(chat(model, tok, max_tokens=3, repetition_penalty=2.0)) == " apple pear apple"


def test_temperature_zero_ignores_sampling_noise(tok, ids, lm):
    words = [ids(w)[0] for w in (" apple", " pear", " plum")]
    model = lm(lambda g: {words[0]: 1.2, words[1]: 1.0, words[2]: 1.0}, background=NEG)
    assert content(chat(model, tok, max_tokens=5, seed=1)) == " apple" * 5
    hot = {content(chat(model, tok, max_tokens=5, seed=s, temperature=2.0)) for s in range(3)}
    assert hot != {" apple" * 5}


def test_logprobs_shape_and_values(tok, ids, lm, EOS):
    a, b, c = ids(" apple")[0], ids(" pear")[0], ids(" plum")[0]
    model = lm(lambda g: {a: 2.0, b: 1.0, c: 0.0} if not g else {EOS: 0.0}, background=NEG)
    resp = chat(model, tok, logprobs=True, top_logprobs=2)
    entries = resp["choices"][0]["logprobs"]["content"]
    assert len(entries) == 1  # EOS is not a text token
    lse = np.log(np.exp(2.0) + np.exp(1.0) + 1.0)
    e = entries[0]
    assert e["token"] == " apple" and e["bytes"] == list(b" apple")
    assert e["logprob"] == pytest.approx(2.0 - lse, abs=1e-5)
    assert [t["token"] for t in e["top_logprobs"]] == [" apple", " pear"]
    assert e["top_logprobs"][1]["logprob"] == pytest.approx(1.0 - lse, abs=1e-5)
    only = chat(model, tok, logprobs=True)
    assert only["choices"][0]["logprobs"]["content"][0]["top_logprobs"] == []


# --------------------------------------------------------------------------------------------
# response_format, tools, reasoning
# --------------------------------------------------------------------------------------------


def test_regex_response_format(tok, ids, follow):
    model = follow(ids(SENTENCE))  # the model wants prose
    resp = chat(model, tok, response_format={"type": "regex", "schema": r"\d{3}-[a-c]"})
    assert re.fullmatch(r"\d{3}-[a-c]", content(resp)) and finish(resp) == "stop"


def test_json_schema_response_format(tok, lm, EOS):
    schema = {
        "type": "object",
        "properties": {"ok": {"type": "boolean"}, "color": {"enum": ["red", "green"]}, "n": {"type": "integer"}},
        "required": ["ok", "color", "n"],
        "additionalProperties": False,
    }
    rng = np.random.default_rng(5)
    table = rng.normal(size=(64, len(tok))).astype(np.float32)

    def step(g):
        row = table[len(g) % 64].copy()
        row[EOS] = 5.0
        return row

    for seed in range(3):
        resp = chat(lm(step), tok, temperature=0.7, seed=seed, max_tokens=200,
                    response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema}})
        assert finish(resp) == "stop", content(resp)
        jsonschema.validate(json.loads(content(resp)), schema)


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "maxLength": 12}, "unit": {"enum": ["c", "f"]}},
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
    },
}


def test_forced_tool_call(tok, lm, EOS):
    rng = np.random.default_rng(9)
    table = rng.normal(size=(64, len(tok))).astype(np.float32)
    quote = tok.encode('"', add_special_tokens=False)[0]

    def step(g):
        row = table[len(g) % 64].copy()
        row[EOS] = 5.0
        row[quote] += 3.0  # short strings
        return row

    body = {"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "max_tokens": 200, "temperature": 0.7, "seed": 1}
    resp = chat(lm(step), tok, **body)
    assert finish(resp) == "tool_calls", content(resp)
    calls = resp["choices"][0]["message"]["tool_calls"]
    assert len(calls) == 1 and calls[0]["function"]["name"] == "get_weather"
    jsonschema.validate(json.loads(calls[0]["function"]["arguments"]), WEATHER["function"]["parameters"])
    # the tools are described in the system message
    text, _ = render_prompt(parse_request({"messages": USER, **body}), tok)
    assert "get_weather" in text and "<tool_call>" in text


def test_tool_history_rendering(tok):
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
    request = parse_request({
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "content": "-3C", "tool_call_id": "call_1"},
        ],
        "tools": [WEATHER],
    })
    text, token_ids = render_prompt(request, tok)
    assert text.startswith("<|im_start|>system\nBe brief.\n\n")
    assert '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>' in text
    assert "<|im_start|>tool\n-3C<|im_end|>" in text
    assert text.endswith("<|im_start|>assistant\n")
    assert token_ids == tok(text, add_special_tokens=False)["input_ids"]


def test_tool_choice_none_keeps_tools_out(tok, ids, follow):
    request = parse_request({"messages": USER, "tools": [WEATHER], "tool_choice": "none"})
    assert "get_weather" not in render_prompt(request, tok)[0]
    resp = chat(follow(ids("<tool_call>")), tok, tools=[WEATHER], tool_choice="none")
    assert content(resp) == "<tool_call>" and "tool_calls" not in resp["choices"][0]["message"]


def test_auto_tool_call_parsed(tok, ids, follow):
    text = 'Sure.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome", "unit": "c"}}\n</tool_call>'
    resp = chat(follow(ids(text)), tok, tools=[WEATHER])
    msg = resp["choices"][0]["message"]
    assert finish(resp) == "tool_calls" and msg["content"] == "Sure."
    assert json.loads(msg["tool_calls"][0]["function"]["arguments"]) == {"city": "Rome", "unit": "c"}


def test_parse_reasoning(tok, ids, follow):
    model = follow(ids("<think>Two plus two.</think>\nFour."))
    resp = chat(model, tok, parse_reasoning=True)
    msg = resp["choices"][0]["message"]
    assert msg["reasoning_content"] == "Two plus two." and msg["content"] == "Four."
    hidden = chat(model, tok, parse_reasoning=True, include_reasoning=False)["choices"][0]["message"]
    assert hidden["content"] == "Four." and "reasoning_content" not in hidden
    raw = chat(model, tok)["choices"][0]["message"]
    assert raw["content"].startswith("<think>") and "reasoning_content" not in raw


# --------------------------------------------------------------------------------------------
# streaming
# --------------------------------------------------------------------------------------------


def collect(model, tok, **fields):
    body = {"messages": USER, "temperature": 0, "stream": True, **fields}
    chunks = list(stream_chat(body, model=model, tokenizer=tok))
    for c in chunks:
        jsonschema.validate(c, CHUNK_SCHEMA)
    return chunks


def joined(chunks, i=0, key="content"):
    return "".join(c["choices"][0]["delta"].get(key) or "" for c in chunks if c["choices"] and c["choices"][0]["index"] == i)


def test_stream_concatenates_to_the_non_stream_content(tok, ids, lm):
    words = [ids(w)[0] for w in (" apple", " pear", " plum", " fig", " kiwi", " lime")]
    model = lm(lambda g: {w: 1.0 for w in words}, background=NEG)
    fields = {"temperature": 1.0, "seed": 11, "max_tokens": 20, "n": 2, "stop": [" fig kiwi", " lime lime"]}
    full = chat(model, tok, **fields)
    chunks = collect(model, tok, stream_options={"include_usage": True}, **fields)
    for i in range(2):
        mine = [c for c in chunks if c["choices"] and c["choices"][0]["index"] == i]
        assert mine[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
        assert mine[-1]["choices"][0]["finish_reason"] == finish(full, i)
        assert all(c["choices"][0]["finish_reason"] is None for c in mine[:-1])
        assert joined(chunks, i) == content(full, i)
        assert len(mine) > 3  # deltas as tokens come, not one blob
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == full["usage"]
    assert all(c["usage"] is None for c in chunks[:-1])
    assert len({c["id"] for c in chunks}) == 1


def test_stream_never_sends_a_stop_string_prefix_it_takes_back(tok, ids, follow):
    chunks = collect(follow(ids(SENTENCE)), tok, stop=[" is a"])
    deltas = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]
    assert "".join(d or "" for d in deltas) == " Hello world, this"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert "usage" not in chunks[-1]


def test_stream_length_and_logprobs(tok, ids, lm):
    x = ids(" apple")[0]
    chunks = collect(lm(lambda g: {x: 10.0}), tok, max_tokens=4, logprobs=True, top_logprobs=1)
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    entries = [e for c in chunks for e in (c["choices"][0]["logprobs"] or {}).get("content") or []]
    assert [e["token"] for e in entries] == [" apple"] * 4


def test_stream_tool_calls(tok, ids, follow):
    text = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome", "unit": "f"}}\n</tool_call>'
    chunks = collect(follow(ids(text)), tok, tools=[WEATHER], tool_choice="required")
    calls = [tc for c in chunks for tc in c["choices"][0]["delta"].get("tool_calls") or []]
    assert len(calls) == 1 and calls[0]["index"] == 0 and calls[0]["function"]["name"] == "get_weather"
    assert json.loads(calls[0]["function"]["arguments"]) == {"city": "Rome", "unit": "f"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_stream_validates_before_the_first_chunk(tok, ids, follow):
    with pytest.raises(InvalidRequestError):
        stream_chat({"messages": USER, "stream": True, "top_p": 0}, model=follow(ids(" x")), tokenizer=tok)


# --------------------------------------------------------------------------------------------
# truncation fields, parallel calls, templates
# --------------------------------------------------------------------------------------------


def _fruit(ids):
    return [ids(w)[0] for w in (" apple", " pear", " plum")]


def test_top_p_keeps_only_the_nucleus(tok, ids, lm):
    a, b, c = _fruit(ids)
    model = lm(lambda g: {a: 2.0, b: 1.9, c: 1.8}, background=NEG)
    free = {content(chat(model, tok, temperature=1.0, seed=s, max_tokens=4)) for s in range(4)}
    assert free != {" apple" * 4}
    # p(apple) ~ 0.37 >= 0.3: the nucleus is apple alone
    nucleus = {content(chat(model, tok, temperature=1.0, seed=s, max_tokens=4, top_p=0.3)) for s in range(4)}
    assert nucleus == {" apple" * 4}


def test_min_p_drops_unlikely_tokens(tok, ids, lm):
    a, b, c = _fruit(ids)
    model = lm(lambda g: {a: 1.0, b: 0.0, c: 0.0}, background=NEG)
    free = {content(chat(model, tok, temperature=1.0, seed=s, max_tokens=4)) for s in range(4)}
    assert free != {" apple" * 4}
    # p(pear) / p(apple) = e^-1 ~ 0.37 < 0.5
    kept = {content(chat(model, tok, temperature=1.0, seed=s, max_tokens=4, min_p=0.5)) for s in range(4)}
    assert kept == {" apple" * 4}


def test_xtc_excludes_the_top_choices(tok, ids, lm):
    a, b, c = _fruit(ids)
    model = lm(lambda g: {a: 1.0, b: 0.5, c: 0.2}, background=NEG)
    free = content(chat(model, tok, temperature=1.0, seed=2, max_tokens=6))
    assert free != " plum" * 6
    # every token is above the threshold: all but the least likely (plum) are removed
    xtc = content(chat(model, tok, temperature=1.0, seed=2, max_tokens=6, xtc_probability=1.0, xtc_threshold=0.1))
    assert xtc == " plum" * 6


CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome", "unit": "c"}}\n</tool_call>'


def test_parallel_tool_calls(tok, ids, follow):
    model = follow(ids(CALL + "\n" + CALL.replace("Rome", "Oslo")))
    two = chat(model, tok, tools=[WEATHER])["choices"][0]["message"]["tool_calls"]
    assert [json.loads(c["function"]["arguments"])["city"] for c in two] == ["Rome", "Oslo"]
    one = chat(model, tok, tools=[WEATHER], parallel_tool_calls=False)
    assert finish(one) == "tool_calls" and len(one["choices"][0]["message"]["tool_calls"]) == 1
    assert len({c["id"] for c in two}) == 2


class _TemplateTokenizer:
    """The SmolLM2 tokenizer with another chat template (None: no template)."""

    def __init__(self, tok, template):
        self._tok = tok
        self.chat_template = template
        self.eos_token_id = tok.eos_token_id

    def apply_chat_template(self, messages, **kw):
        return self._tok.apply_chat_template(messages, chat_template=self.chat_template, **kw)

    def __call__(self, *args, **kw):
        return self._tok(*args, **kw)

    def __len__(self):
        return len(self._tok)

    def __getattr__(self, name):
        return getattr(self._tok, name)


STRICT_TEMPLATE = (
    "{% for m in messages %}{% if m['role'] not in ['system', 'user', 'assistant'] %}"
    "{{ raise_exception('unknown role ' + m['role']) }}{% endif %}"
    "[{{ m['role'] }}]{{ m['content'] }}\n{% endfor %}{% if note %}NOTE {{ note }}\n{% endif %}"
    "{% if add_generation_prompt %}[assistant]{% endif %}"
)


def test_tool_messages_fall_back_to_user_role(tok):
    strict = _TemplateTokenizer(tok, STRICT_TEMPLATE)
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    request = parse_request({"messages": [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "content": "sunny", "tool_call_id": "c1"},
    ]})
    text, _ = render_prompt(request, strict)
    assert "[user]<tool_response>\nsunny\n</tool_response>\n" in text and text.endswith("[assistant]")


def test_chat_template_kwargs_reach_the_template(tok, ids, follow):
    strict = _TemplateTokenizer(tok, STRICT_TEMPLATE)
    plain, _ = render_prompt(parse_request({"messages": USER}), strict)
    noted, noted_ids = render_prompt(parse_request({"messages": USER, "chat_template_kwargs": {"note": "be terse"}}), strict)
    assert "NOTE" not in plain and "NOTE be terse\n" in noted
    assert noted_ids == tok(noted, add_special_tokens=False)["input_ids"]


def test_no_template_fallback(tok):
    bare = _TemplateTokenizer(tok, None)
    text, _ = render_prompt(parse_request({"messages": [{"role": "system", "content": "S"}, *USER]}), bare)
    assert text == "system: S\nuser: Say something.\nassistant:"
