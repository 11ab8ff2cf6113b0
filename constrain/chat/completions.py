"""A whole chat-completions request run against a local model: :func:`run_chat` and :func:`stream_chat`.

The loop, per request:

1. the body is validated (:func:`constrain.chat.request.parse_request`);
2. the messages are rendered with the tokenizer's chat template (:func:`render_prompt`), tools
   described in the system message, and the prompt is run through the model once (its KV cache is
   copied for each choice);
3. the output constraint is compiled (``constrain.toolcalls.build_output_constraint``: the
   ``response_format``, the tool-call syntax for ``tools``/``tool_choice``, the ``<think>`` block for
   ``parse_reasoning``). Without any, the plain-text constraint still applies: special and padding
   ids (logits wider than the tokenizer) are never produced as text;
4. each of the ``n`` choices is generated on its own, with its own
   :class:`constrain.chat.sampling.Sampler` (``choice_index=i``: its own random stream) and matcher. Per
   step: one forward pass with the KV cache, the logits as numpy float32, ``Sampler.sample(logits,
   mask)`` (penalties -> logit_bias -> constraint mask -> min_tokens -> temperature -> top-k ->
   top-p -> min-p -> XTC -> draw), ``matcher.accept_token``, ``sampler.accept``.

Stopping (``finish_reason``):

- an EOS id (the tokenizer's ``eos_token_id`` plus the request's ``eos_token`` ids) -> ``"stop"``;
  when the constraint is complete and allows nothing but EOS, the choice ends without sampling it;
- a ``stop`` string -> ``"stop"``, the content cut just before it. The decoded text is checked after
  every token, so a stop string split over several tokens is found. Stop strings apply to all output,
  constrained or not (a stop string can thus cut a JSON ``response_format`` short, as with OpenAI);
  they apply only to text that ends after the first ``min_tokens`` tokens (an occurrence complete
  within them is ignored). ``min_tokens`` also blocks EOS until reached (unless the constraint
  allows nothing else);
- ``max_tokens`` tokens sampled -> ``"length"``. A constrained output cut this way is returned cut
  (it may not parse); tool calls are then not reported;
- tool calls parsed from a complete output -> ``"tool_calls"``.

Counting: ``completion_tokens`` counts every sampled token of every choice, EOS included (tokens after
a stop string's start included); ``prompt_tokens`` is the length of the rendered prompt. ``logprobs``
lists the sampled *text* tokens (EOS excluded), in OpenAI's shape.

Streaming (:func:`stream_chat`): chunks in OpenAI's ``chat.completion.chunk`` shape; choices are
generated one after another (choice 0's chunks, then choice 1's, ...). Content deltas are sent as
tokens are produced, holding back any tail that could be the start of a stop string (and an incomplete
UTF-8 character). When tools are offered or ``parse_reasoning`` is on, a choice's deltas
(``reasoning_content``, ``content``, ``tool_calls``) are sent once the choice is complete, since
the output must be parsed whole. With ``stream_options.include_usage`` every chunk has
``"usage": null`` and a last chunk with ``"choices": []`` carries the usage.

Rendering (:func:`render_prompt`): the template gets ``add_generation_prompt=True`` and the
request's ``chat_template_kwargs``. The tools' description (``tools_system_prompt``) is appended to
the first system message (or becomes one). Assistant ``tool_calls`` are rendered as text after the
message's content with ``render_tool_calls``. ``tool`` messages keep their role; a template that
refuses them gets them as ``user`` messages wrapped in ``<tool_response>...</tool_response>``.
A tokenizer without a chat template gets ``role: content`` lines and ``assistant:``. ``name`` fields
are not rendered.

The response's ``model`` is the request's ``model`` when given, else the model's name
(``SmolLM2-135M-Instruct`` for the embedded one, the path's last part for ``model_path``).

Custom models: any object called as ``model(input_ids=..., past_key_values=..., use_cache=True)``
returning ``.logits`` (``[1, L, V]``) and ``.past_key_values`` works;
:class:`LogitsFunctionModel` wraps a plain ``next_logits(token_ids) -> array`` function that way.

Part of the request layer (:mod:`constrain.chat`). Imports: the engine's public names only
(``compiler``, ``errors``, ``vocab``, ``models``, ``toolcalls``), and ``chat.request``,
``chat.sampling``, ``chat.generate``.
"""

from __future__ import annotations

import atexit
import copy
import gc
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

from ..compiler import CompiledConstraint, compile
from ..errors import ConstraintError, InvalidRequestError
from ..vocab import Vocabulary
from .request import ChatRequest, parse_request

__all__ = ["EMBEDDED_MODEL_NAME", "LogitsFunctionModel", "render_prompt", "run_chat", "stream_chat"]

#: ``model`` reported for the embedded model when the request names none.
EMBEDDED_MODEL_NAME = "SmolLM2-135M-Instruct"

_LOCK = threading.Lock()
_MODELS: dict[str | None, tuple[Any, Any]] = {}
_VOCABS: dict[tuple[int, int, tuple[int, ...]], tuple[Any, Vocabulary]] = {}


# --------------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------------


class LogitsFunctionModel:
    """A "model" from a function: ``next_logits(token_ids) -> 1-D array`` of the next token's logits.

    ``token_ids`` is the whole sequence so far (prompt and generated tokens). The object follows the
    Hugging Face call interface the loop uses (``model(input_ids=..., past_key_values=...,
    use_cache=True)`` -> ``.logits``, ``.past_key_values``; the "cache" is the token list), so
    tests and other back-ends can drive :func:`run_chat` with scripted logits.
    """

    def __init__(self, next_logits: Callable[[list[int]], Any], vocab_size: int) -> None:
        self.next_logits = next_logits
        self.config = SimpleNamespace(vocab_size=int(vocab_size))
        self.calls = 0

    def forward(self, input_ids: Any, past_key_values: Any = None, use_cache: bool = True) -> Any:
        import torch

        history = list(past_key_values or ()) + [int(t) for t in input_ids[0].tolist()]
        row = np.asarray(self.next_logits(list(history)), dtype=np.float32).reshape(-1)
        self.calls += 1
        return SimpleNamespace(logits=torch.from_numpy(row.copy()).view(1, 1, -1), past_key_values=tuple(history))

    __call__ = forward

    def parameters(self) -> Iterator[Any]:
        return iter(())


def _load(model: Any, tokenizer: Any, model_path: str | None) -> tuple[Any, Any]:
    """(model, tokenizer): the given ones, or loaded once per process and path (None: the embedded model)."""
    if model is not None:
        if tokenizer is None:
            from ..models import load_tokenizer

            tokenizer = load_tokenizer(model_path)
        return model, tokenizer
    with _LOCK:
        if model_path not in _MODELS:
            from ..models import load_model, quiet_transformers

            with quiet_transformers():
                _MODELS[model_path] = load_model(model_path)
            gc.freeze()  # the model lives as long as the process: out of the collector's walks (see cli)
            atexit.register(gc.unfreeze)
        loaded_model, loaded_tokenizer = _MODELS[model_path]
    return loaded_model, tokenizer if tokenizer is not None else loaded_tokenizer


def _vocabulary(tokenizer: Any, width: int, eos_ids: tuple[int, ...]) -> Vocabulary:
    """The tokenizer's vocabulary, padded to the logits width, with these EOS ids (cached: the trie is built once)."""
    key = (id(tokenizer), width, eos_ids)
    with _LOCK:
        hit = _VOCABS.get(key)
        if hit is not None and hit[0] is tokenizer:
            return hit[1]
        base_key = (id(tokenizer), width, ())
        base_hit = _VOCABS.get(base_key)
        if base_hit is not None and base_hit[0] is tokenizer:
            base = base_hit[1]
        else:
            base = Vocabulary.from_transformers(tokenizer, vocab_size=width if width > len(tokenizer) else None)
            base.trie  # noqa: B018 - build once; with_eos_token_ids shares it
            _VOCABS[base_key] = (tokenizer, base)
        vocab = base.with_eos_token_ids(eos_ids) if eos_ids else base
        if len(_VOCABS) > 32:
            _VOCABS.clear()
            _VOCABS[base_key] = (tokenizer, base)
        _VOCABS[key] = (tokenizer, vocab)
        return vocab


# --------------------------------------------------------------------------------------------
# prompt
# --------------------------------------------------------------------------------------------


def _tools_module() -> Any:
    try:
        from .. import toolcalls
    except ImportError as exc:  # pragma: no cover - the module ships with the package
        raise ConstraintError(f"tools and parse_reasoning need constrain.toolcalls: {exc}") from None
    return toolcalls


def _template_messages(request: ChatRequest, *, tool_role: bool) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for m in request.messages:
        content = m.content or ""
        if m.role == "assistant" and m.tool_calls:
            rendered = _tools_module().render_tool_calls([dict(c) for c in m.tool_calls])
            content = f"{content}\n{rendered}" if content else rendered
            messages.append({"role": "assistant", "content": content})
        elif m.role == "tool":
            if tool_role:
                messages.append({"role": "tool", "content": content, "tool_call_id": m.tool_call_id})
            else:
                messages.append({"role": "user", "content": f"<tool_response>\n{content}\n</tool_response>"})
        else:
            messages.append({"role": m.role, "content": content})
    if request.tools_enabled:
        extra = _tools_module().tools_system_prompt(
            [dict(t) for t in request.tools],
            request.effective_tool_choice,
            parallel_tool_calls=request.parallel_tool_calls,
        )
        if extra:
            if messages and messages[0]["role"] == "system":
                first = messages[0]["content"]
                messages[0] = {"role": "system", "content": f"{first}\n\n{extra}" if first else extra}
            else:
                messages.insert(0, {"role": "system", "content": extra})
    return messages


def render_prompt(request: ChatRequest | Mapping[str, Any], tokenizer: Any) -> tuple[str, list[int]]:
    """The prompt text (chat template applied, generation prompt added) and its token ids.

    See the module docstring for how tools, tool calls and tool messages are rendered.
    """
    if not isinstance(request, ChatRequest):
        request = parse_request(request)
    if not getattr(tokenizer, "chat_template", None):
        lines = [f"{m['role']}: {m['content']}" for m in _template_messages(request, tool_role=True)]
        text = "\n".join(lines) + "\nassistant:"
    else:
        kwargs = dict(request.chat_template_kwargs)
        try:
            text = tokenizer.apply_chat_template(
                _template_messages(request, tool_role=True), add_generation_prompt=True, tokenize=False, **kwargs
            )
        except Exception:  # noqa: BLE001 - templates raise anything (jinja errors, raise_exception)
            try:
                text = tokenizer.apply_chat_template(
                    _template_messages(request, tool_role=False), add_generation_prompt=True, tokenize=False, **kwargs
                )
            except Exception as exc:  # noqa: BLE001
                raise InvalidRequestError(f"the chat template cannot render these messages: {exc}", "messages") from None
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if ids and isinstance(ids[0], list):
        ids = ids[0]
    return text, [int(t) for t in ids]


# --------------------------------------------------------------------------------------------
# one choice
# --------------------------------------------------------------------------------------------


def _stable_text(data: bytes) -> str:
    """``data`` decoded, without a trailing incomplete UTF-8 sequence (the next bytes may complete it)."""
    cut = len(data)
    for k in range(1, min(4, len(data)) + 1):
        b = data[-k]
        if b & 0xC0 == 0x80:  # continuation byte: look further back
            continue
        if b >= 0xC0:
            need = 2 if b < 0xE0 else 3 if b < 0xF0 else 4
            if need > k:
                cut = len(data) - k
        break
    return data[:cut].decode("utf-8", errors="replace")


def _held_back(text: str, stops: Sequence[str]) -> int:
    """Length of the longest tail of ``text`` that is a proper prefix of a stop string."""
    best = 0
    for s in stops:
        for k in range(min(len(s) - 1, len(text)), best, -1):
            if text.endswith(s[:k]):
                best = k
                break
    return best


class _Choice:
    """State of one choice while it is generated."""

    def __init__(self, index: int, sampler: Any, matcher: Any) -> None:
        self.index = index
        self.sampler = sampler
        self.matcher = matcher
        self.token_ids: list[int] = []  # text tokens (EOS excluded)
        self.data = bytearray()
        self.sampled = 0  # every sampled token, EOS included
        self.finish_reason: str | None = None
        self.stop_at: int | None = None  # character offset of the stop string that ended the choice
        self.checked = 0  # characters already searched for stop strings
        self.logprobs: list[dict[str, Any]] = []

    def text(self) -> str:
        if self.finish_reason is None:
            return _stable_text(bytes(self.data))
        full = bytes(self.data).decode("utf-8", errors="replace")
        return full if self.stop_at is None else full[: self.stop_at]


class _Run:
    """A request in progress: model, vocabulary, constraint and prompt, shared by its choices."""

    def __init__(self, request: ChatRequest, model: Any, tokenizer: Any, model_name: str) -> None:
        from .generate import _Model

        self.request = request
        self.tokenizer = tokenizer
        self.model_name = request.model or model_name
        self.id = "chatcmpl-" + uuid.uuid4().hex
        self.created = int(time.time())
        self.prompt_text, self.prompt_ids = render_prompt(request, tokenizer)
        if not self.prompt_ids:
            raise InvalidRequestError("the rendered prompt is empty", "messages")
        self._model = model
        self._runner_cls = _Model
        # The prompt runs once; each choice continues from a copy of its cache.
        import torch

        self._torch = torch
        with torch.inference_mode():
            runner = _Model(model)
            logits = runner(self.prompt_ids)
        self._prompt_cache = runner.cache
        self._prompt_logits = logits[0].detach().cpu().numpy().astype(np.float32, copy=False)
        width = max(int(self._prompt_logits.shape[0]), len(tokenizer))
        tokenizer_eos = getattr(tokenizer, "eos_token_id", None)
        eos = tuple(dict.fromkeys(([int(tokenizer_eos)] if tokenizer_eos is not None else []) + list(request.eos_token)))
        request.check_vocab_size(width)
        if not eos:
            raise InvalidRequestError("the tokenizer defines no EOS id; give eos_token", "eos_token")
        self.vocab = _vocabulary(tokenizer, width, eos)
        self.params = request.sampling_params()
        self.compiled = self._constraint()
        self._eos_row = np.zeros(self.compiled.bitmask_width, dtype=np.uint32)
        for t in self.vocab.eos_token_ids:
            self._eos_row[t // 32] |= np.uint32(1 << (t % 32))
        self._eos_row = self._eos_row.view(np.int32)
        self.stops = request.stop
        self.parse = request.tools_enabled or request.parse_reasoning

    # -- setup ---------------------------------------------------------------------------------
    def _constraint(self) -> CompiledConstraint:
        r = self.request
        try:
            if r.tools_enabled or r.parse_reasoning:
                compiled = _tools_module().build_output_constraint(
                    self.vocab,
                    r.response_format,
                    tools=[dict(t) for t in r.tools] if r.tools_enabled else None,
                    tool_choice=r.effective_tool_choice if r.tools_enabled else None,
                    parallel_tool_calls=r.parallel_tool_calls,
                    parse_reasoning=r.parse_reasoning,
                )
            else:
                compiled = compile(r.response_format, self.vocab) if r.response_format else None
        except InvalidRequestError:
            raise
        except ConstraintError as exc:
            raise InvalidRequestError(str(exc), "tools" if r.tools_enabled else "response_format") from None
        return compiled if compiled is not None else compile(None, self.vocab)

    def _pad(self, row: np.ndarray) -> np.ndarray:
        size = self.vocab.size
        if row.shape[0] == size:
            return row
        if row.shape[0] > size:
            return row[:size]
        return np.concatenate([row, np.full(size - row.shape[0], -np.inf, dtype=np.float32)])

    # -- generation ----------------------------------------------------------------------------
    def choice_steps(self, index: int) -> Iterator[_Choice]:
        """Generate choice ``index``; yields its state after every sampled token, and once at the end."""
        from .sampling import Sampler

        r = self.request
        sampler = Sampler(
            self.params,
            vocab_size=self.vocab.size,
            eos_token_ids=self.vocab.eos_token_ids,
            prompt_token_ids=self.prompt_ids,
            choice_index=index,
        )
        choice = _Choice(index, sampler, self.compiled.matcher())
        runner = self._runner_cls(self._model)
        try:
            runner.cache = copy.deepcopy(self._prompt_cache)
            logits: np.ndarray | None = self._prompt_logits
        except Exception:  # noqa: BLE001 - a cache that cannot be copied: run the prompt again
            runner.cache = None
            logits = None
        pending = list(self.prompt_ids)
        eos = set(self.vocab.eos_token_ids)
        matcher = choice.matcher
        constrained = self.compiled.kind != "text"
        with self._torch.inference_mode():
            while True:
                row = matcher.next_token_bitmask()
                if constrained and matcher.can_terminate() and np.array_equal(row, self._eos_row):
                    choice.finish_reason = "stop"  # complete; nothing but EOS may follow
                    break
                if choice.sampled >= r.max_tokens:
                    choice.finish_reason = "length"
                    break
                if logits is None:
                    logits = runner(pending)[0].detach().cpu().numpy().astype(np.float32, copy=False)
                tok = sampler.sample(self._pad(logits), row)
                logits = None
                choice.sampled += 1
                token = tok.token_id
                if not matcher.accept_token(token):  # cannot happen with a correct mask
                    raise ConstraintError(f"token {token} was sampled but the constraint refuses it")
                sampler.accept(token)
                if token in eos:
                    choice.finish_reason = "stop"
                    break
                choice.token_ids.append(token)
                choice.data += self.vocab.token_bytes[token] or b""
                if r.logprobs:
                    choice.logprobs.append(self._logprob_entry(token, tok.logprob, tok.top_logprobs))
                if self.stops and self._check_stop(choice):
                    choice.finish_reason = "stop"
                    break
                pending = [token]
                yield choice
        yield choice

    def _check_stop(self, choice: _Choice) -> bool:
        """Search the new text for a stop string (ignoring ones complete within the first min_tokens tokens)."""
        text = _stable_text(bytes(choice.data))
        if len(choice.token_ids) < self.request.min_tokens:
            choice.checked = len(text)
            return False
        longest = max(len(s) for s in self.stops)
        start = max(0, choice.checked - longest + 1)
        best: int | None = None
        for s in self.stops:
            at = text.find(s, start)
            while at != -1 and at + len(s) <= choice.checked:
                at = text.find(s, at + 1)
            if at != -1 and (best is None or at < best):
                best = at
        choice.checked = len(text)
        if best is None:
            return False
        choice.stop_at = best
        return True

    # -- output --------------------------------------------------------------------------------
    def _token_text(self, token_id: int) -> tuple[str, list[int]]:
        data = self.vocab.token_bytes[token_id] if token_id < self.vocab.size else None
        if data is None:
            text = ""
            if token_id < len(self.tokenizer):
                text = self.tokenizer.convert_ids_to_tokens(int(token_id)) or ""
            return text, list(text.encode("utf-8"))
        return data.decode("utf-8", errors="replace"), list(data)

    def _logprob_entry(self, token: int, logprob: float | None, top: Sequence[tuple[int, float]]) -> dict[str, Any]:
        text, data = self._token_text(token)
        alternatives = []
        for tid, lp in top:
            t_text, t_data = self._token_text(tid)
            alternatives.append({"token": t_text, "logprob": float(lp), "bytes": t_data})
        return {
            "token": text,
            "logprob": float(logprob) if logprob is not None else 0.0,
            "bytes": data,
            "top_logprobs": alternatives,
        }

    def message(self, choice: _Choice) -> dict[str, Any]:
        """The assistant message of a finished choice (parsed for tool calls and reasoning)."""
        r = self.request
        text = choice.text()
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if not self.parse:
            return message
        parsed = _tools_module().parse_output(text, tools_enabled=r.tools_enabled, parse_reasoning=r.parse_reasoning)
        calls = list(parsed.tool_calls or []) if r.tools_enabled else []
        message["content"] = parsed.content if (parsed.content is not None or calls) else ""
        if calls:
            message["tool_calls"] = calls
            if choice.finish_reason == "stop":
                choice.finish_reason = "tool_calls"
        if r.parse_reasoning and r.include_reasoning and parsed.reasoning_content is not None:
            message["reasoning_content"] = parsed.reasoning_content
        return message

    def usage(self, completion_tokens: int) -> dict[str, int]:
        prompt = len(self.prompt_ids)
        return {"prompt_tokens": prompt, "completion_tokens": completion_tokens, "total_tokens": prompt + completion_tokens}


def _prepare(
    body: Mapping[str, Any] | ChatRequest, model: Any, tokenizer: Any, model_path: str | None
) -> _Run:
    request = body if isinstance(body, ChatRequest) else parse_request(body)
    if model_path is not None:
        name = os.path.basename(model_path.rstrip("/\\")) or model_path
    elif model is None:
        name = EMBEDDED_MODEL_NAME
    else:
        name = str(getattr(getattr(model, "config", None), "_name_or_path", "") or type(model).__name__)
    model, tokenizer = _load(model, tokenizer, model_path)
    return _Run(request, model, tokenizer, name)


def run_chat(
    body: Mapping[str, Any] | ChatRequest,
    *,
    model: Any = None,
    tokenizer: Any = None,
    model_path: str | None = None,
) -> dict[str, Any]:
    """Run a chat-completions request; return the ``chat.completion`` response dict.

    Args:
        body: the request body (validated here) or a parsed :class:`ChatRequest`. ``stream`` is
            ignored here (see :func:`stream_chat`).
        model: a transformers causal LM or anything with its call interface (see
            :class:`LogitsFunctionModel`); ``None`` loads ``model_path`` (``None``: the embedded
            SmolLM2-135M-Instruct), once per process.
        tokenizer: the model's tokenizer (``None``: loaded from ``model_path``).

    Raises:
        InvalidRequestError: a bad body (``.field`` names the field).
        ConstraintError: other input errors (model not found, ...).
    """
    run = _prepare(body, model, tokenizer, model_path)
    choices = []
    completion = 0
    for i in range(run.request.n):
        choice = None
        for choice in run.choice_steps(i):  # noqa: B007 - runs the choice to its end, keeping the last step
            pass
        assert choice is not None
        message = run.message(choice)
        completion += choice.sampled
        choices.append(
            {
                "index": i,
                "message": message,
                "finish_reason": choice.finish_reason,
                "logprobs": {"content": choice.logprobs} if run.request.logprobs else None,
            }
        )
    return {
        "id": run.id,
        "object": "chat.completion",
        "created": run.created,
        "model": run.model_name,
        "choices": choices,
        "usage": run.usage(completion),
    }


def stream_chat(
    body: Mapping[str, Any] | ChatRequest,
    *,
    model: Any = None,
    tokenizer: Any = None,
    model_path: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Run a request as a stream: an iterator of ``chat.completion.chunk`` dicts (module docstring).

    The body is validated and the model loaded before the first chunk is produced (the errors of
    :func:`run_chat` are raised by this call, not by the first ``next()``).
    """
    run = _prepare(body, model, tokenizer, model_path)
    return _chunks(run)


def _chunks(run: _Run) -> Iterator[dict[str, Any]]:
    r = run.request

    def chunk(index: int, delta: dict[str, Any], finish: str | None = None, logprobs: list | None = None) -> dict:
        out: dict[str, Any] = {
            "id": run.id,
            "object": "chat.completion.chunk",
            "created": run.created,
            "model": run.model_name,
            "choices": [
                {
                    "index": index,
                    "delta": delta,
                    "logprobs": {"content": logprobs or []} if r.logprobs else None,
                    "finish_reason": finish,
                }
            ],
        }
        if r.include_usage:
            out["usage"] = None
        return out

    completion = 0
    for i in range(r.n):
        yield chunk(i, {"role": "assistant", "content": ""})
        sent_chars = 0
        sent_logprobs = 0
        choice = None
        for choice in run.choice_steps(i):
            if run.parse or choice.finish_reason is not None:
                continue
            text = choice.text()
            safe = len(text) - (_held_back(text, run.stops) if run.stops else 0)
            if safe > sent_chars:
                new_logprobs = choice.logprobs[sent_logprobs:]
                sent_logprobs = len(choice.logprobs)
                yield chunk(i, {"content": text[sent_chars:safe]}, logprobs=new_logprobs)
                sent_chars = safe
        assert choice is not None
        completion += choice.sampled
        leftover = choice.logprobs[sent_logprobs:]
        if run.parse:
            message = run.message(choice)
            if message.get("reasoning_content"):
                yield chunk(i, {"reasoning_content": message["reasoning_content"]})
            if message.get("content"):
                yield chunk(i, {"content": message["content"]}, logprobs=leftover)
                leftover = []
            for k, call in enumerate(message.get("tool_calls") or []):
                yield chunk(i, {"tool_calls": [{"index": k, **call}]})
        else:
            text = choice.text()
            if len(text) > sent_chars:
                yield chunk(i, {"content": text[sent_chars:]}, logprobs=leftover)
                leftover = []
        yield chunk(i, {}, choice.finish_reason, logprobs=leftover)
    if r.include_usage:
        yield {
            "id": run.id,
            "object": "chat.completion.chunk",
            "created": run.created,
            "model": run.model_name,
            "choices": [],
            "usage": run.usage(completion),
        }
