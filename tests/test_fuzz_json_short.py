"""A short, fixed-seed run of fuzz/fuzz_json.py (random schemas: walks validate, instances accepted)."""

from __future__ import annotations

import importlib.util
import io
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_fuzzer():
    spec = importlib.util.spec_from_file_location("fuzz_json", os.path.join(HERE, "..", "fuzz", "fuzz_json.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_fuzz_json_short_fixed_seed(smollm2_vocab):
    pytest.importorskip("hypothesis_jsonschema")
    fuzz = _load_fuzzer()
    stats = fuzz.run(seed=20261126, cases=40, minutes=0, vocab=smollm2_vocab, walks=3, instances=5, out=io.StringIO())
    assert not stats.failures, "\n".join(stats.failures[:5])
    assert stats.cases == 40
    assert stats.compiled >= 25, stats  # most random schemas use keywords that are enforced
    assert stats.walks_ended >= 30 and stats.instances >= 50, stats


def test_fuzzer_any_property_order(smollm2_vocab):
    """The same harness with property_order="any" (members in any order, built lazily)."""
    fuzz = _load_fuzzer()
    stats = fuzz.run(seed=20261127, cases=30, minutes=0, vocab=smollm2_vocab, walks=3, instances=5,
                     out=io.StringIO(), property_order="any")
    assert not stats.failures, "\n".join(stats.failures[:5])
    assert stats.compiled >= 18 and stats.walks_ended >= 20 and stats.instances >= 40, stats


def test_fuzzer_catches_an_unsound_engine(smollm2_vocab, monkeypatch):
    """The harness must notice when outputs fail their schema: break the engine on purpose."""
    fuzz = _load_fuzzer()
    import constrain

    real_compile = constrain.compile

    def loosened(response_format, vocab, **kwargs):  # every schema compiled as json_object
        return real_compile({"type": "json_object"}, vocab, **kwargs)

    monkeypatch.setattr(fuzz.constrain, "compile", loosened)
    stats = fuzz.run(seed=5, cases=15, minutes=0, vocab=smollm2_vocab, walks=3, instances=0, out=io.StringIO())
    assert stats.failures
