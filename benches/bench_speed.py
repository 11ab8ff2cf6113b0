"""Speed of constrain and its peers, side by side in one run: compile time and per-token mask time.

For one vocabulary (``--tokenizer smollm2`` or ``tekken``) and each installed engine, in a worker
process per engine (so a hang or a memory blow-up is cut off and counted), over the same inputs:

- a fixed sample of MaskBench schemas (``--per-category`` per category, seeded), ``json_object``,
  and the regex corpus of the tests;
- compile = time to first mask (compile + one mask), per input;
- per-token mask time: filling one int32 bitmask row, at every step of (a) each valid MaskBench
  instance tokenized by the model's tokenizer and fed token by token, as MaskBench does, and
  (b) ``--walks`` seeded random walks (uniform among allowed tokens, ``--walk-tokens`` cap);
- per-token step time: the mask plus consuming the chosen token (``accept_token``,
  ``consume_token``, ``advance``), what a generation loop pays per token. Engines split the work
  differently: llguidance and xgrammar advance their parsers when a token is consumed, constrain
  steps its automaton lazily inside the mask walk;
- memory: growth of the worker's peak RSS over the run (a coarse figure, the same for all).

It prints medians/p90 of compile, p50/p99 of mask and step time, and each peer's ratio to constrain.

    python benches/bench_speed.py --tokenizer tekken --per-category 3
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from maskbench import DEFAULT_DATA, Worker, load, start_engine, texts_of  # noqa: E402


def inputs(data: str, per_category: int, seed: int) -> list[dict]:
    """The inputs, each ``{"name", "response_format", "texts"}`` (and ``"maskbench": True`` for the
    MaskBench schemas)."""
    from regex_corpus import REGEX_CORPUS

    out = []
    for record in load(data, per_category, seed):
        texts = [t for test in record.get("tests", []) if test["valid"] for t in texts_of(test["data"])[:1]]
        out.append({"name": f"{record['category']}/{record['id']}",
                    "response_format": {"type": "json_schema", "json_schema": {"schema": record["schema"]}},
                    "texts": texts, "maskbench": True})
    out.append({"name": "json_object", "response_format": {"type": "json_object"},
                "texts": [json.dumps({"a": [1, 2, {"b": None}], "c": "text"})]})
    for name, pattern in REGEX_CORPUS:
        out.append({"name": f"regex/{name}", "response_format": {"type": "regex", "schema": pattern}, "texts": []})
    return out


def _speed_worker(engine_name: str, tokenizer: str, memory_gb: float, conn: Any) -> None:
    import numpy as np
    from engines import EngineRefused

    engine, tok = start_engine(engine_name, tokenizer, memory_gb)
    row = np.zeros((tok.vocab.size + 31) // 32, dtype=np.int32)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    conn.send("ready")
    while True:
        job = conn.recv()
        if job is None:
            return
        item, walks, walk_tokens = job
        result: dict[str, Any] = {"name": item["name"], "compiled": False, "mask_us": []}
        try:
            start = time.perf_counter()
            handle = engine.compile(item["response_format"])
            m = engine.matcher(handle)
            m.fill(row)
            result["compile_s"] = time.perf_counter() - start
            result["compiled"] = True
        except EngineRefused as exc:
            result["error"] = str(exc)[:200]
        except Exception as exc:  # noqa: BLE001 - an engine crash is a result
            result["error"] = f"crash: {type(exc).__name__}: {exc}"[:200]
        if result["compiled"]:
            times: list[float] = []
            steps: list[float] = []  # fill + consume: what a generation loop pays per token
            for text in item["texts"]:
                m = engine.matcher(handle)
                for t in tok.encode(text):
                    t0 = time.perf_counter()
                    m.fill(row)
                    t1 = time.perf_counter()
                    ok = m.consume(t)
                    t2 = time.perf_counter()
                    times.append(t1 - t0)
                    steps.append(t2 - t0)
                    if not ok:
                        break
            rng = random.Random(item["name"])
            for _ in range(walks):
                m = engine.matcher(handle)
                for _ in range(walk_tokens):
                    t0 = time.perf_counter()
                    m.fill(row)
                    mask_s = time.perf_counter() - t0
                    times.append(mask_s)
                    bits = np.unpackbits(row.view(np.uint8), bitorder="little")[: tok.vocab.size]
                    allowed = np.flatnonzero(bits)
                    allowed = allowed[~np.isin(allowed, tok.vocab.eos_token_ids)]
                    if not allowed.size:
                        break
                    token = int(allowed[rng.randrange(allowed.size)])
                    t0 = time.perf_counter()
                    ok = m.consume(token)
                    steps.append(mask_s + time.perf_counter() - t0)
                    if not ok:
                        break
            result["mask_us"] = [round(x * 1e6, 2) for x in times]
            result["step_us"] = [round(x * 1e6, 2) for x in steps]
        result["rss_growth_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
        # Free this input's constraint now, before the result goes back: otherwise the next input's
        # timed compile pays for tearing it down (rebinding ``handle`` and ``m`` frees it there;
        # for constrain that was ~0.2 ms of every compile median), and freeing it after the send
        # would overlap another engine's timed work on a small machine.
        handle = m = None
        conn.send(result)


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")


def add_input_args(parser: argparse.ArgumentParser, walk_tokens: int) -> None:
    """The options choosing the vocabulary, the inputs and the walks (bench_first_visits shares them)."""
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--tokenizer", default="tekken", choices=["smollm2", "tekken"])
    parser.add_argument("--per-category", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--walks", type=int, default=2)
    parser.add_argument("--walk-tokens", type=int, default=walk_tokens)


def main(argv: list[str] | None = None) -> int:
    from engines import available_engines

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_input_args(parser, walk_tokens=128)
    parser.add_argument("--engines", default=",".join(available_engines()))
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--memory-gb", type=float, default=8.0)
    parser.add_argument("--json", help="write per-input results here")
    args = parser.parse_args(argv)

    engines = [e for e in args.engines.split(",") if e]
    items = inputs(args.data, args.per_category, args.seed)
    print(f"{len(items)} inputs x {engines} on {args.tokenizer}", file=sys.stderr)
    results: dict[str, list[dict]] = {e: [] for e in engines}
    workers = {e: Worker(e, args.tokenizer, args.memory_gb, target=_speed_worker) for e in engines}
    try:
        for i, item in enumerate(items):
            # The engines take turns in a rotating order: each one's compile then follows each
            # other engine's token walks equally often (a compile right after a big engine's
            # walks starts with cold CPU caches; in a fixed order one engine always paid that).
            for e in engines[i % len(engines):] + engines[:i % len(engines)]:
                r = workers[e].run((item, args.walks, args.walk_tokens), args.timeout)
                r.setdefault("name", item["name"])
                results[e].append(r)
            if (i + 1) % 10 == 0:
                print(f"  {i + 1}/{len(items)}", file=sys.stderr)
    finally:
        for w in workers.values():
            w.stop()
    # Compare on the inputs every engine compiled, so no engine is timed on easier ones.
    common = [i for i in range(len(items)) if all(results[e][i].get("compiled") for e in engines)]
    print(f"\n{args.tokenizer}: {len(items)} inputs, {len(common)} compiled by every engine (figures below are on those)")
    # The MaskBench schemas alone (the compile target), without json_object and regexes.
    schemas = [i for i in common if items[i].get("maskbench")]
    print(f"{'engine':<14}{'compiled':>9}{'compile p50':>13}{'p90':>11}{'MaskBench p50':>15}{'mask p50':>11}{'p99':>11}"
          f"{'step p50':>11}{'p99':>11}{'tokens':>9}{'RSS MB':>8}")
    summary = {}
    for e in engines:
        comp = [results[e][i]["compile_s"] * 1e3 for i in common]
        schema_comp = [results[e][i]["compile_s"] * 1e3 for i in schemas]
        masks = [x for i in common for x in results[e][i]["mask_us"]]
        steps = [x for i in common for x in results[e][i]["step_us"]]
        n_ok = sum(1 for r in results[e] if r.get("compiled"))
        rss = max((r.get("rss_growth_mb", 0) for r in results[e]), default=0)
        summary[e] = (statistics.median(comp) if comp else float("nan"), _pct(comp, 0.9), _pct(masks, 0.5),
                      _pct(masks, 0.99), statistics.median(schema_comp) if schema_comp else float("nan"),
                      _pct(steps, 0.5), _pct(steps, 0.99))
        print(f"{e:<14}{n_ok:>9}{summary[e][0]:>10.1f} ms{summary[e][1]:>8.1f} ms{summary[e][4]:>12.2f} ms"
              f"{summary[e][2]:>8.1f} us{summary[e][3]:>8.1f} us{summary[e][5]:>8.1f} us{summary[e][6]:>8.1f} us"
              f"{len(masks):>9}{rss:>8.0f}")
    if "constrain" in summary:
        base = summary["constrain"]
        print("\nratio peer / constrain (above 1: constrain is faster)")
        for e in engines:
            if e != "constrain":
                print(f"  {e:<14} compile p50 {summary[e][0] / base[0]:6.2f}   MaskBench compile p50 "
                      f"{summary[e][4] / base[4]:6.2f}   mask p50 {summary[e][2] / base[2]:6.2f}"
                      f"   mask p99 {summary[e][3] / base[3]:6.2f}   step p50 {summary[e][5] / base[5]:6.2f}"
                      f"   step p99 {summary[e][6] / base[6]:6.2f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
