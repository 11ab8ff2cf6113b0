"""Shared fixtures: the three real tokenizer families, loaded once per test session."""

from __future__ import annotations

import importlib.util
import os

import pytest

import constrain
from constrain.models import load_tokenizer


def _mistral_data(name: str) -> str:
    spec = importlib.util.find_spec("mistral_common")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("mistral-common is not installed")
    return os.path.join(spec.submodule_search_locations[0], "data", name)


@pytest.fixture(scope="session")
def smollm2_tokenizer():
    """The embedded model's transformers tokenizer (GPT-2 byte-level BPE, 49,152 ids)."""
    return load_tokenizer()


@pytest.fixture(scope="session")
def smollm2_vocab(smollm2_tokenizer) -> constrain.Vocabulary:
    return constrain.Vocabulary.from_transformers(smollm2_tokenizer)


@pytest.fixture(scope="session")
def tekken_vocab() -> constrain.Vocabulary:
    """Mistral tekken (tiktoken-style byte-level BPE, 131,072 ids)."""
    return constrain.Vocabulary.from_tekken(_mistral_data("tekken_240911.json"))


@pytest.fixture(scope="session")
def sentencepiece_vocab() -> constrain.Vocabulary:
    """Mistral SentencePiece v3 (byte fallback, 32,768 ids)."""
    return constrain.Vocabulary.from_sentencepiece(_mistral_data("mistral_instruct_tokenizer_240323.model.v3"))


@pytest.fixture(scope="session")
def sentencepiece_processor():
    import sentencepiece as spm

    return spm.SentencePieceProcessor(model_file=_mistral_data("mistral_instruct_tokenizer_240323.model.v3"))


@pytest.fixture(scope="session")
def tekken_encoder():
    """A callable text -> tekken token ids (canonical tokenization), via mistral-common."""
    from mistral_common.tokens.tokenizers.tekken import Tekkenizer

    tok = Tekkenizer.from_file(_mistral_data("tekken_240911.json"))
    return lambda text: tok.encode(text, bos=False, eos=False)


@pytest.fixture(scope="session", params=["smollm2", "tekken", "sentencepiece"])
def family(request):
    """(name, vocabulary, encode) for each real tokenizer family; encode gives canonical ids."""
    name = request.param
    if name == "smollm2":
        tok = request.getfixturevalue("smollm2_tokenizer")
        return name, request.getfixturevalue("smollm2_vocab"), lambda s: tok.encode(s, add_special_tokens=False)
    if name == "tekken":
        return name, request.getfixturevalue("tekken_vocab"), request.getfixturevalue("tekken_encoder")
    sp = request.getfixturevalue("sentencepiece_processor")
    return name, request.getfixturevalue("sentencepiece_vocab"), lambda s: sp.encode(s)
