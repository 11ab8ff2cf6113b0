"""The embedded model produces schema-valid JSON for realistic schemas (slow: loads the model once).

The CLI's `generate` command runs exactly this path (constrain.chat.generate.generate with the chat
template); test_cli.py covers the command itself.
"""

from __future__ import annotations

import json

import pytest

import constrain
from json_helpers import validator_for
from test_json import INVOICE, PERSON, TREE

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def embedded():
    pytest.importorskip("transformers")
    from constrain.models import ModelNotFoundError, embedded_model_path, load_model

    try:
        embedded_model_path()
    except ModelNotFoundError as exc:
        pytest.skip(str(exc))
    model, tokenizer = load_model()
    vocab = constrain.Vocabulary.from_transformers(tokenizer, vocab_size=model.config.vocab_size)
    return model, tokenizer, vocab


@pytest.mark.parametrize(
    ("name", "schema", "prompt"),
    [
        ("person", PERSON, "Describe Ann, a 31 year old engineer, as JSON."),
        ("invoice", INVOICE, "Write an invoice for two books as JSON."),
        ("tree", TREE, "Write a small tree of numbers as JSON."),
    ],
)
def test_embedded_model_generates_valid_json(embedded, name, schema, prompt):
    from constrain.chat.generate import generate
    from constrain.cli import _prompt_ids

    model, tokenizer, vocab = embedded
    # A small greedy model happily nests a recursive schema forever; a depth limit (grammar
    # frames: a tree level is an object and an array) makes it close the structure.
    compiled = constrain.compile(
        {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}, vocab, max_depth=7
    )
    result = generate(model, tokenizer, vocab, _prompt_ids(tokenizer, prompt, None), compiled, max_tokens=400)
    if result.finish_reason == "length":
        pytest.fail(f"{name}: no complete value within 400 tokens: {result.text[:200]!r}")
    value = json.loads(result.text)
    errors = [e.message for e in validator_for(schema).iter_errors(value)]
    assert not errors, (result.text, errors)
