"""A short, fixed-seed run of fuzz/fuzz_regex.py in-process (about 20 s), and a check that the
fuzzer does catch a planted engine bug."""

from __future__ import annotations

import importlib.util
import os
import sys

import numpy as np
import pytest

import constrain

_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fuzz", "fuzz_regex.py")


@pytest.fixture(scope="module")
def fuzz():
    spec = importlib.util.spec_from_file_location("fuzz_regex", _PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_regex"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


# (family fixture names, cases): the tekken mask walk is the slowest, so it gets fewer cases.
RUNS = [
    ("tekken_vocab", "tekken_encoder", 50),
    ("smollm2_vocab", "smollm2_tokenizer", 60),
    ("sentencepiece_vocab", "sentencepiece_processor", 70),
]


@pytest.mark.parametrize("vocab_fixture, encoder_fixture, cases", RUNS, ids=[r[0].split("_")[0] for r in RUNS])
def test_fuzz_short_fixed_seed(fuzz, request, vocab_fixture, encoder_fixture, cases):
    vocab = request.getfixturevalue(vocab_fixture)
    enc = request.getfixturevalue(encoder_fixture)
    if encoder_fixture == "smollm2_tokenizer":
        encode = lambda s: enc.encode(s, add_special_tokens=False)  # noqa: E731
    elif encoder_fixture == "sentencepiece_processor":
        encode = enc.encode
    else:
        encode = enc
    lines: list[str] = []
    result = fuzz.run(vocab, encode, seed=20240917, max_cases=cases, report_every=0,
                      stop_on_failure=False, log=lines.append)
    assert result.failures == [], "\n".join(lines)
    assert result.cases == cases
    # the cases really exercised the engine
    assert result.checked >= cases * 0.8
    assert result.walks_ended >= result.walks * 0.9
    assert result.strings >= cases * 2


def test_fuzzer_catches_a_planted_bug(fuzz, tekken_vocab, tekken_encoder, monkeypatch):
    """Make every automaton state accepting (so prefixes of matches pass): the fuzzer must notice."""
    real = constrain.compiler.compile_regex

    def broken(pattern, **kwargs):
        dfa = real(pattern, **kwargs)
        dfa.accepting = np.ones_like(dfa.accepting)
        dfa._forced = None
        return dfa

    monkeypatch.setattr(constrain.compiler, "compile_regex", broken)
    lines: list[str] = []
    result = fuzz.run(tekken_vocab, tekken_encoder, seed=5, max_cases=20, report_every=0, log=lines.append)
    assert result.failures, "the fuzzer missed a planted soundness bug"
    assert any("COUNTEREXAMPLE" in line for line in lines)


def test_fuzzer_cli_replays_a_case(fuzz, capsys, monkeypatch, tekken_vocab, tekken_encoder):
    """--case replays exactly one case; the CLI returns 0 when no counterexample is found."""
    monkeypatch.setattr(fuzz, "load_family", lambda name: (tekken_vocab, tekken_encoder))
    rc = fuzz.main(["--vocab", "tekken", "--seed", "3", "--case", "3000012"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "done: 1 cases" in out
