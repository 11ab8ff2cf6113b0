"""MaskBench correctness for constrain and its peers, side by side in one run.

For every schema in ``../shared/data/maskbench/`` (or ``--data``), each engine compiles it (time to
first mask is recorded), then every test instance, serialized with ``json.dumps`` default
separators and compact, is tokenized by the model's own tokenizer and fed token by token to a
fresh matcher; an instance is *accepted* when every token is accepted and EOS is then allowed.
A schema *passes* when it compiles and every instance is judged as its ``valid`` flag says.
With ``--walks N``, constrain also runs N seeded random walks per compiled schema (uniform choice
among the allowed tokens, ``--max-tokens`` cap) and validates every walk that ends with jsonschema.

Each engine runs in its own worker process, so a compile that hangs or eats memory (outlines-core
on large schemas) is killed after ``--timeout`` seconds (or ``--memory-gb``) and counted as a
failure of that engine, without stopping the run. Peers are measured when installed
(``pip install -e '.[bench]'``). Results stream to ``--out`` (JSON lines), so a long run can be
stopped and resumed (``--resume``) and the table printed from it later (``--report``).

    python benches/maskbench.py --per-category 12 --walks 5          # a sample, about 20 minutes
    python benches/maskbench.py --per-category 0 --out mb.jsonl      # every schema (hours)
    python benches/maskbench.py --report mb.jsonl
"""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing as mp
import os
import random
import resource
import statistics
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
DEFAULT_DATA = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data", "maskbench"))


def load(data: str, per_category: int, seed: int, categories: list[str] | None = None) -> list[dict]:
    records: list[list[dict]] = []
    for name in sorted(os.listdir(data)):
        if not name.endswith(".jsonl"):
            continue
        if categories and name[: -len(".jsonl")] not in categories:
            continue
        with open(os.path.join(data, name), encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
        if per_category:
            rng = random.Random(f"{seed}:{name}")
            rows = rng.sample(rows, min(per_category, len(rows)))
        records.append(rows)
    # Round-robin over categories, so a partial run (stopped, then --report) covers all of them evenly.
    out: list[dict] = []
    for i in range(max((len(rows) for rows in records), default=0)):
        out.extend(rows[i] for rows in records if i < len(rows))
    return out


def texts_of(instance: Any) -> list[str]:
    return [json.dumps(instance), json.dumps(instance, separators=(",", ":"))]


# -- the worker: one engine, one schema at a time ------------------------------------------------

def start_engine(engine_name: str, tokenizer: str, memory_gb: float) -> tuple[Any, Any]:
    """In a worker process: (engine, tokenizer), under the memory limit, warnings silenced."""
    if memory_gb:
        limit = int(memory_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import warnings

    warnings.simplefilter("ignore")
    from engines import load_tokenizer, make_engine

    tok = load_tokenizer(tokenizer)
    return make_engine(engine_name, tok), tok


def _worker(engine_name: str, tokenizer: str, memory_gb: float, conn: Any) -> None:
    if os.environ.get("CONSTRAIN_PROPERTY_ORDER"):
        from engines import ConstrainEngine

        ConstrainEngine.options = {"property_order": os.environ["CONSTRAIN_PROPERTY_ORDER"]}
    engine, tok = start_engine(engine_name, tokenizer, memory_gb)
    conn.send("ready")
    while True:
        job = conn.recv()
        if job is None:
            return
        record, walks, max_tokens, walk_budget = job
        try:
            result = evaluate(engine, tok, record, walks, max_tokens, walk_budget)
        except MemoryError:
            result = {"compiled": False, "error": "MemoryError"}
        conn.send(result)


def evaluate(engine: Any, tok: Any, record: dict, walks: int, max_tokens: int, walk_budget: float) -> dict:
    from engines import EngineRefused

    out: dict[str, Any] = {"compiled": False, "error": None, "invalid_accepted": 0, "valid_rejected": 0,
                           "instances": 0}
    response_format = {"type": "json_schema", "json_schema": {"schema": record["schema"]}}
    start = time.perf_counter()
    try:
        handle = engine.compile(response_format)
        engine.matcher(handle).allowed_ids()  # time to first mask
    except EngineRefused as exc:
        out["error"] = "refused: " + str(exc)[:300]
        return out
    except RecursionError:
        out["error"] = "RecursionError"
        return out
    except Exception as exc:  # noqa: BLE001 - a crash of the engine is a result, not a bench failure
        out["error"] = f"crash: {type(exc).__name__}: {exc}"[:300]
        return out
    out["compile_s"] = time.perf_counter() - start
    out["compiled"] = True
    for test in record.get("tests", []):
        for text in texts_of(test["data"]):
            out["instances"] += 1
            m = engine.matcher(handle)
            try:
                accepted = all(m.consume(t) for t in tok.encode(text)) and m.accepts_eos()
            except Exception as exc:  # noqa: BLE001
                out["error"] = f"crash: {type(exc).__name__}: {exc}"[:300]
                return out
            if accepted and not test["valid"]:
                out["invalid_accepted"] += 1
                out.setdefault("invalid_accepted_examples", []).append(text[:300])
            if not accepted and test["valid"]:
                out["valid_rejected"] += 1
                out.setdefault("valid_rejected_examples", []).append(text[:300])
    if walks:
        try:
            out.update(random_walks(engine, tok, handle, record, walks, max_tokens, walk_budget))
        except Exception as exc:  # noqa: BLE001 - a matcher that fails mid-walk is a result (a failure)
            out["error"] = f"crash in a walk: {type(exc).__name__}: {exc}"[:300]
    return out


def random_walks(engine: Any, tok: Any, handle: Any, record: dict, walks: int, max_tokens: int,
                 budget: float) -> dict:
    import jsonschema

    schema = record["schema"]
    validator_cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    validator = validator_cls(schema, format_checker=validator_cls.FORMAT_CHECKER)
    rng = random.Random(record["id"])
    out = {"walks": 0, "walks_ended": 0, "walk_failures": 0, "walks_skipped": 0}
    deadline = time.perf_counter() + budget
    for _ in range(walks):
        if time.perf_counter() > deadline:
            out["walks_skipped"] += 1
            continue
        out["walks"] += 1
        m = engine.matcher(handle)
        ids: list[int] = []
        ended = False
        for _ in range(max_tokens):
            allowed = m.allowed_ids()
            if not allowed.size:
                break
            t = int(allowed[rng.randrange(allowed.size)])
            if t in tok.vocab.eos_token_ids:
                ended = True
                break
            if not m.consume(t):
                out.setdefault("walk_failure_examples", []).append(f"allowed token {t} refused")
                out["walk_failures"] += 1
                break
            ids.append(t)
        if ended:
            out["walks_ended"] += 1
            text = tok.vocab.decode_bytes(ids)
            try:
                ok = validator.is_valid(json.loads(text))
            except (ValueError, RecursionError):
                ok = False
            if not ok:
                out["walk_failures"] += 1
                out.setdefault("walk_failure_examples", []).append(text.decode("utf-8", "replace")[:300])
    return out


class Worker:
    """A worker process for one engine, restarted after a timeout or a crash."""

    def __init__(self, engine: str, tokenizer: str, memory_gb: float, target: Any = None) -> None:
        self.engine, self.tokenizer, self.memory_gb = engine, tokenizer, memory_gb
        self.target = target or _worker
        self.proc: Any = None
        self.conn: Any = None

    def _start(self) -> None:
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        self.proc = ctx.Process(target=self.target, args=(self.engine, self.tokenizer, self.memory_gb, child), daemon=True)
        self.proc.start()
        self.conn = parent
        if not parent.poll(600) or parent.recv() != "ready":
            raise RuntimeError(f"{self.engine} worker did not start")

    def run(self, job: tuple, timeout: float) -> dict:
        if self.proc is None or not self.proc.is_alive():
            self._start()
        self.conn.send(job)
        try:
            if self.conn.poll(timeout):
                return self.conn.recv()
            error = "timeout"
        except EOFError:
            error = "worker died (memory limit or crash)"
        self.stop()
        return {"compiled": False, "error": error}

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.join()
            self.proc = None


# -- reporting -------------------------------------------------------------------------------

def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def report(rows: list[dict], out: Any = sys.stdout) -> None:
    engines = [e for e in ("constrain", "llguidance", "xgrammar", "outlines-core") if any(r["engine"] == e for r in rows)]
    per: dict[tuple[str, str], collections.Counter] = collections.defaultdict(collections.Counter)
    compile_times: dict[str, list[float]] = collections.defaultdict(list)
    errors: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for r in rows:
        c = per[(r["engine"], r["category"])]
        c["schemas"] += 1
        c["compiled"] += bool(r["compiled"]) and not r.get("error")
        c["passing"] += bool(r["compiled"]) and not r.get("error") and not r["invalid_accepted"] and not r["valid_rejected"]
        for k in ("invalid_accepted", "valid_rejected", "instances", "walks", "walks_ended", "walk_failures",
                  "walks_skipped"):
            c[k] += r.get(k, 0) or 0
        if "compile_s" in r:
            compile_times[r["engine"]].append(r["compile_s"])
        if r.get("error"):
            err = r["error"]
            if "keyword " in err:
                err = "unsupported keyword " + err.split("keyword ")[1].split(" ")[0]
            errors[r["engine"]][err[:90]] += 1
    cats = sorted({r["category"] for r in rows})
    header = f"{'category':<22}{'schemas':>8}" + "".join(f"{e[:12]:>26}" for e in engines)
    print("Per engine: compiled / passing / invalid accepted / valid rejected", file=out)
    print(header, file=out)
    totals: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for cat in cats:
        line = f"{cat:<22}{per[(engines[0], cat)]['schemas']:>8}"
        for e in engines:
            c = per[(e, cat)]
            totals[e].update(c)
            line += f"{c['compiled']:>8}{c['passing']:>6}{c['invalid_accepted']:>6}{c['valid_rejected']:>6}"
        print(line, file=out)
    line = f"{'TOTAL':<22}{totals[engines[0]]['schemas']:>8}"
    for e in engines:
        c = totals[e]
        line += f"{c['compiled']:>8}{c['passing']:>6}{c['invalid_accepted']:>6}{c['valid_rejected']:>6}"
    print(line, file=out)
    wins = collections.Counter()
    for cat in cats:
        best = max(per[(e, cat)]["passing"] for e in engines)
        for e in engines:
            wins[e] += per[(e, cat)]["passing"] == best
    print("\ncategories where the engine passes the most schemas (ties count for each): "
          + ", ".join(f"{e} {wins[e]}/{len(cats)}" for e in engines), file=out)
    print("\ntime to first mask (compile), compiled schemas only:", file=out)
    for e in engines:
        t = compile_times[e]
        if t:
            print(f"  {e:<14} median {statistics.median(t) * 1e3:8.1f} ms   p90 {_pct(t, 0.9) * 1e3:8.1f} ms"
                  f"   max {max(t) * 1e3:9.1f} ms   (n={len(t)})", file=out)
    c = totals.get("constrain")
    if c and c["walks"]:
        print(f"\nconstrain random walks: {c['walks']} run, {c['walks_ended']} ended "
              f"({100 * c['walks_ended'] / c['walks']:.0f}%), {c['walk_failures']} failed validation, "
              f"{c['walks_skipped']} skipped (per-schema walk budget)", file=out)
    for e in engines:
        print(f"\n{e}: most common refusals/errors", file=out)
        for err, n in errors[e].most_common(10):
            print(f"  {n:5d}  {err}", file=out)


def main(argv: list[str] | None = None) -> int:
    from engines import available_engines

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--per-category", type=int, default=12, help="schemas sampled per category (0 = all)")
    parser.add_argument("--categories", help="comma-separated categories (default all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engines", default=",".join(available_engines()),
                        help="comma-separated engines (default: every installed one)")
    parser.add_argument("--tokenizer", default="smollm2", choices=["smollm2", "tekken"])
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per schema and engine")
    parser.add_argument("--memory-gb", type=float, default=6.0, help="address-space limit per worker (0 = none)")
    parser.add_argument("--walks", type=int, default=0, help="constrain random walks per compiled schema")
    parser.add_argument("--walk-budget", type=float, default=40.0, help="seconds of walks per schema")
    parser.add_argument("--max-tokens", type=int, default=1024)
    parser.add_argument("--out", help="append per-schema results here (JSON lines)")
    parser.add_argument("--resume", action="store_true", help="skip (engine, schema) pairs already in --out")
    parser.add_argument("--report", metavar="JSONL", help="only print the table of an earlier --out file")
    parser.add_argument("--property-order", choices=["schema", "any"], default="schema",
                        help="constrain's property_order (default: schema, the library default)")
    args = parser.parse_args(argv)

    if args.report:
        with open(args.report, encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
        report(rows)
        return 0
    engines = [e for e in args.engines.split(",") if e]
    os.environ["CONSTRAIN_PROPERTY_ORDER"] = args.property_order  # read by the spawned workers
    records = load(args.data, args.per_category, args.seed, args.categories.split(",") if args.categories else None)
    done: set[tuple[str, str]] = set()
    rows: list[dict] = []
    if args.out and args.resume and os.path.exists(args.out):
        with open(args.out, encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
        done = {(r["engine"], r["id"]) for r in rows}
    print(f"{len(records)} schemas x engines {engines} on {args.tokenizer}", file=sys.stderr)
    workers = {e: Worker(e, args.tokenizer, args.memory_gb) for e in engines}
    sink = open(args.out, "a", encoding="utf-8") if args.out else None
    started = time.perf_counter()
    try:
        for i, record in enumerate(records):
            for e in engines:
                if (e, record["id"]) in done:
                    continue
                walks = args.walks if e == "constrain" else 0
                budget = args.timeout + (args.walk_budget if walks else 0)
                t0 = time.perf_counter()
                r = workers[e].run((record, walks, args.max_tokens, args.walk_budget), budget)
                r["elapsed_s"] = round(time.perf_counter() - t0, 3)
                r.update(engine=e, id=record["id"], category=record["category"])
                rows.append(r)
                if sink:
                    sink.write(json.dumps(r) + "\n")
                    sink.flush()
            if (i + 1) % 25 == 0:
                print(f"  {i + 1}/{len(records)} schemas, {time.perf_counter() - started:.0f} s", file=sys.stderr)
    finally:
        for w in workers.values():
            w.stop()
        if sink:
            sink.close()
    report(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
