"""Token id -> bytes for every tokenizer family, plus special and end-of-sequence ids.

Constraints live on bytes: a :class:`Vocabulary` holds, for every token id, the exact bytes that
token adds to the output (``None`` for ids that must never be generated as text: control and
special tokens, padding ids past the tokenizer's end). End-of-sequence ids are kept apart; a
matcher allows them only when the output is complete.

Constructors cover the three families that break engines in different ways:

* byte-level BPE (GPT-2 style, ``Ġ`` for a space), e.g. SmolLM2 — :meth:`Vocabulary.from_transformers`;
* SentencePiece with ``▁`` for a space and ``<0xNN>`` byte-fallback pieces —
  :meth:`Vocabulary.from_sentencepiece` or :meth:`Vocabulary.from_transformers`;
* tiktoken-style tekken JSON files (Mistral) — :meth:`Vocabulary.from_tekken`;

and a GGUF file's embedded tokenizer (:meth:`Vocabulary.from_gguf`, via transformers).
:data:`PROBE_VOCAB` is a tiny vocabulary of the 256 single bytes, used to validate formats early.

Imports: ``errors`` at the top; ``bitmask``, ``tokentrie`` and ``models`` inside the functions that need them.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .errors import InvalidTokenError, VocabularyError

if TYPE_CHECKING:  # pragma: no cover
    from .tokentrie import TokenTrie

_JSON_WHITESPACE = b" \t\r\n"


class WhitespaceInfo:
    """Blank runs (spaces, tabs, CR, LF) in each token, for the runaway-whitespace guard.

    A token may follow an output ending in ``run`` blank bytes iff no blank run, counted across
    the boundary, would exceed the limit: see :meth:`allows` and :meth:`allowed_rows`.
    """

    def __init__(self, token_bytes: Sequence[bytes | None]) -> None:
        import numpy as np

        n = len(token_bytes)
        self.length = np.zeros(n, dtype=np.int64)
        self.leading = np.zeros(n, dtype=np.int64)
        trailing_run = [0] * n
        self.inner = np.zeros(n, dtype=np.int64)  # longest run not touching the token's start
        all_ws = [False] * n
        for i, t in enumerate(token_bytes):
            if not t:
                continue
            runs = _BLANK_RUNS.findall(t)
            self.length[i] = len(t)
            lead = len(t) - len(t.lstrip(_JSON_WHITESPACE))
            self.leading[i] = lead
            trailing_run[i] = len(t) - len(t.rstrip(_JSON_WHITESPACE))
            all_ws[i] = lead == len(t)
            inner = [len(r) for r in runs]
            if lead and inner:
                inner = inner[1:]
            self.inner[i] = max(inner, default=0)
        # Tuples: the garbage collector stops tracking a tuple of ints and bools after its first
        # collection; two lists of every token id would be traversed at each full collection.
        self.trailing_run = tuple(trailing_run)
        self.all_ws = tuple(all_ws)

    def allows(self, token_id: int, run: int, limit: int) -> bool:
        # .item(): a Python int straight away (int(array[i]) makes a numpy scalar first)
        if self.all_ws[token_id]:
            return run + self.length.item(token_id) <= limit
        return run + self.leading.item(token_id) <= limit and self.inner.item(token_id) <= limit

    def next_run(self, token_id: int, run: int) -> int:
        return run + self.length.item(token_id) if self.all_ws[token_id] else self.trailing_run[token_id]

    def allowed_rows(self, limit: int) -> Any:
        """Packed int32 bitmask rows, one per current run 0..limit, of the tokens the guard allows.

        Computed once per limit (every JSON constraint compiled for this vocabulary asks); the
        array returned is shared and read-only.
        """
        cache = self.__dict__.setdefault("_rows_cache", {})
        rows = cache.get(limit)
        if rows is None:
            rows = cache[limit] = self._allowed_rows(limit)
            rows.flags.writeable = False
        return rows

    def _allowed_rows(self, limit: int) -> Any:
        import numpy as np

        from .bitmask import mask_to_bitmask_row

        all_ws = np.array(self.all_ws, dtype=bool)
        rows = []
        for run in range(limit + 1):
            ok = np.where(all_ws, run + self.length <= limit, (run + self.leading <= limit) & (self.inner <= limit))
            rows.append(mask_to_bitmask_row(ok))
        return np.stack(rows)


_BLANK_RUNS = re.compile(rb"[ \t\r\n]+")
_BYTE_FALLBACK = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")
SENTENCEPIECE_SPACE = "\u2581"  # '▁'


def _gpt2_unicode_to_byte() -> dict[str, int]:
    """Inverse of GPT-2's ``bytes_to_unicode``: the printable stand-in character of each byte."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1)
    )
    stand_ins = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            stand_ins.append(256 + extra)
            extra += 1
    return {chr(u): b for b, u in zip(printable, stand_ins)}


_GPT2_DECODER = _gpt2_unicode_to_byte()


class Vocabulary:
    """The bytes of every token id of a tokenizer, and which ids end generation.

    Args:
        token_bytes: ``token_bytes[i]`` is the bytes of token ``i``, or ``None`` for an id that must
            never be generated as text (special/control tokens, unused padding ids).
        eos_token_ids: ids that end generation; allowed only when the output is complete.
        special_token_ids: ids of special tokens (informational; they are never generated as text).
        name: a short description, shown in reprs and errors.

    A vocabulary is immutable. Its per-vocabulary precomputation (the token trie used to compute
    masks) is built once, on first use, and shared by every constraint compiled against it.
    """

    def __init__(
        self,
        token_bytes: Sequence[bytes | None],
        eos_token_ids: Iterable[int],
        special_token_ids: Iterable[int] = (),
        name: str = "vocabulary",
    ) -> None:
        tokens: list[bytes | None] = []
        for i, t in enumerate(token_bytes):
            if t is not None and not isinstance(t, (bytes, bytearray)):
                raise VocabularyError(f"token {i} must be bytes or None, not {type(t).__name__}")
            # An empty token would let a walk loop without making progress: never generate it.
            tokens.append(bytes(t) if t else None)
        self._token_bytes: tuple[bytes | None, ...] = tuple(tokens)
        eos = tuple(dict.fromkeys(int(i) for i in eos_token_ids))
        for i in eos:
            if not 0 <= i < len(tokens):
                raise VocabularyError(f"eos token id {i} is outside the vocabulary of {len(tokens)} ids")
        self._eos_token_ids = eos
        self._special_token_ids = frozenset(int(i) for i in special_token_ids) | frozenset(eos)
        self.name = name

    # -- basic facts -------------------------------------------------------------------------
    @property
    def size(self) -> int:
        """Number of token ids (the width of a logits row this vocabulary serves)."""
        return len(self._token_bytes)

    def __len__(self) -> int:
        return self.size

    @property
    def token_bytes(self) -> tuple[bytes | None, ...]:
        return self._token_bytes

    @property
    def eos_token_ids(self) -> tuple[int, ...]:
        return self._eos_token_ids

    @property
    def special_token_ids(self) -> frozenset[int]:
        return self._special_token_ids

    def __repr__(self) -> str:
        return f"Vocabulary({self.name!r}, size={self.size}, eos={list(self._eos_token_ids)})"

    def check_token_id(self, token_id: int) -> int:
        """Return ``token_id`` as an int, raising InvalidTokenError when it is out of range."""
        try:
            tid = int(token_id)
        except (TypeError, ValueError):
            raise InvalidTokenError(f"token id must be an integer, not {token_id!r}") from None
        if not 0 <= tid < self.size:
            raise InvalidTokenError(f"token id {tid} is outside the vocabulary of {self.size} ids")
        return tid

    def decode_bytes(self, token_ids: Iterable[int]) -> bytes:
        """Concatenated bytes of ``token_ids`` (special tokens contribute nothing)."""
        return b"".join(self._token_bytes[self.check_token_id(t)] or b"" for t in token_ids)

    def decode(self, token_ids: Iterable[int]) -> str:
        """Text of ``token_ids``, invalid UTF-8 replaced."""
        return self.decode_bytes(token_ids).decode("utf-8", errors="replace")

    @cached_property
    def trie(self) -> "TokenTrie":
        """The token trie used to compute masks (built once per vocabulary, on first use)."""
        from .tokentrie import TokenTrie

        return TokenTrie(self._token_bytes)

    @cached_property
    def producible_bytes(self) -> Any:
        """(256,) bool array: the bytes that occur in at least one token (others can never be output)."""
        import numpy as np

        seen = np.zeros(256, dtype=bool)
        seen[list(set().union(*(set(t) for t in self._token_bytes if t)))] = True
        return seen

    @cached_property
    def whitespace_info(self) -> "WhitespaceInfo":
        """Per-token facts about JSON whitespace (space, tab, CR, LF), for the runaway-whitespace guard."""
        return WhitespaceInfo(self._token_bytes)

    def with_eos_token_ids(self, eos_token_ids: Iterable[int]) -> "Vocabulary":
        """The same vocabulary with other end-of-sequence ids (the request's ``eos_token`` field).

        The token trie is shared, so this is cheap.
        """
        other = Vocabulary.__new__(Vocabulary)
        other._token_bytes = self._token_bytes
        eos = tuple(dict.fromkeys(int(i) for i in eos_token_ids))
        if not eos:
            raise VocabularyError("eos_token must list at least one token id")
        for i in eos:
            if not 0 <= i < self.size:
                raise InvalidTokenError(f"eos token id {i} is outside the vocabulary of {self.size} ids")
        other._eos_token_ids = eos
        other._special_token_ids = (self._special_token_ids - frozenset(self._eos_token_ids)) | frozenset(eos)
        other.name = self.name
        for shared in ("trie", "whitespace_info", "producible_bytes"):
            if shared in self.__dict__:
                other.__dict__[shared] = self.__dict__[shared]
        return other

    def padded(self, vocab_size: int) -> "Vocabulary":
        """This vocabulary widened to ``vocab_size`` ids (models often have more logits than tokens)."""
        if vocab_size < self.size:
            raise VocabularyError(
                f"cannot shrink a vocabulary of {self.size} ids to {vocab_size}; the model's "
                "logits must cover every token id"
            )
        if vocab_size == self.size:
            return self
        return Vocabulary(
            list(self._token_bytes) + [None] * (vocab_size - self.size),
            self._eos_token_ids,
            self._special_token_ids,
            name=self.name,
        )

    # -- constructors ------------------------------------------------------------------------
    @classmethod
    def from_token_bytes(
        cls,
        tokens: Sequence[bytes | None],
        eos_token_ids: Iterable[int],
        *,
        vocab_size: int | None = None,
        name: str = "token bytes",
    ) -> "Vocabulary":
        """A vocabulary from a plain list: ``tokens[i]`` is the bytes of id ``i`` or ``None``."""
        vocab = cls(tokens, eos_token_ids, name=name)
        return vocab.padded(vocab_size) if vocab_size is not None else vocab

    @classmethod
    def from_transformers(cls, tokenizer: Any, *, vocab_size: int | None = None) -> "Vocabulary":
        """A vocabulary from a Hugging Face ``transformers`` tokenizer.

        Byte-level BPE (``Ġ``), SentencePiece-style (``▁`` and ``<0xNN>`` byte fallback) and plain
        vocabularies are told apart from the fast tokenizer's decoder. Special tokens become
        ``None``; other added tokens keep their text. EOS ids are the tokenizer's ``eos_token_id``
        (and, for chat models whose template ends turns with another token, e.g. ``<|im_end|>``,
        that is what ``eos_token_id`` names).

        Args:
            tokenizer: a ``PreTrainedTokenizerFast`` (or slow tokenizer with ``convert_ids_to_tokens``).
            vocab_size: the model's logits width, if larger than the tokenizer's vocabulary.
        """
        kind = _tokenizer_kind(tokenizer)
        n = len(tokenizer)
        ids = list(range(n))
        pieces = tokenizer.convert_ids_to_tokens(ids)
        special = set(getattr(tokenizer, "all_special_ids", []) or [])
        added = {}
        try:
            added = {int(i): tok for i, tok in tokenizer.added_tokens_decoder.items()}
        except AttributeError:
            pass
        for i, tok in added.items():
            if getattr(tok, "special", False):
                special.add(i)
        tokens: list[bytes | None] = []
        for i, piece in enumerate(pieces):
            if i in special or piece is None:
                tokens.append(None)
            elif i in added:
                tokens.append(str(added[i]).encode("utf-8"))
            else:
                tokens.append(_piece_to_bytes(piece, kind))
        eos: list[int] = []
        if getattr(tokenizer, "eos_token_id", None) is not None:
            eos.append(int(tokenizer.eos_token_id))
        if not eos:
            raise VocabularyError("the tokenizer defines no eos_token_id; pass eos ids with with_eos_token_ids()")
        name = f"transformers:{getattr(tokenizer, 'name_or_path', '') or type(tokenizer).__name__} ({kind})"
        vocab = cls(tokens, eos, special, name=name)
        return vocab.padded(vocab_size) if vocab_size is not None else vocab

    @classmethod
    def from_tekken(cls, path: str | os.PathLike[str], *, vocab_size: int | None = None) -> "Vocabulary":
        """A vocabulary from a Mistral *tekken* JSON file (tiktoken-style byte-level BPE).

        Ids ``0 .. num_special-1`` are special tokens (``</s>``, id 2 unless the file's
        ``special_tokens`` say otherwise, is EOS); the ranked byte tokens follow.
        """
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            config = data["config"]
            num_special = int(config["default_num_special_tokens"])
            total = int(config.get("default_vocab_size", num_special + len(data["vocab"])))
            ranked = data["vocab"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise VocabularyError(f"not a readable tekken tokenizer file: {path}: {exc}") from exc
        tokens: list[bytes | None] = [None] * total
        for entry in ranked:
            rank = int(entry["rank"])
            if rank + num_special < total:
                tokens[rank + num_special] = base64.b64decode(entry["token_bytes"])
        eos = [2]
        specials = data.get("special_tokens")
        if specials:
            eos = [int(t["rank"]) for t in specials if t.get("token_str") == "</s>"] or eos
        vocab = cls(tokens, eos, range(num_special), name=f"tekken:{os.path.basename(path)}")
        return vocab.padded(vocab_size) if vocab_size is not None else vocab

    @classmethod
    def from_sentencepiece(cls, path: str | os.PathLike[str], *, vocab_size: int | None = None) -> "Vocabulary":
        """A vocabulary from a SentencePiece model file (needs the ``sentencepiece`` package).

        ``▁`` becomes a space, ``<0xNN>`` byte pieces become that single byte, control and unknown
        pieces become ``None``.
        """
        try:
            import sentencepiece as spm
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise VocabularyError("Vocabulary.from_sentencepiece needs the 'sentencepiece' package") from exc
        try:
            sp = spm.SentencePieceProcessor(model_file=str(path))
        except (OSError, RuntimeError) as exc:
            raise VocabularyError(f"not a readable SentencePiece model: {path}: {exc}") from exc
        tokens: list[bytes | None] = []
        special = []
        for i in range(sp.get_piece_size()):
            if sp.is_control(i) or sp.is_unknown(i) or sp.is_unused(i):
                tokens.append(None)
                special.append(i)
            elif sp.is_byte(i):
                tokens.append(_piece_to_bytes(sp.id_to_piece(i), "sentencepiece"))
            else:
                tokens.append(sp.id_to_piece(i).replace(SENTENCEPIECE_SPACE, " ").encode("utf-8"))
        eos = [sp.eos_id()] if sp.eos_id() >= 0 else []
        vocab = cls(tokens, eos, special, name=f"sentencepiece:{os.path.basename(path)}")
        return vocab.padded(vocab_size) if vocab_size is not None else vocab

    @classmethod
    def from_gguf(cls, path: str | os.PathLike[str], *, vocab_size: int | None = None) -> "Vocabulary":
        """A vocabulary from the tokenizer embedded in a GGUF file (needs ``transformers`` and ``gguf``)."""
        from .models import load_tokenizer

        return cls.from_transformers(load_tokenizer(str(path)), vocab_size=vocab_size)


def _tokenizer_kind(tokenizer: Any) -> str:
    """'byte_level', 'sentencepiece' or 'raw', read from a fast tokenizer's serialized pipeline."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        # Slow tokenizers: SentencePiece ones carry an sp_model.
        return "sentencepiece" if hasattr(tokenizer, "sp_model") else "raw"
    spec = json.loads(backend.to_str())
    text = json.dumps([spec.get("decoder"), spec.get("pre_tokenizer")])
    if '"ByteLevel"' in text:
        return "byte_level"
    model = spec.get("model") or {}
    if model.get("byte_fallback") or '"ByteFallback"' in text or '"Metaspace"' in text or SENTENCEPIECE_SPACE in text:
        return "sentencepiece"
    return "raw"


def _piece_to_bytes(piece: str, kind: str) -> bytes:
    if kind == "byte_level":
        try:
            return bytes(_GPT2_DECODER[ch] for ch in piece)
        except KeyError:
            return piece.encode("utf-8")
    if kind == "sentencepiece":
        m = _BYTE_FALLBACK.match(piece)
        if m:
            return bytes([int(m.group(1), 16)])
        return piece.replace(SENTENCEPIECE_SPACE, " ").encode("utf-8")
    return piece.encode("utf-8")


#: A vocabulary of the 256 single bytes and one EOS id (256), to validate a ``response_format``
#: (regex syntax and schema included) before a model is loaded: whether compiling succeeds does not
#: depend on the vocabulary's tokens. The command line and the request parser compile against it.
PROBE_VOCAB = Vocabulary([bytes([b]) for b in range(256)] + [None], [256], name="probe")
