"""End to end: tokens/s of the embedded model, unconstrained vs constrained, in one process.

For each response format (realistic JSON schemas, ``json_object``, a regex), greedy decoding on
the embedded SmolLM2-135M-Instruct (CPU):

1. **constrained**: a fresh compile (no cache; its time is reported apart), then one forward pass
   per token, with ``fill_next_token_bitmask`` + ``apply_token_bitmask_inplace`` + ``accept_token``
   at every step, until EOS or ``--max-tokens``;
2. **unconstrained**: the same prompt and the same number of decode steps with no mask at all.

Both loops are the same code except the three mask calls, and each pair runs ``--repeats`` times,
alternating, so machine noise hits both alike. Reported: median decode tokens/s of each, the
slowdown in % (decode steps only, and with the compile time added to the constrained run), the
median per-token mask cost, and how many tokens jump-forward would insert without a forward pass
(``constrain.chat.generate.generate`` does that; this bench does not, so the comparison is per step).

    python benches/bench_e2e.py --repeats 5
"""

from __future__ import annotations

import argparse
import atexit
import gc
import json
import os
import statistics
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))



def cases() -> list[tuple[str, dict[str, Any], str]]:
    from test_json import INVOICE, PERSON, TREE

    return [
        ("person", {"type": "json_schema", "json_schema": {"schema": PERSON}}, "Describe Ann, a 31 year old engineer, as JSON."),
        ("invoice", {"type": "json_schema", "json_schema": {"schema": INVOICE}}, "Write an invoice for two books as JSON."),
        ("tree", {"type": "json_schema", "json_schema": {"schema": TREE}}, "Write a small tree of numbers as JSON."),
        ("json_object", {"type": "json_object"}, "Give the capital and population of France as a JSON object."),
        ("date regex", {"type": "regex", "schema": r"(19|20)\d{2}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"},
         "When did the Apollo 11 landing happen? Answer with the date."),
    ]


def decode(model: Any, prompt: list[int], steps: int, compiled: Any = None) -> dict[str, float]:
    """Greedy decode ``steps`` tokens (fewer if the constraint ends); timings of the decode steps."""
    import numpy as np
    import torch

    import constrain
    from constrain.chat.generate import _Model

    runner = _Model(model)
    matcher = compiled.matcher() if compiled is not None else None
    bitmask = constrain.allocate_token_bitmask(1, compiled.vocab.size) if compiled is not None else None
    mask_seconds: list[float] = []
    with torch.inference_mode():
        logits = runner(prompt)  # the prompt pass is not part of the decode time
        start = time.perf_counter()
        done = 0
        for _ in range(steps):
            if matcher is not None:
                t0 = time.perf_counter()
                matcher.fill_next_token_bitmask(bitmask)
                constrain.apply_token_bitmask_inplace(logits, bitmask)
                token = int(logits.argmax())
                ok = matcher.accept_token(token)
                mask_seconds.append(time.perf_counter() - t0)
                if not ok:
                    raise RuntimeError(f"token {token} refused after masking")
                done += 1
                if matcher.is_terminated():
                    break
            else:
                token = int(logits.argmax())
                done += 1
            logits = runner([token])
        seconds = time.perf_counter() - start
    return {
        "tokens": done,
        "seconds": seconds,
        "tokens_per_s": done / seconds if seconds else 0.0,
        "mask_p50_us": statistics.median(mask_seconds) * 1e6 if mask_seconds else 0.0,
        "mask_max_us": max(mask_seconds) * 1e6 if mask_seconds else 0.0,
        "mask_total_s": float(np.sum(mask_seconds)) if mask_seconds else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)

    import torch

    import constrain
    from constrain.chat.generate import _forced_tokens
    from constrain.cli import _prompt_ids
    from constrain.models import load_model

    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    model, tokenizer = load_model()
    vocab = constrain.Vocabulary.from_transformers(tokenizer, vocab_size=model.config.vocab_size)
    print(f"model loaded in {time.perf_counter() - t0:.1f} s; torch threads {torch.get_num_threads()}", flush=True)
    constrain.compile({"type": "json_object"}, vocab)  # builds the vocabulary's token trie once (shared)
    gc.freeze()  # as the CLI does after loading: collections no longer walk the model's objects
    atexit.register(gc.unfreeze)

    rows = []
    for name, response_format, prompt in cases():
        ids = _prompt_ids(tokenizer, prompt, None)
        constrained, free, compile_s = [], [], []
        for _ in range(args.repeats):
            t = time.perf_counter()
            compiled = constrain.compile(response_format, vocab, cache=False, max_depth=7)
            compile_s.append(time.perf_counter() - t)
            c = decode(model, ids, args.max_tokens, compiled)
            f = decode(model, ids, c["tokens"])
            constrained.append(c)
            free.append(f)
        c_tps = statistics.median(r["tokens_per_s"] for r in constrained)
        f_tps = statistics.median(r["tokens_per_s"] for r in free)
        c_sec = statistics.median(r["seconds"] for r in constrained)
        f_sec = statistics.median(r["seconds"] for r in free)
        comp = statistics.median(compile_s)
        # How much jump-forward would save: forced tokens along the constrained output.
        m = constrain.compile(response_format, vocab, max_depth=7).matcher()
        forced = len(_forced_tokens(m, tokenizer, vocab, args.max_tokens))
        row = {
            "name": name,
            "tokens": constrained[0]["tokens"],
            "unconstrained_tok_s": f_tps,
            "constrained_tok_s": c_tps,
            "slowdown_pct": 100.0 * (f_tps - c_tps) / f_tps,
            "slowdown_with_compile_pct": 100.0 * ((c_sec + comp) - f_sec) / f_sec,
            "compile_ms": comp * 1e3,
            "mask_p50_us": statistics.median(r["mask_p50_us"] for r in constrained),
            "mask_share_pct": 100.0 * statistics.median(r["mask_total_s"] / r["seconds"] for r in constrained),
            "forced_at_start": forced,
        }
        rows.append(row)
        print(json.dumps(row), flush=True)

    print()
    print("| format | tokens | unconstrained tok/s | constrained tok/s | slowdown | with compile | compile | mask p50 | mask share |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['name']} | {r['tokens']} | {r['unconstrained_tok_s']:.1f} | {r['constrained_tok_s']:.1f} | "
              f"{r['slowdown_pct']:+.1f} % | {r['slowdown_with_compile_pct']:+.1f} % | {r['compile_ms']:.1f} ms | "
              f"{r['mask_p50_us']:.0f} µs | {r['mask_share_pct']:.2f} % |")
    total_f = statistics.median(r["slowdown_pct"] for r in rows)
    print(f"\nmedian slowdown over formats (decode steps): {total_f:+.1f} %")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
