"""Speed of constrain and its peers, side by side in one run: compile time and per-token mask time.

For one vocabulary (``--tokenizer smollm2`` or ``tekken``) and each installed engine, in a worker
process per engine (so a hang or a memory blow-up is cut off and counted), over the same inputs
and the same token ids, in one of two modes:

``--mode fresh``, the MaskBench method: how a server that gets a new schema with each request meets
the engine. A seeded sample of MaskBench schemas (``--per-category`` per category; a schema that
occurs twice in the sample is taken once). Each worker compiles each schema once, cold: no compile
cache (constrain ``cache=False``, xgrammar ``cache_enabled=False``; llguidance and outlines-core
keep none), then replays every valid instance of it once (``json.dumps``, default separators,
tokenized by the model's tokenizer), token by token, each on a new matcher of the compiled schema.
What an engine keeps across schemas by design (per-vocabulary tables, memos of shared pieces)
stays, as in a running server; each worker first compiles and replays one small schema outside the
sample, untimed, so no sampled schema pays for imports and per-vocabulary set-up.

``--mode walk`` (the default): the same MaskBench sample plus ``json_object`` and the regex corpus
of the tests, the same replays, then ``--walks`` seeded random walks per input (uniform among the
allowed tokens, ``--walk-tokens`` cap). The walks revisit states that the replays and earlier walks
of the same input reached, so many of its masks are repeat visits.

Measured per input, in both modes:

- compile = time to first mask (compile + the first mask);
- mask: filling one int32 bitmask row, at every step;
- step: the mask plus consuming the token (``accept_token``, ``consume_token``, ``advance``), what a
  generation loop pays per token. Engines split the work differently: llguidance and xgrammar
  advance their parsers when a token is consumed, constrain steps its automaton lazily inside the
  mask walk;
- memory: each worker holds every input it compiled (not its matchers) to the end of the run, as
  a server holds the schemas it serves, and reads its resident set (psutil; the peak resident set
  where psutil is not installed) before each compile and after its replays: the growth is what the
  compiled input holds after use (coarse: pages, allocator reuse); plus the worker's growth over
  the run.

It prints, on the inputs every engine compiled: compile median/p90, mask p50/p90/p99, step
p50/p99, the number of masks, memory per compiled input, and each peer's ratio to constrain.

    python benches/bench_speed.py --mode fresh --tokenizer tekken --per-category 3
    python benches/bench_speed.py --mode walk --tokenizer tekken --per-category 3
"""

from __future__ import annotations

import argparse
import importlib.util
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

#: compiled and replayed by each worker before its first input, untimed
WARM_UP = {"name": "warm-up", "texts": [json.dumps({"name": "warm up", "count": 3, "tags": ["a", "b"]})],
           "response_format": {"type": "json_schema", "json_schema": {"schema": {
               "type": "object", "required": ["name"],
               "properties": {"name": {"type": "string"}, "count": {"type": "integer"},
                              "tags": {"type": "array", "items": {"type": "string"}}}}}}}


def inputs(data: str, per_category: int, seed: int, mode: str = "walk") -> list[dict]:
    """The inputs, each ``{"name", "response_format", "texts"}`` (and ``"maskbench": True`` for the
    MaskBench schemas). ``fresh``: the MaskBench schemas alone, each distinct schema once."""
    out = []
    seen: set[str] = set()
    for record in load(data, per_category, seed):
        key = json.dumps(record["schema"], sort_keys=True)
        if mode == "fresh" and key in seen:
            continue
        seen.add(key)
        texts = [t for test in record.get("tests", []) if test["valid"] for t in texts_of(test["data"])[:1]]
        out.append({"name": f"{record['category']}/{record['id']}",
                    "response_format": {"type": "json_schema", "json_schema": {"schema": record["schema"]}},
                    "texts": texts, "maskbench": True})
    if mode == "fresh":
        return out
    from regex_corpus import REGEX_CORPUS

    out.append({"name": "json_object", "response_format": {"type": "json_object"},
                "texts": [json.dumps({"a": [1, 2, {"b": None}], "c": "text"})]})
    for name, pattern in REGEX_CORPUS:
        out.append({"name": f"regex/{name}", "response_format": {"type": "regex", "schema": pattern}, "texts": []})
    return out


def _resident_mb() -> Any:
    """A function reading this process's resident set in MiB: psutil's current figure where psutil
    is installed, else the peak (``ru_maxrss``)."""
    if importlib.util.find_spec("psutil") is not None:
        import psutil

        proc = psutil.Process()
        return lambda: proc.memory_info().rss / 2**20
    return lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure(engine: Any, tok: Any, row: Any, item: dict, walks: int, walk_tokens: int,
             resident: Any) -> tuple[dict, Any]:
    """One input in one engine: compile to first mask, the instance replays, the walks, memory.
    Returns the result and the compiled input (None when it did not compile)."""
    import numpy as np

    from engines import EngineRefused

    result: dict[str, Any] = {"name": item["name"], "compiled": False, "mask_us": [], "step_us": []}
    before = resident()
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
    if not result["compiled"]:
        return result, None
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
    result["input_mb"] = round(resident() - before, 3)
    return result, handle


def _speed_worker(engine_name: str, tokenizer: str, memory_gb: float, conn: Any) -> None:
    import numpy as np

    engine, tok = start_engine(engine_name, tokenizer, memory_gb)
    row = np.zeros((tok.vocab.size + 31) // 32, dtype=np.int32)
    resident = _resident_mb()
    _measure(engine, tok, row, WARM_UP, 0, 0, resident)
    base = resident()
    held: list[Any] = []  # every compiled input, to the end of the run: memory is measured with them held
    conn.send("ready")
    while True:
        job = conn.recv()
        if job is None:
            return
        item, walks, walk_tokens = job
        # Only the matchers are freed (inside _measure), before the result goes back, so that no
        # teardown overlaps another engine's timed work on a small machine.
        result, handle = _measure(engine, tok, row, item, walks, walk_tokens, resident)
        held.append(handle)
        result["run_mb"] = round(resident() - base, 3)
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
    parser.add_argument("--walks", type=int, default=2, help="random walks per input (fresh mode runs none)")
    parser.add_argument("--walk-tokens", type=int, default=walk_tokens)


#: the summary's columns: (heading, width, key in the summary, format)
COLUMNS = [("compile p50", 12, "compile_p50", "{:.2f} ms"), ("p90", 11, "compile_p90", "{:.1f} ms"),
           ("mask p50", 10, "mask_p50", "{:.1f} us"), ("p90", 10, "mask_p90", "{:.1f} us"),
           ("p99", 11, "mask_p99", "{:.0f} us"), ("step p50", 10, "step_p50", "{:.1f} us"),
           ("p99", 11, "step_p99", "{:.0f} us"), ("masks", 8, "masks", "{:.0f}"),
           ("KB/input p50", 13, "kb_p50", "{:.0f}"), ("mean", 8, "kb_mean", "{:.0f}"), ("run MB", 8, "run_mb", "{:.0f}")]


def summarize(rows: list[dict]) -> dict[str, float]:
    """One engine's figures over ``rows``, its results on the inputs every engine compiled."""
    comp = [r["compile_s"] * 1e3 for r in rows]
    masks = [x for r in rows for x in r["mask_us"]]
    steps = [x for r in rows for x in r["step_us"]]
    kbs = [r["input_mb"] * 1024 for r in rows if "input_mb" in r]
    return {"compile_p50": statistics.median(comp) if comp else float("nan"), "compile_p90": _pct(comp, 0.9),
            "mask_p50": _pct(masks, 0.5), "mask_p90": _pct(masks, 0.9), "mask_p99": _pct(masks, 0.99),
            "step_p50": _pct(steps, 0.5), "step_p99": _pct(steps, 0.99), "masks": len(masks),
            "kb_p50": statistics.median(kbs) if kbs else float("nan"),
            "kb_mean": statistics.fmean(kbs) if kbs else float("nan")}


def report(mode: str, tokenizer: str, items: list[dict], results: dict[str, list[dict]]) -> None:
    engines = list(results)
    # Compare on the inputs every engine compiled, so no engine is timed on easier ones.
    common = [i for i in range(len(items)) if all(results[e][i].get("compiled") for e in engines)]
    what = "MaskBench schemas" if mode == "fresh" else "inputs"
    print(f"\n{tokenizer}, {mode} mode: {len(items)} {what}, {len(common)} compiled by every engine "
          f"(figures below are on those)")
    memory = "psutil resident set" if importlib.util.find_spec("psutil") else "peak resident set"
    print(f"memory ({memory}; every compiled input held to the end): KB/input = growth over one input's "
          "compile and replays, run MB = the worker's growth over the run")
    print(f"{'engine':<14}{'compiled':>9}" + "".join(f"{h:>{w}}" for h, w, _, _ in COLUMNS))
    summary = {}
    for e in engines:
        summary[e] = summarize([results[e][i] for i in common])
        summary[e]["run_mb"] = max((r.get("run_mb", 0.0) for r in results[e]), default=float("nan"))
        n_ok = sum(1 for r in results[e] if r.get("compiled"))
        print(f"{e:<14}{n_ok:>9}" + "".join(f"{f.format(summary[e][k]):>{w}}" for _, w, k, f in COLUMNS))
    if mode == "walk":
        schemas = [i for i in common if items[i].get("maskbench")]
        print(f"MaskBench schemas alone ({len(schemas)}), compile p50: " + ", ".join(
            f"{e} {statistics.median([results[e][i]['compile_s'] * 1e3 for i in schemas]):.2f} ms"
            for e in engines if schemas))
    if "constrain" in summary and len(summary) > 1:
        base = summary["constrain"]
        print("\nratio peer / constrain (above 1: constrain is faster or smaller)")
        keys = [("compile p50", "compile_p50"), ("p90", "compile_p90"), ("mask p50", "mask_p50"), ("p90", "mask_p90"),
                ("p99", "mask_p99"), ("step p50", "step_p50"), ("p99", "step_p99"), ("KB/input mean", "kb_mean")]
        for e in engines:
            if e != "constrain":
                print(f"  {e:<14}" + "   ".join(
                    f"{h} {summary[e][k] / base[k] if base[k] else float('nan'):6.3g}" for h, k in keys))


def main(argv: list[str] | None = None) -> int:
    from engines import available_engines

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_input_args(parser, walk_tokens=128)
    parser.add_argument("--mode", choices=["walk", "fresh"], default="walk",
                        help="fresh: MaskBench schemas, a cold compile each, valid instances replayed once; "
                             "walk: also json_object, the regex corpus and random walks")
    parser.add_argument("--engines", default=",".join(available_engines()))
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--memory-gb", type=float, default=8.0)
    parser.add_argument("--json", help="write per-input results here")
    args = parser.parse_args(argv)

    engines = [e for e in args.engines.split(",") if e]
    items = inputs(args.data, args.per_category, args.seed, args.mode)
    walks = args.walks if args.mode == "walk" else 0
    # A batch mode (each step fills 32 rows, one per different fresh schema) would build its own
    # jobs here, one per batch of inputs, and its own report; the inputs and the worker are shared.
    print(f"{len(items)} inputs x {engines} on {args.tokenizer}, {args.mode} mode", file=sys.stderr)
    results: dict[str, list[dict]] = {e: [] for e in engines}
    workers = {e: Worker(e, args.tokenizer, args.memory_gb, target=_speed_worker) for e in engines}
    started = time.perf_counter()
    try:
        for i, item in enumerate(items):
            # The engines take turns in a rotating order: each one's compile then follows each
            # other engine's token walks equally often (a compile right after a big engine's
            # walks starts with cold CPU caches; in a fixed order one engine always paid that).
            for e in engines[i % len(engines):] + engines[:i % len(engines)]:
                r = workers[e].run((item, walks, args.walk_tokens), args.timeout)
                r.setdefault("name", item["name"])
                results[e].append(r)
            if (i + 1) % 10 == 0:
                print(f"  {i + 1}/{len(items)}, {time.perf_counter() - started:.0f} s", file=sys.stderr)
    finally:
        for w in workers.values():
            w.stop()
    report(args.mode, args.tokenizer, items, results)
    print(f"\n{time.perf_counter() - started:.0f} s of engine runs", file=sys.stderr)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
