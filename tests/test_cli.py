"""``python -m constrain generate``: argument errors, output format, and one run of the real model."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from constrain.cli import main

DATE = r"\d{4}-\d{2}-\d{2}"
DATE_FORMAT = json.dumps({"type": "regex", "schema": DATE})


def _error_line(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in captured.err
    return lines[0]


# -- errors: exit status 2, one line, before any model is loaded -----------------------------


def test_invalid_json_names_the_argument(capsys):
    assert main(["generate", "--prompt", "hi", "--response-format", '{"type": "regex", schema}']) == 2
    line = _error_line(capsys)
    assert "--response-format" in line and "not valid JSON" in line


def test_bad_regex(capsys):
    assert main(["generate", "--prompt", "hi", "--response-format", '{"type": "regex", "schema": "(a|b"}']) == 2
    line = _error_line(capsys)
    assert "(a|b" in line and "regex" in line


def test_unsupported_regex(capsys):
    assert main(["generate", "--prompt", "hi", "--response-format", json.dumps({"type": "regex", "schema": r"(a)\1"})]) == 2
    _error_line(capsys)


def test_unknown_response_format_type(capsys):
    assert main(["generate", "--prompt", "hi", "--response-format", '{"type": "yaml"}']) == 2
    assert "unknown response_format type 'yaml'" in _error_line(capsys)


def test_response_format_from_file(tmp_path, capsys):
    path = tmp_path / "fmt.json"
    path.write_text('{"type": "regex", "schema": "[z-a]"}')
    for value in (f"@{path}", str(path)):
        assert main(["generate", "--prompt", "hi", "--response-format", value]) == 2
        assert "[z-a]" in _error_line(capsys)  # the file was read and its regex compiled
    path.write_text("not json")
    assert main(["generate", "--prompt", "hi", "--response-format", f"@{path}"]) == 2
    assert "not valid JSON" in _error_line(capsys)
    assert main(["generate", "--prompt", "hi", "--response-format", f"@{tmp_path / 'missing.json'}"]) == 2
    assert "cannot read" in _error_line(capsys)


def test_model_not_found(tmp_path, capsys):
    assert main(["generate", "--prompt", "hi", "--model", str(tmp_path / "nope")]) == 2
    assert "model not found" in _error_line(capsys)


def test_bad_numbers(capsys):
    assert main(["generate", "--prompt", "hi", "--max-tokens", "-1"]) == 2
    assert "--max-tokens" in _error_line(capsys)
    assert main(["generate", "--prompt", "hi", "--temperature", "-0.5"]) == 2
    assert "--temperature" in _error_line(capsys)
    assert main(["generate", "--prompt", "hi", "--threads", "0"]) == 2
    assert "--threads" in _error_line(capsys)


def test_usage_errors(capsys):
    assert main(["generate"]) == 2
    err = capsys.readouterr().err
    assert "usage: constrain generate" in err and "error: the following arguments are required: --prompt" in err
    assert main([]) == 2
    assert "usage: constrain" in capsys.readouterr().err
    assert main(["generate", "--help"]) == 0
    assert "--response-format" in capsys.readouterr().out


def test_subprocess_error_exit_status():
    proc = subprocess.run(
        [sys.executable, "-m", "constrain", "generate", "--prompt", "hi", "--response-format", '{"type":"regex","schema":"a{2,1}"}'],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "a{2,1}" in lines[0], proc.stderr


# -- a tiny saved model: the full command path, fast -----------------------------------------


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory, smollm2_tokenizer) -> str:
    """A random one-layer Llama saved with SmolLM2's tokenizer (chat template included)."""
    torch = pytest.importorskip("torch")
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=49152, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        bos_token_id=1, eos_token_id=2, pad_token_id=2,
    )
    folder = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(folder)
    smollm2_tokenizer.save_pretrained(folder)
    return str(folder)


def test_generate_with_tiny_model_text_output(tiny_model_dir, capsys):
    person = r'\{"name": "[A-Z][a-z]{1,8}", "age": \d{1,2}\}'
    fmt = json.dumps({"type": "regex", "schema": person})
    assert main(["generate", "--model", tiny_model_dir, "--prompt", "Who?", "--response-format", fmt]) == 0
    captured = capsys.readouterr()
    assert re.fullmatch(person, captured.out.rstrip("\n")), captured.out
    assert "loading model" in captured.err
    assert re.search(r"\[stats\] speed: [\d.]+ tokens/s", captured.err)
    assert re.search(r"\[stats\] mask: [\d.]+ us/token", captured.err)
    jumped = re.search(r"\[stats\] tokens: \d+ generated \((\d+) by jump-forward\), \d+ forward calls", captured.err)
    assert jumped and int(jumped.group(1)) > 0, captured.err


def test_generate_with_tiny_model_json_output(tiny_model_dir, capsys):
    args = ["generate", "--model", tiny_model_dir, "--prompt", "When?", "--system", "Be brief.",
            "--response-format", DATE_FORMAT, "--temperature", "0.8", "--seed", "3", "--json", "--no-jump-forward"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert re.fullmatch(DATE, first["output"]) and first["finish_reason"] == "stop"
    stats = first["stats"]
    assert stats["jump_forward_tokens"] == 0 and stats["generated_tokens"] == len(first["token_ids"])
    assert stats["forward_calls"] == stats["sampled_tokens"] and stats["tokens_per_second"] > 0
    assert main(args) == 0  # same seed, same output
    assert json.loads(capsys.readouterr().out)["output"] == first["output"]


def test_max_tokens_length(tiny_model_dir, capsys):
    fmt = json.dumps({"type": "regex", "schema": "[a-z]+"})
    assert main(["generate", "--model", tiny_model_dir, "--prompt", "x", "--response-format", fmt,
                 "--max-tokens", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["finish_reason"] == "length" and len(out["token_ids"]) == 3


# -- the real embedded model, once -----------------------------------------------------------


@pytest.mark.slow
def test_embedded_model_end_to_end(capsys):
    pytest.importorskip("transformers")
    from constrain.models import ModelNotFoundError, embedded_model_path

    try:
        embedded_model_path()
    except ModelNotFoundError as exc:
        pytest.skip(str(exc))
    status = main(["generate", "--prompt", "What is today's date? Answer with a date.", "--response-format", DATE_FORMAT])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert re.fullmatch(DATE, captured.out.rstrip("\n")), captured.out
    for label in ("[stats] finish_reason: stop", "[stats] tokens:", "forward calls", "[stats] speed:", "[stats] mask:"):
        assert label in captured.err, captured.err


def test_json_schema_options(capsys):
    """A refused keyword fails fast with exit 2 naming it; --lenient accepts the same schema."""
    schema = '{"type": "json_schema", "json_schema": {"schema": {"type": "array", "uniqueItems": true}}}'
    status = main(["generate", "--prompt", "x", "--response-format", schema, "--model", "/nonexistent/model.gguf"])
    err = capsys.readouterr().err
    assert status == 2 and "uniqueItems" in err and "Traceback" not in err
    status = main(["generate", "--prompt", "x", "--response-format", schema, "--lenient", "--model", "/nonexistent/model.gguf"])
    err = capsys.readouterr().err
    assert status == 2 and "uniqueItems" not in err.splitlines()[-1] and "model" in err.splitlines()[-1]
    status = main(["generate", "--prompt", "x", "--response-format", schema, "--max-depth", "0"])
    assert status == 2 and "--max-depth" in capsys.readouterr().err
