"""constrain: constrained decoding for any generation loop.

Compile a chat-completions ``response_format`` against a tokenizer's vocabulary, then let a
:class:`Matcher` say, at every step, which tokens may come next::

    import constrain
    vocab = constrain.Vocabulary.from_transformers(tokenizer)
    compiled = constrain.compile({"type": "regex", "schema": r"\\d{4}-\\d{2}-\\d{2}"}, vocab)
    m = compiled.matcher()
    bitmask = constrain.allocate_token_bitmask(1, vocab.size)
    m.fill_next_token_bitmask(bitmask)
    constrain.apply_token_bitmask_inplace(logits, bitmask)

Imports: the public names of the engine modules and of the request layer (:mod:`constrain.chat`),
re-exported as :data:`__all__`.
"""

from .bitmask import allocate_token_bitmask, apply_token_bitmask_inplace, bitmask_width
from .chat.completions import run_chat, stream_chat
from .chat.request import ChatRequest, parse_request
from .chat.sampling import SampledToken, Sampler, SamplingParams
from .compiler import CompiledConstraint, compile
from .errors import (
    AutomatonTooLargeError,
    CompileTimeoutError,
    ConstraintError,
    InvalidRegexError,
    InvalidRequestError,
    InvalidResponseFormatError,
    InvalidSchemaError,
    InvalidTokenError,
    MalformedSchemaError,
    UnsupportedRegexError,
    UnsupportedSchemaError,
    VocabularyError,
)
from .matcher import Matcher
from .processors import ConstraintLogitsProcessor
from .toolcalls import (
    ParsedOutput,
    ReasoningFormat,
    ToolCallFormat,
    build_output_constraint,
    parse_output,
)
from .vocab import Vocabulary

__version__ = "0.1.0"

__all__ = [
    "AutomatonTooLargeError",
    "ChatRequest",
    "CompileTimeoutError",
    "CompiledConstraint",
    "ConstraintError",
    "ConstraintLogitsProcessor",
    "InvalidRegexError",
    "InvalidRequestError",
    "InvalidResponseFormatError",
    "InvalidSchemaError",
    "MalformedSchemaError",
    "InvalidTokenError",
    "Matcher",
    "ParsedOutput",
    "ReasoningFormat",
    "SampledToken",
    "Sampler",
    "SamplingParams",
    "ToolCallFormat",
    "UnsupportedRegexError",
    "UnsupportedSchemaError",
    "Vocabulary",
    "VocabularyError",
    "allocate_token_bitmask",
    "apply_token_bitmask_inplace",
    "bitmask_width",
    "build_output_constraint",
    "compile",
    "parse_output",
    "parse_request",
    "run_chat",
    "stream_chat",
]
