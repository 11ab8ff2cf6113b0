"""``python -m constrain chat``: bad bodies fail fast (no model), and real requests on the embedded model."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import jsonschema
import numpy as np
import pytest

import constrain.chat.completions
import constrain.models
from constrain.cli import main
from test_chat import CHUNK_SCHEMA, COMPLETION_SCHEMA, check_completion

SEED_REQUEST = {
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Hello!"},
    ]
}


@pytest.fixture
def no_model(monkeypatch):
    """Loading a model fails the test: bad bodies must be refused before."""

    def boom(*args, **kwargs):  # pragma: no cover - only runs on a regression
        raise AssertionError("the model was loaded for a bad body")

    monkeypatch.setattr(constrain.models, "load_model", boom)
    monkeypatch.setattr(constrain.models, "load_tokenizer", boom)
    monkeypatch.setattr(constrain.chat.completions, "_load", boom)


def run_cli(monkeypatch, capsys, stdin: str, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["chat", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


BAD = [
    ("{not json", "body"),
    ("[1, 2]", "body"),
    (json.dumps({**SEED_REQUEST, "max_token": 5}), "max_token"),
    (json.dumps({**SEED_REQUEST, "temperature": 3}), "temperature"),
    (json.dumps({"messages": [{"role": "robot", "content": "x"}]}), "messages[0].role"),
    (json.dumps({**SEED_REQUEST, "logit_bias": {"50256": 500}}), "logit_bias.50256"),
    (json.dumps({**SEED_REQUEST, "top_logprobs": 2}), "top_logprobs"),
    (json.dumps({**SEED_REQUEST, "tools": [{"type": "function", "function": {"name": "a"}}],
                 "tool_choice": {"type": "function", "function": {"name": "b"}}}), "tool_choice.function.name"),
    (json.dumps({**SEED_REQUEST, "response_format": {"type": "regex", "schema": "(a"}}), "response_format"),
    (json.dumps({**SEED_REQUEST, "stream_options": {"include_usage": True}}), "stream_options"),
]


@pytest.mark.parametrize("body, field", BAD, ids=[f for _, f in BAD])
def test_bad_body_exits_2_with_one_line(monkeypatch, capsys, no_model, body, field):
    code, out, err = run_cli(monkeypatch, capsys, body)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {field}: ")
    assert "Traceback" not in err


def test_body_file(monkeypatch, capsys, no_model, tmp_path):
    path = tmp_path / "body.json"
    path.write_text(json.dumps({**SEED_REQUEST, "n": 0}))
    code, _, err = run_cli(monkeypatch, capsys, "", "--body", str(path))
    assert code == 2 and err.startswith("error: n: ")
    code, _, err = run_cli(monkeypatch, capsys, "", "--body", str(tmp_path / "missing.json"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "cannot read" in err


def test_missing_model_path(monkeypatch, capsys, no_model, tmp_path):
    code, _, err = run_cli(monkeypatch, capsys, json.dumps(SEED_REQUEST), "--model", str(tmp_path / "nope"))
    assert code == 2 and "model not found" in err and len(err.strip().splitlines()) == 1


# --------------------------------------------------------------------------------------------
# the embedded model
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread: on a loaded 2-core machine, 2 threads make a token step 20x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
def test_seed_request_through_the_cli(smollm2_tokenizer):
    proc = subprocess.run(
        [sys.executable, "-m", "constrain", "chat", "--threads", "1"],
        check=False,
        input=json.dumps({**SEED_REQUEST, "max_tokens": 40, "seed": 1}),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    resp = check_completion(json.loads(proc.stdout))
    jsonschema.validate(resp, COMPLETION_SCHEMA)
    prompt = smollm2_tokenizer.apply_chat_template(SEED_REQUEST["messages"], add_generation_prompt=True)
    if hasattr(prompt, "keys"):
        prompt = prompt["input_ids"]
    assert resp["usage"]["prompt_tokens"] == len(prompt)
    assert 1 <= resp["usage"]["completion_tokens"] <= 40
    choice = resp["choices"][0]
    assert choice["finish_reason"] in ("stop", "length") and choice["message"]["content"]
    assert resp["model"] == "SmolLM2-135M-Instruct"


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "City name", "maxLength": 40},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location", "unit"],
            "additionalProperties": False,
        },
    },
}
CALENDAR = {
    "type": "function",
    "function": {
        "name": "create_calendar_event",
        "description": "Create an event in the user's calendar",
        "parameters": {
            "type": "object",
            "properties": {
                "title": {"type": "string", "maxLength": 60},
                "date": {"type": "string", "format": "date"},
                "start_time": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
                "duration_minutes": {"type": "integer", "minimum": 5, "maximum": 480},
                "attendees": {"type": "array", "items": {"type": "string", "maxLength": 30}, "maxItems": 3},
            },
            "required": ["title", "date", "start_time", "duration_minutes"],
            "additionalProperties": False,
        },
    },
}
SEARCH = {
    "type": "function",
    "function": {
        "name": "search_products",
        "description": "Search the product catalog with filters",
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "maxLength": 40},
                "filters": {
                    "type": "object",
                    "properties": {
                        "category": {"type": "string", "enum": ["books", "electronics", "clothing", "toys"]},
                        "max_price": {"type": "integer", "minimum": 0, "maximum": 10000},
                        "in_stock": {"type": "boolean"},
                    },
                    "required": ["category", "in_stock"],
                    "additionalProperties": False,
                },
                "limit": {"type": "integer", "minimum": 1, "maximum": 50},
            },
            "required": ["query", "filters"],
            "additionalProperties": False,
        },
    },
}
TOOLS = [WEATHER, CALENDAR, SEARCH]
CASES = [
    (WEATHER, "What's the weather like in Paris right now, in celsius?"),
    (CALENDAR, "Put a 45 minute meeting called 'Budget review' on 2025-03-14 at 10:30 with alice@example.com."),
    (SEARCH, "Find me science fiction books under 20 dollars that are in stock, at most 5 results."),
]


@pytest.mark.slow
@pytest.mark.parametrize("tool, question", CASES, ids=[t["function"]["name"] for t, _ in CASES])
def test_forced_tool_calls_on_the_embedded_model(one_thread, tool, question):
    name = tool["function"]["name"]
    body = {
        "messages": [{"role": "user", "content": question}],
        "tools": TOOLS,
        "tool_choice": {"type": "function", "function": {"name": name}},
        "max_tokens": 200,
        "temperature": 0,
    }
    resp = check_completion(constrain.chat.completions.run_chat(body))
    choice = resp["choices"][0]
    assert choice["finish_reason"] == "tool_calls", choice
    calls = choice["message"]["tool_calls"]
    assert len(calls) == 1 and calls[0]["function"]["name"] == name
    args = json.loads(calls[0]["function"]["arguments"])
    jsonschema.validate(args, tool["function"]["parameters"], format_checker=jsonschema.FormatChecker())


@pytest.mark.slow
def test_streaming_on_the_embedded_model(one_thread):
    body = {**SEED_REQUEST, "max_tokens": 30, "temperature": 0, "stream": True, "stream_options": {"include_usage": True},
            "stop": ["."]}
    chunks = list(constrain.chat.completions.stream_chat(body))
    for c in chunks:
        jsonschema.validate(c, CHUNK_SCHEMA)
    full = constrain.chat.completions.run_chat({**body, "stream": False, "stream_options": None})
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == full["choices"][0]["message"]["content"] and "." not in text
    assert chunks[-1]["usage"] == full["usage"]
    assert chunks[-2]["choices"][0]["finish_reason"] == full["choices"][0]["finish_reason"]


@pytest.fixture
def scripted(monkeypatch, smollm2_tokenizer):
    """The CLI's model is a scripted one writing ' Hello world.' (no real model is loaded)."""
    tok = smollm2_tokenizer
    marker = tok.encode("<|im_start|>assistant\n", add_special_tokens=False)
    script = tok.encode(" Hello world.", add_special_tokens=False)

    def next_logits(history):
        start = max(i for i in range(len(history)) if history[i : i + len(marker)] == marker) + len(marker)
        k = len(history) - start
        row = np.zeros(len(tok), dtype=np.float32)
        row[script[k] if k < len(script) else tok.eos_token_id] = 10.0
        return row

    model = constrain.chat.completions.LogitsFunctionModel(next_logits, len(tok))
    monkeypatch.setattr(constrain.chat.completions, "_load", lambda m, t, p: (model, tok))
    return model


def test_cli_response_json(monkeypatch, capsys, scripted):
    code, out, err = run_cli(monkeypatch, capsys, json.dumps({**SEED_REQUEST, "temperature": 0}))
    assert code == 0, err
    resp = check_completion(json.loads(out))
    assert resp["choices"][0]["message"]["content"] == " Hello world."


def test_cli_stream_lines(monkeypatch, capsys, scripted):
    body = {**SEED_REQUEST, "temperature": 0, "stream": True, "stream_options": {"include_usage": True}}
    code, out, err = run_cli(monkeypatch, capsys, json.dumps(body))
    assert code == 0, err
    lines = [line for line in out.split("\n") if line]
    assert all(line.startswith("data: ") for line in lines) and lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[len("data: "):]) for line in lines[:-1]]
    for c in chunks:
        jsonschema.validate(c, CHUNK_SCHEMA)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == " Hello world."
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 4
