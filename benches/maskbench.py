"""MaskBench correctness: which real-world schemas compile, and are their instances judged right?

For every schema in ``../shared/data/maskbench/`` (or ``--data``): compile it; feed every test
instance, serialized with ``json.dumps`` default separators and compact, to a fresh matcher; an
instance is *accepted* when the whole text is accepted and EOS is then allowed. A schema *passes*
when it compiles and every instance is judged as its ``valid`` flag says. Optionally (``--walks``)
run seeded random walks over the SmolLM2 vocabulary and validate every output with jsonschema.

Peers (llguidance, xgrammar, outlines-core) are measured in the same run when installed
(``pip install 'constrain[bench]'``) and ``--peers`` names them.

    python benches/maskbench.py --per-category 20 --walks 5
    python benches/maskbench.py --per-category 0          # every schema (hours in pure Python)
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import signal
import sys
import time
import warnings
from typing import Any

import jsonschema

import constrain

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data", "maskbench"))


class Timeout(Exception):
    pass


def _alarm(_signum: int, _frame: Any) -> None:
    raise Timeout()


def load(data: str, per_category: int, seed: int) -> list[dict]:
    records = []
    for name in sorted(os.listdir(data)):
        if not name.endswith(".jsonl"):
            continue
        with open(os.path.join(data, name), encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
        if per_category:
            rng = random.Random(f"{seed}:{name}")
            rows = rng.sample(rows, min(per_category, len(rows)))
        records.extend(rows)
    return records


def texts_of(instance: Any) -> list[str]:
    return [json.dumps(instance), json.dumps(instance, separators=(",", ":"))]


def run_constrain(record: dict, vocab: constrain.Vocabulary, timeout: float, walks: int, max_tokens: int) -> dict:
    out = {"compiled": False, "error": None, "invalid_accepted": 0, "valid_rejected": 0, "walks": 0, "walks_ended": 0, "walk_failures": 0}
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compiled = constrain.compile({"type": "json_schema", "json_schema": {"schema": record["schema"]}}, vocab, cache=False)
            compiled.matcher().next_token_bitmask()  # time to first mask
        out["compile_s"] = time.perf_counter() - start
        out["compiled"] = True
        for test in record.get("tests", []):
            for text in texts_of(test["data"]):
                m = compiled.matcher()
                accepted = m.accept_string(text) and m.can_terminate()
                if accepted and not test["valid"]:
                    out["invalid_accepted"] += 1
                if not accepted and test["valid"]:
                    out["valid_rejected"] += 1
        if walks:
            validator_cls = jsonschema.validators.validator_for(record["schema"], default=jsonschema.Draft202012Validator)
            validator = validator_cls(record["schema"], format_checker=validator_cls.FORMAT_CHECKER)
            rng = random.Random(record["id"])
            for _ in range(walks):
                out["walks"] += 1
                m = compiled.matcher()
                ids = []
                for _ in range(max_tokens):
                    allowed = m.allowed_token_ids()
                    if not allowed.size:
                        break
                    t = int(allowed[rng.randrange(allowed.size)])
                    m.accept_token(t)
                    if m.is_terminated():
                        break
                    ids.append(t)
                if m.is_terminated():
                    out["walks_ended"] += 1
                    try:
                        ok = validator.is_valid(json.loads(vocab.decode_bytes(ids)))
                    except ValueError:
                        ok = False
                    if not ok:
                        out["walk_failures"] += 1
                        out.setdefault("walk_failure_examples", []).append(vocab.decode_bytes(ids).decode("utf-8", "replace")[:300])
    except Timeout:
        out["error"] = "timeout"
    except constrain.ConstraintError as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"[:300]
    except RecursionError:
        out["error"] = "RecursionError"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    out["passes"] = out["compiled"] and out["error"] is None and not out["invalid_accepted"] and not out["valid_rejected"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--per-category", type=int, default=20, help="schemas sampled per category (0 = all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per schema")
    parser.add_argument("--walks", type=int, default=0, help="random walks per compiled schema")
    parser.add_argument("--max-tokens", type=int, default=1024)
    parser.add_argument("--json", help="write per-schema results here")
    args = parser.parse_args(argv)

    signal.signal(signal.SIGALRM, _alarm)
    from constrain.models import load_tokenizer

    print("loading the SmolLM2 tokenizer ...", file=sys.stderr)
    vocab = constrain.Vocabulary.from_transformers(load_tokenizer())
    records = load(args.data, args.per_category, args.seed)
    print(f"{len(records)} schemas", file=sys.stderr)
    per_cat: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    results = []
    errors: collections.Counter = collections.Counter()
    started = time.perf_counter()
    for i, record in enumerate(records):
        r = run_constrain(record, vocab, args.timeout, args.walks, args.max_tokens)
        r["id"], r["category"] = record["id"], record["category"]
        results.append(r)
        c = per_cat[record["category"]]
        c["schemas"] += 1
        c["compiled"] += r["compiled"] and r["error"] is None
        c["passing"] += r["passes"]
        c["invalid_accepted"] += r["invalid_accepted"]
        c["valid_rejected"] += r["valid_rejected"]
        c["walks"] += r["walks"]
        c["walks_ended"] += r["walks_ended"]
        c["walk_failures"] += r["walk_failures"]
        if r["error"]:
            errors[r["error"].split(":")[0] + ":" + (r["error"].split("keyword ")[1].split(" ")[0] if "keyword " in r["error"] else "")] += 1
        if (i + 1) % 25 == 0:
            print(f"  {i + 1}/{len(records)} schemas, {time.perf_counter() - started:.0f} s", file=sys.stderr)
    total: collections.Counter = collections.Counter()
    print(f"\n{'category':<22}{'schemas':>8}{'compiled':>9}{'passing':>8}{'inv.acc':>8}{'val.rej':>8}{'walks':>7}{'ended':>7}{'bad':>5}")
    for cat in sorted(per_cat):
        c = per_cat[cat]
        total.update(c)
        print(f"{cat:<22}{c['schemas']:>8}{c['compiled']:>9}{c['passing']:>8}{c['invalid_accepted']:>8}{c['valid_rejected']:>8}{c['walks']:>7}{c['walks_ended']:>7}{c['walk_failures']:>5}")
    c = total
    print(f"{'TOTAL':<22}{c['schemas']:>8}{c['compiled']:>9}{c['passing']:>8}{c['invalid_accepted']:>8}{c['valid_rejected']:>8}{c['walks']:>7}{c['walks_ended']:>7}{c['walk_failures']:>5}")
    compile_times = sorted(r["compile_s"] for r in results if "compile_s" in r)
    if compile_times:
        print(f"\ncompile (time to first mask): median {compile_times[len(compile_times) // 2] * 1e3:.1f} ms, "
              f"p90 {compile_times[int(len(compile_times) * 0.9)] * 1e3:.1f} ms")
    print("\nmost common refusals/errors:")
    for err, n in errors.most_common(15):
        print(f"  {n:5d}  {err}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
