"""One interface over constrain and its peers (llguidance, xgrammar, outlines-core) for the benches.

Every engine is built from the same :class:`constrain.Vocabulary` (token id -> bytes), so all of them
see exactly the same tokens, and instances are tokenized once by the model's own tokenizer. An
engine exposes:

- ``compile(response_format) -> handle`` (raises :class:`EngineRefused` when the engine refuses or
  fails on the input; any other exception is a crash of the engine and is reported as such);
- ``matcher(handle) -> matcher`` with ``consume(token_id) -> bool``, ``accepts_eos() -> bool``,
  ``fill(bitmask_row)`` (an int32 row of ``ceil(V/32)`` words) and ``allowed_ids() -> ndarray``.

The peers are optional (``pip install 'constrain[bench]'``); :func:`available_engines` lists the
ones that import. Options chosen for the peers, so they judge the same texts as constrain:
llguidance with ``whitespace_flexible`` (any JSON whitespace, as constrain's default), xgrammar with
``any_whitespace=True`` and ``strict_mode=False`` (additional properties allowed unless the schema
forbids them, as JSON Schema says), outlines-core with its default whitespace pattern.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import constrain

ENGINE_NAMES = ("constrain", "llguidance", "xgrammar", "outlines-core")


class EngineRefused(Exception):
    """The engine refused the input (unsupported keyword, invalid schema, budget) or failed to compile it."""


@dataclass
class Tokenizer:
    """A vocabulary plus the model tokenizer's own ``encode`` (no special tokens)."""

    name: str
    vocab: constrain.Vocabulary
    encode: Callable[[str], list[int]]

    @property
    def eos_id(self) -> int:
        return self.vocab.eos_token_ids[0]


def load_tokenizer(name: str) -> Tokenizer:
    """``smollm2`` (the embedded model's GGUF tokenizer, 49,152 ids) or ``tekken`` (Mistral, 131,072 ids)."""
    if name == "smollm2":
        from constrain.models import load_tokenizer as load_hf

        hf = load_hf()
        return Tokenizer("smollm2", constrain.Vocabulary.from_transformers(hf),
                         lambda text: hf.encode(text, add_special_tokens=False))
    if name == "tekken":
        import glob
        import importlib.util
        import os

        from mistral_common.tokens.tokenizers.tekken import Tekkenizer

        spec = importlib.util.find_spec("mistral_common")
        assert spec is not None and spec.submodule_search_locations
        data = os.path.join(spec.submodule_search_locations[0], "data")
        path = sorted(glob.glob(os.path.join(data, "tekken*.json")))[-1]
        tek = Tekkenizer.from_file(path)
        return Tokenizer("tekken", constrain.Vocabulary.from_tekken(path),
                         lambda text: tek.encode(text, bos=False, eos=False))
    raise ValueError(f"unknown tokenizer {name!r}; expected smollm2 or tekken")


# -- constrain -------------------------------------------------------------------------------

class ConstrainEngine:
    name = "constrain"
    #: compile options (the benches' --property-order sets ``property_order`` here)
    options: dict[str, Any] = {}

    def __init__(self, tok: Tokenizer) -> None:
        self.tok = tok

    def compile(self, response_format: Mapping[str, Any]) -> Any:
        import warnings

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return constrain.compile(response_format, self.tok.vocab, cache=False, **self.options)
        except (constrain.ConstraintError, RecursionError) as exc:
            raise EngineRefused(f"{type(exc).__name__}: {exc}") from exc

    def matcher(self, handle: Any) -> Any:
        return _ConstrainMatcher(handle.matcher())


class _ConstrainMatcher:
    def __init__(self, m: constrain.Matcher) -> None:
        self.m = m

    def consume(self, token_id: int) -> bool:
        return self.m.accept_token(token_id)

    def accepts_eos(self) -> bool:
        return self.m.can_terminate()

    def fill(self, row: np.ndarray) -> None:
        self.m.fill_next_token_bitmask(row.reshape(1, -1))

    def allowed_ids(self) -> np.ndarray:
        return self.m.allowed_token_ids()


# -- llguidance ------------------------------------------------------------------------------

class _LLGTokens:
    """The object llguidance's TokenizerWrapper reads: token bytes (special tokens empty), eos, encode."""

    def __init__(self, tok: Tokenizer) -> None:
        self.eos_token_id = tok.eos_id
        self.bos_token_id = None
        self.tokens = [b if b is not None else b"" for b in tok.vocab.token_bytes]
        self.special_token_ids = sorted(tok.vocab.special_token_ids)
        self._encode = tok.encode

    def __call__(self, text: str | bytes) -> list[int]:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        return self._encode(text)


class LLGuidanceEngine:
    name = "llguidance"

    def __init__(self, tok: Tokenizer) -> None:
        import llguidance

        self.llg = llguidance
        self.tokenizer = llguidance.LLTokenizer(llguidance.TokenizerWrapper(_LLGTokens(tok)), n_vocab=tok.vocab.size)

    def compile(self, response_format: Mapping[str, Any]) -> Any:
        kind = response_format["type"]
        try:
            if kind == "json_schema":
                schema = response_format["json_schema"]["schema"]
                grammar = self.llg.LLMatcher.grammar_from_json_schema(
                    json.dumps(schema), defaults={"whitespace_flexible": True})
            elif kind == "json_object":
                grammar = self.llg.LLMatcher.grammar_from_json_schema(
                    '{"type": "object"}', defaults={"whitespace_flexible": True})
            elif kind == "regex":
                grammar = self.llg.LLMatcher.grammar_from_regex(response_format["schema"])
            else:
                raise EngineRefused(f"unsupported format {kind}")
            # Building the matcher compiles the grammar and reports the errors validate_grammar would
            # (the same verdict on every MaskBench schema sampled), so the grammar is compiled once.
            m = self.llg.LLMatcher(self.tokenizer, grammar, log_level=0)
        except ValueError as exc:
            raise EngineRefused(str(exc)) from exc
        if m.is_error():
            raise EngineRefused(m.get_error())
        return m

    def matcher(self, handle: Any) -> Any:
        # A copy of the compiled matcher in its initial state, as a server reuses a compiled grammar.
        return _LLGMatcher(handle.deep_copy(), self.tokenizer.vocab_size)


class _LLGMatcher:
    def __init__(self, m: Any, vocab_size: int) -> None:
        self.m = m
        self.vocab_size = vocab_size

    def consume(self, token_id: int) -> bool:
        return bool(self.m.consume_token(token_id)) and not self.m.is_error()

    def accepts_eos(self) -> bool:
        return (not self.m.is_error()) and self.m.is_accepting()

    def fill(self, row: np.ndarray) -> None:
        self.m.unsafe_compute_mask_ptr(row.ctypes.data, row.size * row.itemsize)

    def allowed_ids(self) -> np.ndarray:
        row = np.zeros((self.vocab_size + 31) // 32, dtype=np.int32)
        self.fill(row)
        return _ids_of(row, self.vocab_size)


# -- xgrammar --------------------------------------------------------------------------------

class XGrammarEngine:
    name = "xgrammar"

    def __init__(self, tok: Tokenizer) -> None:
        import xgrammar

        self.xgr = xgrammar
        encoded = [b if b is not None else b"" for b in tok.vocab.token_bytes]
        info = xgrammar.TokenizerInfo(encoded, xgrammar.VocabType.RAW, vocab_size=tok.vocab.size,
                                      stop_token_ids=list(tok.vocab.eos_token_ids))
        # One thread, like every other engine here.
        self.compiler = xgrammar.GrammarCompiler(info, max_threads=1, cache_enabled=False)
        self.vocab_size = tok.vocab.size
        self.eos = tok.eos_id

    def compile(self, response_format: Mapping[str, Any]) -> Any:
        kind = response_format["type"]
        try:
            if kind == "json_schema":
                return self.compiler.compile_json_schema(
                    json.dumps(response_format["json_schema"]["schema"]), any_whitespace=True, strict_mode=False)
            if kind == "json_object":
                return self.compiler.compile_builtin_json_grammar()
            if kind == "regex":
                return self.compiler.compile_regex(response_format["schema"])
        except (RuntimeError, ValueError, TypeError) as exc:
            raise EngineRefused(str(exc)[:300]) from exc
        raise EngineRefused(f"unsupported format {kind}")

    def matcher(self, handle: Any) -> Any:
        return _XGRMatcher(self.xgr.GrammarMatcher(handle), self.vocab_size, self.eos)


class _XGRMatcher:
    def __init__(self, m: Any, vocab_size: int, eos: int) -> None:
        self.m = m
        self.vocab_size = vocab_size
        self.eos = eos
        self._mask = np.zeros((1, (vocab_size + 31) // 32), dtype=np.int32)

    def consume(self, token_id: int) -> bool:
        return bool(self.m.accept_token(token_id))

    def accepts_eos(self) -> bool:
        self.m.fill_next_token_bitmask(self._mask)
        word = int(self._mask[0, self.eos // 32])
        return bool((word >> (self.eos % 32)) & 1)

    def fill(self, row: np.ndarray) -> None:
        # Straight into the caller's row (xgrammar takes any DLPack array), as the other engines fill.
        self.m.fill_next_token_bitmask(row.reshape(1, -1))

    def allowed_ids(self) -> np.ndarray:
        self.m.fill_next_token_bitmask(self._mask)
        return _ids_of(self._mask[0], self.vocab_size)


# -- outlines-core ---------------------------------------------------------------------------

class OutlinesEngine:
    name = "outlines-core"

    def __init__(self, tok: Tokenizer) -> None:
        import outlines_core

        self.oc = outlines_core
        by_bytes: dict[bytes, list[int]] = {}
        for i, b in enumerate(tok.vocab.token_bytes):
            if b and i not in tok.vocab.special_token_ids:
                by_bytes.setdefault(b, []).append(i)
        self.vocabulary = outlines_core.Vocabulary(tok.eos_id, by_bytes)
        self.vocab_size = tok.vocab.size
        self.eos = tok.eos_id

    def compile(self, response_format: Mapping[str, Any]) -> Any:
        from outlines_core.json_schema import build_regex_from_schema

        kind = response_format["type"]
        try:
            if kind == "json_schema":
                regex = build_regex_from_schema(json.dumps(response_format["json_schema"]["schema"]))
            elif kind == "json_object":
                raise EngineRefused("outlines-core has no recursive JSON object grammar")
            elif kind == "regex":
                regex = response_format["schema"]
            else:
                raise EngineRefused(f"unsupported format {kind}")
            return self.oc.Index(regex, self.vocabulary)
        except (ValueError, RuntimeError, TypeError, BaseException) as exc:
            if isinstance(exc, (KeyboardInterrupt, SystemExit, EngineRefused)):
                raise
            raise EngineRefused(str(exc)[:300]) from exc

    def matcher(self, handle: Any) -> Any:
        return _OutlinesMatcher(self.oc.Guide(handle), self.vocab_size, self.eos)


class _OutlinesMatcher:
    def __init__(self, guide: Any, vocab_size: int, eos: int) -> None:
        self.g = guide
        self.vocab_size = vocab_size
        self.eos = eos

    def consume(self, token_id: int) -> bool:
        try:
            self.g.advance(token_id)
        except (ValueError, RuntimeError, BaseException) as exc:
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            return False
        return True

    def accepts_eos(self) -> bool:
        return self.eos in self.g.get_tokens()

    def fill(self, row: np.ndarray) -> None:
        self.g.write_mask_into(row.ctypes.data, row.size, row.itemsize)

    def allowed_ids(self) -> np.ndarray:
        return np.asarray(sorted(self.g.get_tokens()), dtype=np.int64)


def _ids_of(row: np.ndarray, vocab_size: int) -> np.ndarray:
    bits = np.unpackbits(row.view(np.uint8), bitorder="little")[:vocab_size]
    return np.flatnonzero(bits)


ENGINES: dict[str, Any] = {
    "constrain": ConstrainEngine,
    "llguidance": LLGuidanceEngine,
    "xgrammar": XGrammarEngine,
    "outlines-core": OutlinesEngine,
}


def available_engines(names: Sequence[str] = ENGINE_NAMES) -> list[str]:
    """The engines among ``names`` whose package imports."""
    modules = {"constrain": "constrain", "llguidance": "llguidance", "xgrammar": "xgrammar",
               "outlines-core": "outlines_core"}
    out = []
    for name in names:
        try:
            __import__(modules[name])
        except ImportError:
            continue
        out.append(name)
    return out


def make_engine(name: str, tok: Tokenizer) -> Any:
    return ENGINES[name](tok)
