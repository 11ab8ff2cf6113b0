"""Chat-completions request bodies: parse, validate, and turn into typed values.

:func:`parse_request` reads a Friendli/OpenAI chat-completions body (a dict decoded from JSON) and
returns a frozen :class:`ChatRequest`, or raises :class:`~constrain.errors.InvalidRequestError`
whose ``.field`` is the path of the offending field (``"top_p"``, ``"messages[1].role"``,
``"tool_choice.function.name"``, ``"logit_bias.50256"``, ``"tools[0].function.parameters"``).

Rules (OpenAI's, with Friendli's extra sampling fields):

- unknown fields are refused, with a suggestion for near misses (``max_token`` -> ``max_tokens``);
- :data:`IGNORED_FIELDS` (OpenAI fields that do not change what a local model generates) are accepted
  and ignored, whatever their value;
- booleans never pass as numbers, NaN and infinities are refused;
- ``max_completion_tokens`` is an alias of ``max_tokens`` (both given with different values is an error);
- ``stop`` is a string or a list of at most 4 non-empty strings;
- ``response_format`` and every tool's ``parameters`` are validated by compiling them against a small
  probe vocabulary (so a bad regex or schema fails here, before a model is loaded);
- when ``vocab_size`` is given, ``logit_bias`` keys and ``eos_token`` ids must be below it.

Part of the request layer (:mod:`constrain.chat`). Imports: the engine's public names only
(``errors``; ``compiler.compile`` and ``vocab.PROBE_VOCAB`` inside the probe), and ``chat.sampling``.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConstraintError, InvalidRequestError

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "IGNORED_FIELDS",
    "MAX_N",
    "MAX_STOP",
    "MAX_TOP_LOGPROBS",
    "ChatRequest",
    "Message",
    "parse_request",
]

#: ``max_tokens`` when the body gives none (OpenAI's default is "up to the context"; a local loop needs a bound).
DEFAULT_MAX_TOKENS = 256
#: Most choices one request may ask for.
MAX_N = 16
#: Most stop strings (OpenAI's limit).
MAX_STOP = 4
#: Largest ``top_logprobs`` (OpenAI's limit).
MAX_TOP_LOGPROBS = 20

#: OpenAI fields accepted and ignored: they change billing, storage, routing or output modalities
#: of a hosted service, never the text a local model generates.
IGNORED_FIELDS = frozenset(
    {
        "user",
        "metadata",
        "store",
        "service_tier",
        "modalities",
        "prediction",
        "audio",
        "web_search_options",
        "safety_identifier",
        "prompt_cache_key",
    }
)

_KNOWN_FIELDS = frozenset(
    {
        "model",
        "messages",
        "chat_template_kwargs",
        "eos_token",
        "frequency_penalty",
        "presence_penalty",
        "repetition_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "max_tokens",
        "max_completion_tokens",
        "min_tokens",
        "min_p",
        "top_k",
        "top_p",
        "temperature",
        "xtc_threshold",
        "xtc_probability",
        "n",
        "seed",
        "stop",
        "stream",
        "stream_options",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "parse_reasoning",
        "include_reasoning",
        "response_format",
    }
)

_ROLES = ("system", "developer", "user", "assistant", "tool")
_MESSAGE_FIELDS = {
    "system": {"role", "content", "name"},
    "developer": {"role", "content", "name"},
    "user": {"role", "content", "name"},
    "assistant": {"role", "content", "name", "tool_calls", "refusal", "reasoning_content"},
    "tool": {"role", "content", "tool_call_id", "name"},
}
# apply_chat_template's own parameters: chat_template_kwargs may not override them.
_RESERVED_TEMPLATE_KWARGS = frozenset(
    {
        "conversation",
        "messages",
        "tools",
        "documents",
        "chat_template",
        "add_generation_prompt",
        "continue_final_message",
        "tokenize",
        "padding",
        "truncation",
        "max_length",
        "return_tensors",
        "return_dict",
        "return_assistant_tokens_mask",
        "tokenizer_kwargs",
    }
)
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SEED_MAX = 2**64 - 1


@dataclass(frozen=True)
class Message:
    """One validated message.

    ``role`` is one of system, user, assistant, tool (``developer`` is read as ``system``);
    ``content`` is text (content parts of type ``text`` are joined) or ``None`` for an assistant
    message that only calls tools; ``tool_calls`` holds ``{"id", "type": "function", "function":
    {"name", "arguments": str}}`` dicts.
    """

    role: str
    content: str | None
    name: str | None = None
    tool_calls: tuple[dict[str, Any], ...] = ()
    tool_call_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The message as an OpenAI-shaped dict (only the fields that are set)."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.name is not None:
            out["name"] = self.name
        if self.tool_calls:
            out["tool_calls"] = [dict(c) for c in self.tool_calls]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        return out


@dataclass(frozen=True)
class ChatRequest:
    """A validated chat-completions request (see the module docstring for the rules).

    Defaults are OpenAI's (temperature 1, top_p 1, n 1, ...), with ``max_tokens``
    :data:`DEFAULT_MAX_TOKENS` when absent. ``tool_choice`` is ``None`` (absent: "auto" with tools,
    "none" without), ``"none"``, ``"auto"``, ``"required"`` or ``{"type": "function", "function":
    {"name": ...}}``. ``ignored`` lists the :data:`IGNORED_FIELDS` the body had.
    """

    messages: tuple[Message, ...]
    model: str | None = None
    max_tokens: int = DEFAULT_MAX_TOKENS
    min_tokens: int = 0
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    min_p: float = 0.0
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    repetition_penalty: float = 1.0
    logit_bias: Mapping[int, float] = field(default_factory=dict)
    xtc_threshold: float = 0.1
    xtc_probability: float = 0.0
    logprobs: bool = False
    top_logprobs: int = 0
    n: int = 1
    seed: int | None = None
    stop: tuple[str, ...] = ()
    stream: bool = False
    include_usage: bool = False
    eos_token: tuple[int, ...] = ()
    tools: tuple[dict[str, Any], ...] = ()
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool = True
    parse_reasoning: bool = False
    include_reasoning: bool = True
    response_format: dict[str, Any] | None = None
    chat_template_kwargs: Mapping[str, Any] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()

    @property
    def tools_enabled(self) -> bool:
        """Whether the model is offered the tools (tools given and ``tool_choice`` is not "none")."""
        return bool(self.tools) and self.tool_choice != "none"

    @property
    def effective_tool_choice(self) -> str | dict[str, Any]:
        """``tool_choice`` with OpenAI's default filled in ("auto" with tools, "none" without)."""
        if self.tool_choice is not None:
            return self.tool_choice
        return "auto" if self.tools else "none"

    def sampling_params(self) -> Any:
        """The :class:`constrain.chat.sampling.SamplingParams` of this request."""
        from .sampling import SamplingParams

        # Every sampling field has the same name (and default) here; tests/test_request.py checks it.
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(SamplingParams)}
        return SamplingParams(**dict(values, logit_bias=dict(self.logit_bias)))

    def check_vocab_size(self, vocab_size: int) -> None:
        """Raise InvalidRequestError when a ``logit_bias`` key or an ``eos_token`` id is >= ``vocab_size``."""
        for token_id in self.logit_bias:
            if token_id >= vocab_size:
                raise InvalidRequestError(
                    f"token id {token_id} is outside the vocabulary of {vocab_size} ids", f"logit_bias.{token_id}"
                )
        for i, token_id in enumerate(self.eos_token):
            if token_id >= vocab_size:
                raise InvalidRequestError(
                    f"token id {token_id} is outside the vocabulary of {vocab_size} ids", f"eos_token[{i}]"
                )

    def replace(self, **changes: Any) -> ChatRequest:
        """A copy with some fields changed (not re-validated)."""
        return dataclasses.replace(self, **changes)


# --------------------------------------------------------------------------------------------
# value checks
# --------------------------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _fail(message: str, path: str | None) -> InvalidRequestError:
    return InvalidRequestError(message, path)


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(f"must be a boolean, not {_type_name(value)}", path)
    return value


def _int(value: Any, path: str, *, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer() and math.isfinite(value):
            value = int(value)  # JSON 5.0: an integer written as a float
        else:
            raise _fail(f"must be an integer, not {_type_name(value)} {value!r}", path)
    if lo is not None and value < lo:
        raise _fail(f"must be >= {lo}, got {value}", path)
    if hi is not None and value > hi:
        raise _fail(f"must be <= {hi}, got {value}", path)
    return value


def _number(
    value: Any,
    path: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    range_text: str | None = None,
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(f"must be a number, not {_type_name(value)} {value!r}", path)
    value = float(value)
    if not math.isfinite(value):
        raise _fail(f"must be a finite number, got {value}", path)
    bad = (lo is not None and (value <= lo if lo_open else value < lo)) or (hi is not None and value > hi)
    if bad:
        if range_text is None:
            if lo is not None and hi is not None:
                range_text = f"{'(' if lo_open else '['}{lo:g}, {hi:g}]"
            else:
                range_text = f"> {lo:g}" if lo_open else f">= {lo:g}" if lo is not None else f"<= {hi:g}"
        raise _fail(f"must be in {range_text}, got {value:g}", path)
    return value


def _str(value: Any, path: str, *, non_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise _fail(f"must be a string, not {_type_name(value)}", path)
    if non_empty and not value:
        raise _fail("must not be empty", path)
    return value


def _object(value: Any, path: str | None) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(f"must be an object, not {_type_name(value)}", path)
    return value


def _array(value: Any, path: str) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise _fail(f"must be an array, not {_type_name(value)}", path)
    return list(value)


def _unknown_keys(obj: Mapping[str, Any], allowed: set[str] | frozenset[str], prefix: str) -> None:
    for key in obj:
        if key in allowed:
            continue
        where = f"{prefix}.{key}" if prefix else str(key)
        close = difflib.get_close_matches(str(key), sorted(allowed), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f"; expected one of {sorted(allowed)}"
        raise _fail(f"unknown field {str(key)!r}{hint}", where)


def _probe_compile(response_format: Any, path: str, options: Mapping[str, Any]) -> None:
    """Compile against the probe vocabulary: shape, regex and schema errors surface here."""
    from ..compiler import compile
    from ..vocab import PROBE_VOCAB

    try:
        compile(response_format, PROBE_VOCAB, cache=False, **options)
    except InvalidRequestError:
        raise
    except ConstraintError as exc:
        raise _fail(str(exc), path) from None
    except (TypeError, RecursionError) as exc:  # deeply malformed input the compiler did not expect
        raise _fail(f"cannot be compiled: {exc}", path) from None


# --------------------------------------------------------------------------------------------
# messages and tools
# --------------------------------------------------------------------------------------------


def _content(value: Any, path: str, *, required: bool) -> str | None:
    if value is None:
        if required:
            raise _fail("is required", path)
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        texts = []
        for j, part in enumerate(value):
            ppath = f"{path}[{j}]"
            part = _object(part, ppath)
            kind = part.get("type")
            if kind != "text":
                raise _fail(f"only content parts of type 'text' are supported, not {kind!r}", f"{ppath}.type")
            _unknown_keys(part, {"type", "text"}, ppath)
            texts.append(_str(part.get("text"), f"{ppath}.text"))
        return "".join(texts)
    raise _fail(f"must be a string or an array of text parts, not {_type_name(value)}", path)


def _tool_call(value: Any, path: str) -> dict[str, Any]:
    call = _object(value, path)
    _unknown_keys(call, {"id", "type", "function", "index"}, path)
    call_id = _str(call.get("id"), f"{path}.id", non_empty=True)
    if call.get("type", "function") != "function":
        raise _fail(f"must be 'function', not {call.get('type')!r}", f"{path}.type")
    fn = _object(call.get("function"), f"{path}.function")
    _unknown_keys(fn, {"name", "arguments"}, f"{path}.function")
    name = _str(fn.get("name"), f"{path}.function.name", non_empty=True)
    arguments = fn.get("arguments")
    apath = f"{path}.function.arguments"
    if isinstance(arguments, Mapping):
        arguments = json.dumps(arguments, ensure_ascii=False)
    else:
        arguments = _str(arguments, apath)
        try:
            parsed = json.loads(arguments)
        except json.JSONDecodeError as exc:
            raise _fail(f"must be a JSON object text: {exc}", apath) from None
        if not isinstance(parsed, dict):
            raise _fail(f"must be a JSON object text, not a JSON {_type_name(parsed)}", apath)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _messages(value: Any) -> tuple[Message, ...]:
    if value is None:
        raise _fail("is required", "messages")
    items = _array(value, "messages")
    if not items:
        raise _fail("must hold at least one message", "messages")
    out: list[Message] = []
    open_calls: set[str] = set()  # ids of the latest assistant tool calls, answerable by tool messages
    for i, raw in enumerate(items):
        path = f"messages[{i}]"
        msg = _object(raw, path)
        if "role" not in msg:
            raise _fail("is required", f"{path}.role")
        role = msg["role"]
        if role not in _ROLES:
            raise _fail(f"must be one of {list(_ROLES)}, not {role!r}", f"{path}.role")
        _unknown_keys(msg, _MESSAGE_FIELDS[role], path)
        name = None if msg.get("name") is None else _str(msg["name"], f"{path}.name")
        if role == "assistant":
            calls = ()
            if msg.get("tool_calls") is not None:
                raw_calls = _array(msg["tool_calls"], f"{path}.tool_calls")
                calls = tuple(_tool_call(c, f"{path}.tool_calls[{j}]") for j, c in enumerate(raw_calls))
            content = _content(msg.get("content"), f"{path}.content", required=not calls)
            out.append(Message("assistant", content, name, calls))
            open_calls = {c["id"] for c in calls}
            continue
        if role == "tool":
            if "tool_call_id" not in msg:
                raise _fail("is required in a tool message", f"{path}.tool_call_id")
            call_id = _str(msg["tool_call_id"], f"{path}.tool_call_id", non_empty=True)
            if call_id not in open_calls:
                raise _fail(
                    f"{call_id!r} answers no tool call of the preceding assistant message", f"{path}.tool_call_id"
                )
            content = _content(msg.get("content"), f"{path}.content", required=True)
            out.append(Message("tool", content, name, (), call_id))
            continue
        open_calls = set()
        content = _content(msg.get("content"), f"{path}.content", required=True)
        out.append(Message("system" if role == "developer" else role, content, name))
    return tuple(out)


def _tools(value: Any, options: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    if value is None:
        return ()
    items = _array(value, "tools")
    out = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(items):
        path = f"tools[{i}]"
        tool = _object(raw, path)
        _unknown_keys(tool, {"type", "function"}, path)
        if tool.get("type") != "function":
            raise _fail(f"must be 'function', not {tool.get('type')!r}", f"{path}.type")
        fn = _object(tool.get("function"), f"{path}.function")
        _unknown_keys(fn, {"name", "description", "parameters", "strict"}, f"{path}.function")
        name = _str(fn.get("name"), f"{path}.function.name", non_empty=True)
        if not _TOOL_NAME.match(name):
            raise _fail(f"must be 1-64 letters, digits, '_' or '-', got {name!r}", f"{path}.function.name")
        if name in seen:
            raise _fail(f"duplicate tool name {name!r} (also tools[{seen[name]}])", f"{path}.function.name")
        seen[name] = i
        function: dict[str, Any] = {"name": name}
        if fn.get("description") is not None:
            function["description"] = _str(fn["description"], f"{path}.function.description")
        if fn.get("strict") is not None:
            function["strict"] = _bool(fn["strict"], f"{path}.function.strict")
        ppath = f"{path}.function.parameters"
        params = fn.get("parameters")
        if params is None:
            params = {"type": "object", "properties": {}}
        params = _object(params, ppath)
        kind = params.get("type", "object")
        if kind != "object":
            raise _fail(f"must be a JSON Schema of type 'object', not {kind!r}", ppath)
        _probe_compile({"type": "json_schema", "json_schema": {"schema": dict(params)}}, ppath, options)
        function["parameters"] = dict(params)
        out.append({"type": "function", "function": function})
    return tuple(out)


def _tool_choice(value: Any, tools: tuple[dict[str, Any], ...]) -> str | dict[str, Any] | None:
    if value is None:
        return None
    names = [t["function"]["name"] for t in tools]
    if isinstance(value, str):
        if value not in ("none", "auto", "required"):
            raise _fail(f"must be 'none', 'auto', 'required' or a function object, not {value!r}", "tool_choice")
        if value == "required" and not tools:
            raise _fail("'required' needs at least one tool in 'tools'", "tool_choice")
        return value
    choice = _object(value, "tool_choice")
    _unknown_keys(choice, {"type", "function"}, "tool_choice")
    if choice.get("type") != "function":
        raise _fail(f"must be 'function', not {choice.get('type')!r}", "tool_choice.type")
    fn = _object(choice.get("function"), "tool_choice.function")
    _unknown_keys(fn, {"name"}, "tool_choice.function")
    name = _str(fn.get("name"), "tool_choice.function.name", non_empty=True)
    if not tools:
        raise _fail(f"names tool {name!r} but the request has no 'tools'", "tool_choice.function.name")
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; tools are {names}"
        raise _fail(f"no tool named {name!r}{hint}", "tool_choice.function.name")
    return {"type": "function", "function": {"name": name}}


# --------------------------------------------------------------------------------------------
# the body
# --------------------------------------------------------------------------------------------


def parse_request(
    body: Any, *, vocab_size: int | None = None, compile_options: Mapping[str, Any] | None = None
) -> ChatRequest:
    """Validate a chat-completions body and return a :class:`ChatRequest`.

    Args:
        body: the decoded JSON body (a mapping).
        vocab_size: the model's vocabulary size, when known: ``logit_bias`` keys and ``eos_token``
            ids must be below it.
        compile_options: keyword arguments of :func:`constrain.compile` used to validate
            ``response_format`` and tool parameters (``lenient``, ``max_depth``, ...).

    Raises:
        InvalidRequestError: with ``.field`` naming the offending field (``None`` when the body is
            not an object).
    """
    options = dict(compile_options or {})
    body = _object(body, None)
    for key in body:
        if not isinstance(key, str):
            raise _fail(f"field names must be strings, not {_type_name(key)}", str(key))
    _unknown_keys(body, _KNOWN_FIELDS | IGNORED_FIELDS, "")
    get = body.get
    kw: dict[str, Any] = {}

    kw["messages"] = _messages(get("messages"))
    if get("model") is not None:
        kw["model"] = _str(get("model"), "model")

    # lengths
    max_tokens = None if get("max_tokens") is None else _int(get("max_tokens"), "max_tokens", lo=1)
    if get("max_completion_tokens") is not None:
        alias = _int(get("max_completion_tokens"), "max_completion_tokens", lo=1)
        if max_tokens is not None and alias != max_tokens:
            raise _fail(
                f"is an alias of max_tokens, and they differ ({alias} vs {max_tokens}); give one",
                "max_completion_tokens",
            )
        max_tokens = alias
    kw["max_tokens"] = DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens
    if get("min_tokens") is not None:
        kw["min_tokens"] = _int(get("min_tokens"), "min_tokens", lo=0)
        if kw["min_tokens"] > kw["max_tokens"]:
            raise _fail(f"must be <= max_tokens ({kw['max_tokens']}), got {kw['min_tokens']}", "min_tokens")

    # sampling
    if get("temperature") is not None:
        kw["temperature"] = _number(get("temperature"), "temperature", lo=0.0, hi=2.0)
    if get("top_p") is not None:
        kw["top_p"] = _number(get("top_p"), "top_p", lo=0.0, hi=1.0, lo_open=True)
    if get("top_k") is not None:
        kw["top_k"] = _int(get("top_k"), "top_k", lo=0)
    if get("min_p") is not None:
        kw["min_p"] = _number(get("min_p"), "min_p", lo=0.0, hi=1.0)
    for name in ("frequency_penalty", "presence_penalty"):
        if get(name) is not None:
            kw[name] = _number(get(name), name, lo=-2.0, hi=2.0)
    if get("repetition_penalty") is not None:
        kw["repetition_penalty"] = _number(
            get("repetition_penalty"), "repetition_penalty", lo=0.0, lo_open=True, range_text="(0, inf)"
        )
    if get("xtc_threshold") is not None:
        kw["xtc_threshold"] = _number(get("xtc_threshold"), "xtc_threshold", lo=0.0, hi=1.0)
    if get("xtc_probability") is not None:
        kw["xtc_probability"] = _number(get("xtc_probability"), "xtc_probability", lo=0.0, hi=1.0)
    if get("seed") is not None:
        kw["seed"] = _int(get("seed"), "seed", lo=0, hi=_SEED_MAX)
    if get("n") is not None:
        kw["n"] = _int(get("n"), "n", lo=1, hi=MAX_N)
    if get("logit_bias") is not None:
        bias: dict[int, float] = {}
        for key, val in _object(get("logit_bias"), "logit_bias").items():
            path = f"logit_bias.{key}"
            if isinstance(key, bool):
                raise _fail("keys must be token ids", path)
            if isinstance(key, int):
                token_id = key
            elif isinstance(key, str) and re.fullmatch(r"[0-9]+", key):
                token_id = int(key)
            else:
                raise _fail(f"keys must be token ids written as non-negative integers, not {key!r}", path)
            if vocab_size is not None and token_id >= vocab_size:
                raise _fail(f"token id {token_id} is outside the vocabulary of {vocab_size} ids", path)
            bias[token_id] = _number(val, path, lo=-100.0, hi=100.0)
        kw["logit_bias"] = bias

    # logprobs
    logprobs = False if get("logprobs") is None else _bool(get("logprobs"), "logprobs")
    kw["logprobs"] = logprobs
    if get("top_logprobs") is not None:
        top = _int(get("top_logprobs"), "top_logprobs", lo=0, hi=MAX_TOP_LOGPROBS)
        if not logprobs:
            raise _fail("needs logprobs: true", "top_logprobs")
        kw["top_logprobs"] = top

    # stops
    stop = get("stop")
    if stop is not None:
        stops = [stop] if isinstance(stop, str) else _array(stop, "stop")
        if len(stops) > MAX_STOP:
            raise _fail(f"holds at most {MAX_STOP} strings, got {len(stops)}", "stop")
        for i, s in enumerate(stops):
            _str(s, "stop" if isinstance(stop, str) else f"stop[{i}]", non_empty=True)
        kw["stop"] = tuple(dict.fromkeys(stops))
    if get("eos_token") is not None:
        ids = _array(get("eos_token"), "eos_token")
        kw["eos_token"] = tuple(
            _int(t, f"eos_token[{i}]", lo=0, hi=None if vocab_size is None else vocab_size - 1)
            for i, t in enumerate(ids)
        )

    # streaming
    stream = False if get("stream") is None else _bool(get("stream"), "stream")
    kw["stream"] = stream
    if get("stream_options") is not None:
        if not stream:
            raise _fail("is only allowed with stream: true", "stream_options")
        so = _object(get("stream_options"), "stream_options")
        _unknown_keys(so, {"include_usage"}, "stream_options")
        if so.get("include_usage") is not None:
            kw["include_usage"] = _bool(so["include_usage"], "stream_options.include_usage")

    # tools and output format
    tools = _tools(get("tools"), options)
    kw["tools"] = tools
    kw["tool_choice"] = _tool_choice(get("tool_choice"), tools)
    if get("parallel_tool_calls") is not None:
        kw["parallel_tool_calls"] = _bool(get("parallel_tool_calls"), "parallel_tool_calls")
    for name in ("parse_reasoning", "include_reasoning"):
        if get(name) is not None:
            kw[name] = _bool(get(name), name)
    if get("response_format") is not None:
        rf = _object(get("response_format"), "response_format")
        if "type" not in rf:
            raise _fail("is missing its 'type' field", "response_format.type")
        _probe_compile(dict(rf), "response_format", options)
        kw["response_format"] = json.loads(json.dumps(rf))
    if get("chat_template_kwargs") is not None:
        ctk = _object(get("chat_template_kwargs"), "chat_template_kwargs")
        for key in ctk:
            if not isinstance(key, str):
                raise _fail("keys must be strings", "chat_template_kwargs")
            if key in _RESERVED_TEMPLATE_KWARGS:
                raise _fail("is set by the server and cannot be overridden", f"chat_template_kwargs.{key}")
        kw["chat_template_kwargs"] = dict(ctk)

    kw["ignored"] = tuple(sorted(k for k in body if k in IGNORED_FIELDS))
    return ChatRequest(**kw)
