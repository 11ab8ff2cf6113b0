"""Command line: ``python -m constrain generate`` (also installed as the ``constrain`` script).

Example::

    python -m constrain generate --prompt "What is today's date?" \\
        --response-format '{"type": "regex", "schema": "\\\\d{4}-\\\\d{2}-\\\\d{2}"}'

The generated text goes to stdout; the figures (tokens/s, mask time per token, forward calls,
jump-forward tokens) go to stderr, each line starting with ``[stats]`` (or, with ``--json``, one JSON
object with the output and the figures goes to stdout). Input errors (bad JSON, bad regex, unknown
``response_format`` type, model not found) print one ``error: ...`` line on stderr and exit with
status 2. Subcommands are argparse subparsers, so more (``bench``) can be added.

``python -m constrain chat`` reads a chat-completions request body (JSON) on stdin or from
``--body FILE`` and prints the ``chat.completion`` response JSON on stdout (with ``"stream": true``,
``data: {chunk}`` lines and ``data: [DONE]``). A bad body exits with status 2 and one line
``error: <field>: <message>`` before any model is loaded.

Imports: anything in the package (an entry point, at the top of it); nothing imports it but
``__main__``.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from .compiler import compile
from .errors import ConstraintError
from .vocab import PROBE_VOCAB, Vocabulary


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors raise instead of exiting, so :func:`main` can return a status."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(self, message)


class _UsageError(Exception):
    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser


def build_parser() -> argparse.ArgumentParser:
    """The ``constrain`` argument parser (one subparser per command)."""
    parser = _Parser(prog="constrain", description="Constrained decoding: response_format -> token masks.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    gen = sub.add_parser(
        "generate",
        help="generate one completion that obeys a response_format",
        description="Generate one completion of a chat prompt that obeys a response_format.",
    )
    gen.add_argument("--prompt", required=True, help="the user message")
    gen.add_argument(
        "--response-format",
        metavar="JSON",
        help='response_format as inline JSON, @path or a path to a JSON file (default: {"type": "text"})',
    )
    gen.add_argument(
        "--model",
        metavar="PATH",
        help="transformers model directory or .gguf file (default: the embedded SmolLM2-135M-Instruct)",
    )
    gen.add_argument("--system", metavar="TEXT", help="system message")
    gen.add_argument("--max-tokens", type=int, default=128, metavar="N", help="most output tokens (default 128)")
    gen.add_argument("--temperature", type=float, default=0.0, metavar="F", help="0 = greedy (default)")
    gen.add_argument("--top-p", type=float, default=1.0, metavar="F", help="nucleus sampling threshold (default 1)")
    gen.add_argument("--seed", type=int, default=None, metavar="N", help="sampling seed")
    gen.add_argument("--no-jump-forward", action="store_true", help="sample every token, even forced ones")
    gen.add_argument("--json", action="store_true", help="print one JSON object with the output and the stats")
    gen.add_argument("--lenient", action="store_true",
                     help="drop JSON Schema keywords that cannot be enforced (with a warning) instead of refusing")
    gen.add_argument("--max-depth", type=int, default=None, metavar="N",
                     help="deepest JSON nesting generated (small models may nest recursive schemas forever)")
    gen.add_argument("--compact", action="store_true", help="JSON without whitespace between tokens")
    gen.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="torch CPU threads (default: torch's choice; 1 is much faster when other processes load the CPU)",
    )
    gen.set_defaults(func=_cmd_generate)

    chat = sub.add_parser(
        "chat",
        help="run a chat-completions request body (JSON on stdin) on a local model",
        description="Run a Friendli/OpenAI chat-completions request body on a local model and print the "
        "response JSON (with \"stream\": true, 'data: {chunk}' lines and 'data: [DONE]'). The body is "
        "validated before the model is loaded.",
    )
    chat.add_argument("--body", metavar="FILE", help="read the request body from FILE ('-' or absent: stdin)")
    chat.add_argument(
        "--model",
        metavar="PATH",
        help="transformers model directory or .gguf file (default: the embedded SmolLM2-135M-Instruct)",
    )
    chat.add_argument("--threads", type=int, default=None, metavar="N", help="torch CPU threads")
    chat.add_argument("--indent", type=int, default=None, metavar="N", help="indent the response JSON (not chunks)")
    chat.set_defaults(func=_cmd_chat)
    return parser


def compile_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments of constrain.compile chosen on the command line."""
    options: dict[str, Any] = {}
    if getattr(args, "lenient", False):
        options["lenient"] = True
    if getattr(args, "max_depth", None) is not None:
        if args.max_depth < 1:
            raise ConstraintError("--max-depth must be at least 1")
        options["max_depth"] = args.max_depth
    if getattr(args, "compact", False):
        options["whitespace"] = "compact"
    return options


def parse_response_format(value: str | None, **options: Any) -> dict[str, Any] | None:
    """The ``--response-format`` argument as a dict: inline JSON, ``@path`` or a JSON file path.

    The result is validated by compiling it (regex syntax included). Raises ConstraintError.
    """
    if value is None:
        return None
    source = "--response-format"
    text = value
    if value.startswith("@") or (not value.lstrip().startswith(("{", "[", '"')) and os.path.isfile(value)):
        path = value[1:] if value.startswith("@") else value
        source = f"--response-format file {path!r}"
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            raise ConstraintError(f"cannot read {source}: {exc.strerror or exc}") from None
    try:
        response_format = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConstraintError(f"{source} is not valid JSON: {exc}") from None
    compile(response_format, PROBE_VOCAB, cache=False, **options)  # raises on a bad shape, regex or schema
    return response_format


def _prompt_ids(tokenizer: Any, prompt: str, system: str | None) -> list[int]:
    """Token ids of the chat prompt (the tokenizer's chat template, or the raw text without one)."""
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
    if not getattr(tokenizer, "chat_template", None):
        text = (system + "\n\n" if system else "") + prompt
        return list(tokenizer.encode(text))
    enc = tokenizer.apply_chat_template(messages, add_generation_prompt=True)
    if hasattr(enc, "keys") and "input_ids" in enc.keys():  # transformers 5: a BatchEncoding
        enc = enc["input_ids"]
    if hasattr(enc, "tolist"):
        enc = enc.tolist()
    if enc and isinstance(enc[0], list):
        enc = enc[0]
    return [int(t) for t in enc]


def _print_stats(result: Any, load_seconds: float) -> None:
    s = result.stats
    err = sys.stderr
    print(f"[stats] finish_reason: {result.finish_reason}", file=err)
    print(
        f"[stats] tokens: {s.generated_tokens} generated ({s.jump_forward_tokens} by jump-forward), "
        f"{s.forward_calls} forward calls, {s.prompt_tokens} prompt tokens",
        file=err,
    )
    print(f"[stats] speed: {s.tokens_per_second:.1f} tokens/s ({s.total_seconds:.2f} s, model load {load_seconds:.1f} s)", file=err)
    print(
        f"[stats] mask: {s.mean_mask_seconds * 1e6:.1f} us/token mean, first mask {s.first_mask_seconds * 1e3:.2f} ms",
        file=err,
    )


def _cmd_generate(args: argparse.Namespace) -> int:
    """``constrain generate``: load the model, generate, print the output and the figures."""
    response_format = parse_response_format(args.response_format, **compile_options(args))
    if args.max_tokens < 0:
        raise ConstraintError(f"--max-tokens must be >= 0, got {args.max_tokens}")
    if args.temperature < 0:
        raise ConstraintError(f"--temperature must be >= 0, got {args.temperature}")
    if not 0 < args.top_p <= 1:
        raise ConstraintError(f"--top-p must be in (0, 1], got {args.top_p}")
    if args.threads is not None and args.threads < 1:
        raise ConstraintError(f"--threads must be >= 1, got {args.threads}")

    from .models import _split_model_path, load_model, quiet_transformers

    _split_model_path(args.model)  # model not found: fail before importing torch and transformers
    name = args.model or "SmolLM2-135M-Instruct (embedded)"
    print(f"loading model {name} ... (about 20 s on a CPU)", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    with quiet_transformers():
        try:
            model, tokenizer = load_model(args.model)
        except (OSError, ValueError) as exc:
            if isinstance(exc, ConstraintError):
                raise
            raise ConstraintError(f"cannot load model {name}: {exc}") from None
        load_seconds = time.perf_counter() - t0
        # The model's many Python objects live as long as the process: freeze them out of the
        # cyclic garbage collector (as serving engines do), so a collection triggered during
        # generation does not walk them (a full one took 80-260 ms with the model loaded).
        gc.freeze()
        atexit.register(gc.unfreeze)  # at exit they are collected as usual (extensions check for leaks)

        from .chat.generate import generate

        width = getattr(model.config, "vocab_size", None)
        vocab = Vocabulary.from_transformers(
            tokenizer, vocab_size=width if width and width > len(tokenizer) else None
        )
        compiled = compile(response_format, vocab, **compile_options(args))
        prompt_ids = _prompt_ids(tokenizer, args.prompt, args.system)
        result = generate(
            model,
            tokenizer,
            vocab,
            prompt_ids,
            compiled,
            max_tokens=args.max_tokens,
            temperature=args.temperature,
            top_p=args.top_p,
            seed=args.seed,
            jump_forward=not args.no_jump_forward,
        )
    if args.json:
        payload = {
            "output": result.text,
            "finish_reason": result.finish_reason,
            "token_ids": result.token_ids,
            "stats": {**result.stats.as_dict(), "load_seconds": load_seconds},
        }
        print(json.dumps(payload, ensure_ascii=False))
    else:
        print(result.text, flush=True)
        _print_stats(result, load_seconds)
    return 0


def _cmd_chat(args: argparse.Namespace) -> int:
    """``constrain chat``: validate the body, load the model, print the response (or the chunk stream)."""
    from .chat.request import parse_request
    from .errors import InvalidRequestError

    source = "stdin" if args.body in (None, "-") else f"--body file {args.body!r}"
    try:
        if args.body in (None, "-"):
            text = sys.stdin.read()
        else:
            with open(args.body, encoding="utf-8") as f:
                text = f.read()
    except OSError as exc:
        raise ConstraintError(f"cannot read {source}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InvalidRequestError(f"the request body from {source} is not UTF-8: {exc}", "body") from None
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequestError(f"the request body from {source} is not valid JSON: {exc}", "body") from None
    try:
        request = parse_request(body)
    except InvalidRequestError as exc:
        if exc.field is None:
            raise InvalidRequestError(str(exc), "body") from None
        raise
    if args.threads is not None and args.threads < 1:
        raise ConstraintError(f"--threads must be >= 1, got {args.threads}")

    from .models import _split_model_path, quiet_transformers

    _split_model_path(args.model)  # model not found: fail before importing torch and transformers
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    from .chat.completions import run_chat, stream_chat

    with quiet_transformers():
        if request.stream:
            for chunk in stream_chat(request, model_path=args.model):
                print(f"data: {json.dumps(chunk, ensure_ascii=False)}", flush=True)
            print("data: [DONE]", flush=True)
        else:
            response = run_chat(request, model_path=args.model)
            print(json.dumps(response, ensure_ascii=False, indent=args.indent))
    return 0


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    0 on success, 2 on a usage or input error (one ``error: ...`` line on stderr, no traceback).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except _UsageError as exc:
        exc.parser.print_usage(sys.stderr)
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    try:
        return int(args.func(args))
    except ConstraintError as exc:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
