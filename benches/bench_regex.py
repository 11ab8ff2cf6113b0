#!/usr/bin/env python
"""Regex constraint benchmark: compile time, time to first mask, per-token mask time.

For every regex of ``tests/regex_corpus.REGEX_CORPUS`` on one real vocabulary (tekken by default):

* compile: ``constrain.compile({"type": "regex", ...}, vocab, cache=False)``, best and median of
  ``--repeat`` runs (the vocabulary's token trie is built once beforehand and reported apart);
* first mask: ``fill_next_token_bitmask`` on a fresh compilation (nothing cached yet);
* per step: ``fill_next_token_bitmask`` along ``--walks`` seeded random walks of up to ``--steps``
  tokens (tokens drawn uniformly among the allowed ones), split into first visits of a state
  (the mask is computed: a trie walk) and cached visits (a copy of the cached row);
* ``accept_token`` time per step, for reference.

Usage::

    python benches/bench_regex.py                       # tekken
    python benches/bench_regex.py --vocab smollm2 --json /tmp/regex_smollm2.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import random
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

import constrain  # noqa: E402
from constrain.bitmask import bitmask_row_to_ids  # noqa: E402
from regex_corpus import REGEX_CORPUS  # noqa: E402


def _mistral_data(name: str) -> str:
    spec = importlib.util.find_spec("mistral_common")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("mistral-common is not installed")
    return os.path.join(spec.submodule_search_locations[0], "data", name)


def load_vocab(name: str) -> constrain.Vocabulary:
    if name == "tekken":
        return constrain.Vocabulary.from_tekken(_mistral_data("tekken_240911.json"))
    if name == "sentencepiece":
        return constrain.Vocabulary.from_sentencepiece(_mistral_data("mistral_instruct_tokenizer_240323.model.v3"))
    if name == "smollm2":
        from constrain.models import load_tokenizer

        return constrain.Vocabulary.from_transformers(load_tokenizer())
    raise SystemExit(f"unknown vocabulary {name!r}")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return float(np.percentile(np.asarray(values), q))


def bench_one(name: str, pattern: str, vocab: constrain.Vocabulary, args) -> dict:
    fmt = {"type": "regex", "schema": pattern}
    compile_ms = []
    for _ in range(args.repeat):
        t = time.perf_counter_ns()
        compiled = constrain.compile(fmt, vocab, cache=False)
        compile_ms.append((time.perf_counter_ns() - t) / 1e6)
    # a fresh compilation for the mask timings: its mask cache is empty
    compiled = constrain.compile(fmt, vocab, cache=False)
    bitmask = constrain.allocate_token_bitmask(1, vocab.size)
    m = compiled.matcher()
    t = time.perf_counter_ns()
    m.fill_next_token_bitmask(bitmask)
    first_mask_ms = (time.perf_counter_ns() - t) / 1e6

    uncached_us: list[float] = []
    cached_us: list[float] = []
    accept_us: list[float] = []
    walks_ended = 0
    steps_total = 0
    for w in range(args.walks):
        rng = random.Random(args.seed * 7919 + w)
        m = compiled.matcher()
        for _ in range(args.steps):
            was_cached = m.state in compiled._mask_cache
            t = time.perf_counter_ns()
            m.fill_next_token_bitmask(bitmask)
            dt = (time.perf_counter_ns() - t) / 1e3
            (cached_us if was_cached else uncached_us).append(dt)
            steps_total += 1
            ids = bitmask_row_to_ids(bitmask[0], vocab.size)
            if len(ids) == 0:
                raise AssertionError(f"{name}: empty mask")
            tok = int(ids[rng.randrange(len(ids))])
            t = time.perf_counter_ns()
            ok = m.accept_token(tok)
            accept_us.append((time.perf_counter_ns() - t) / 1e3)
            if not ok:
                raise AssertionError(f"{name}: allowed token {tok} refused")
            if m.is_terminated():
                walks_ended += 1
                break
    return {
        "name": name,
        "pattern": pattern,
        "dfa_states": compiled.dfa.num_states,
        "byte_classes": compiled.dfa.num_classes,
        "compile_ms_best": min(compile_ms),
        "compile_ms_median": statistics.median(compile_ms),
        "first_mask_ms": first_mask_ms,
        "steps": steps_total,
        "walks_ended": walks_ended,
        "uncached_steps": len(uncached_us),
        "uncached_us_p50": pct(uncached_us, 50),
        "uncached_us_p99": pct(uncached_us, 99),
        "cached_steps": len(cached_us),
        "cached_us_p50": pct(cached_us, 50),
        "cached_us_p99": pct(cached_us, 99),
        "accept_us_p50": pct(accept_us, 50),
        "_uncached": uncached_us,
        "_cached": cached_us,
        "_accept": accept_us,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vocab", choices=["tekken", "smollm2", "sentencepiece"], default="tekken")
    ap.add_argument("--walks", type=int, default=5, help="random walks per regex (default 5)")
    ap.add_argument("--steps", type=int, default=64, help="max tokens per walk (default 64)")
    ap.add_argument("--repeat", type=int, default=3, help="compilations timed per regex (default 3)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", default=None, help="substring filter on regex names")
    ap.add_argument("--json", dest="json_out", default=None, metavar="OUT", help="write results as JSON")
    args = ap.parse_args(argv)

    t = time.perf_counter()
    vocab = load_vocab(args.vocab)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    _ = vocab.trie  # built once per vocabulary, shared by every constraint
    trie_s = time.perf_counter() - t
    print(f"{vocab!r}: loaded in {load_s:.2f}s, token trie {vocab.trie.num_nodes} nodes built in {trie_s:.2f}s")
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
          f"{os.cpu_count()} cpus; walks={args.walks} steps<={args.steps} repeat={args.repeat}")

    rows = []
    corpus = [(n, p) for n, p in REGEX_CORPUS if args.only is None or args.only in n]
    header = (f"{'regex':28s} {'states':>6s} {'compile':>9s} {'1st mask':>9s} {'uncached':>8s} "
              f"{'p50':>8s} {'p99':>8s} {'cached':>6s} {'p50':>7s} {'p99':>7s} {'accept':>7s}")
    units = (f"{'':28s} {'':>6s} {'ms':>9s} {'ms':>9s} {'steps':>8s} {'us':>8s} {'us':>8s} {'steps':>6s} "
             f"{'us':>7s} {'us':>7s} {'us p50':>7s}")
    print(header)
    print(units)
    for name, pattern in corpus:
        r = bench_one(name, pattern, vocab, args)
        rows.append(r)
        print(f"{name:28s} {r['dfa_states']:6d} {r['compile_ms_best']:9.2f} {r['first_mask_ms']:9.2f} "
              f"{r['uncached_steps']:8d} {r['uncached_us_p50']:8.0f} {r['uncached_us_p99']:8.0f} "
              f"{r['cached_steps']:6d} {r['cached_us_p50']:7.1f} {r['cached_us_p99']:7.1f} {r['accept_us_p50']:7.1f}")

    all_unc = [x for r in rows for x in r["_uncached"]]
    all_cached = [x for r in rows for x in r["_cached"]]
    all_steps = all_unc + all_cached
    all_accept = [x for r in rows for x in r["_accept"]]
    compile_best = [r["compile_ms_best"] for r in rows]
    first = [r["first_mask_ms"] for r in rows]
    summary = {
        "vocab": vocab.name,
        "vocab_size": vocab.size,
        "regexes": len(rows),
        "trie_build_s": trie_s,
        "compile_ms_total": sum(compile_best),
        "compile_ms_p50": pct(compile_best, 50),
        "compile_ms_max": max(compile_best),
        "first_mask_ms_p50": pct(first, 50),
        "first_mask_ms_max": max(first),
        "steps": len(all_steps),
        "mask_us_p50": pct(all_steps, 50),
        "mask_us_p99": pct(all_steps, 99),
        "uncached_steps": len(all_unc),
        "uncached_us_p50": pct(all_unc, 50),
        "uncached_us_p99": pct(all_unc, 99),
        "cached_steps": len(all_cached),
        "cached_us_p50": pct(all_cached, 50),
        "cached_us_p99": pct(all_cached, 99),
        "accept_us_p50": pct(all_accept, 50),
        "accept_us_p99": pct(all_accept, 99),
        "walks_ended": sum(r["walks_ended"] for r in rows),
        "walks": args.walks * len(rows),
    }
    print()
    print(f"SUMMARY {args.vocab} ({vocab.size} ids, {len(rows)} regexes): "
          f"compile p50 {summary['compile_ms_p50']:.2f} ms (max {summary['compile_ms_max']:.1f}, "
          f"total {summary['compile_ms_total']:.0f} ms); first mask p50 {summary['first_mask_ms_p50']:.2f} ms "
          f"(max {summary['first_mask_ms_max']:.1f}); per-token mask p50 {summary['mask_us_p50']:.1f} us / "
          f"p99 {summary['mask_us_p99']:.0f} us over {summary['steps']} steps "
          f"[uncached {summary['uncached_steps']}: p50 {summary['uncached_us_p50']:.0f} / "
          f"p99 {summary['uncached_us_p99']:.0f} us; cached {summary['cached_steps']}: "
          f"p50 {summary['cached_us_p50']:.1f} / p99 {summary['cached_us_p99']:.1f} us]; "
          f"accept_token p50 {summary['accept_us_p50']:.1f} us; walks ended {summary['walks_ended']}/{summary['walks']}")
    if args.json_out:
        out = {
            "summary": summary,
            "args": vars(args),
            "regexes": [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows],
        }
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=2)
        print(f"wrote {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
