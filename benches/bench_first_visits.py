"""Where constrain's slow mask steps come from: first visits, measured against repeat walks.

bench_speed's per-token p99 is set by the few steps that meet something new: a parse
configuration whose table row is unknown, a grammar rule not built yet, a rule state not
determinized yet, a byte partition whose projected trie is not built yet, a string rule whose
plain-text proof is not done yet. This bench walks the same inputs and token sequences as
bench_speed (MaskBench valid instances, seeded random walks, json_object, the regex corpus), in
process, constrain only, three times:

1. **cold**: a fresh compile per input, each mask timed as bench_speed times it;
2. **tables kept**: the same walks again on the same compiled constraints after
   ``clear_mask_cache()``: every mask is computed again, but by walks whose automaton entries,
   rules, proofs and projections are known. The difference to (1) is the cost of first visits;
   (2) is what the masks would cost if that work were free (say, done in native code);
3. with ``--profile``: the cold pass once more, on fresh compiles, with the first-visit work
   timed by kind (configuration steps, rule builds, rule states, projected tries, plain-text
   proofs); its timings are inflated by the timers, the shares are what counts.

With ``--peer llguidance`` (or xgrammar), the peer walks the same token sequences in the same
process first, and its p99 is printed beside constrain's, as bench_speed does.

    python benches/bench_first_visits.py --tokenizer tekken --per-category 3 --profile --peer llguidance
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import random
import sys
import time
import warnings
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

import numpy as np  # noqa: E402

from bench_speed import add_input_args, inputs  # noqa: E402


def _walk(engine: Any, tok: Any, handle: Any, item: dict, walks: int, walk_tokens: int,
          row: np.ndarray, times: list[float], sequences: list[list[int]] | None = None) -> list[list[int]]:
    """bench_speed's walks of one input; with ``sequences``, replays those token sequences instead
    of choosing (so every pass and every engine sees the same steps). Returns the sequences."""
    out: list[list[int]] = []
    plans: list[list[int] | None]
    if sequences is not None:
        plans = list(sequences)
    else:
        plans = [tok.encode(t) for t in item["texts"]] + [None] * walks
    rng = random.Random(item["name"])
    for plan in plans:
        m = engine.matcher(handle)
        taken: list[int] = []
        for i in range(len(plan) if plan is not None else walk_tokens):
            t0 = time.perf_counter()
            m.fill(row)
            times.append(time.perf_counter() - t0)
            if plan is not None:
                t = plan[i]
                if t < 0:
                    break
            else:
                bits = np.unpackbits(row.view(np.uint8), bitorder="little")[: tok.vocab.size]
                allowed = np.flatnonzero(bits)
                allowed = allowed[~np.isin(allowed, tok.vocab.eos_token_ids)]
                if not allowed.size:
                    taken.append(-1)  # only EOS was left: a replay fills this step too, then stops
                    break
                t = int(allowed[rng.randrange(allowed.size)])
            taken.append(t)
            if not m.consume(t):
                break
        out.append(taken)
    return out


def _instrument() -> tuple[collections.Counter, list]:
    """Time first-visit work by kind (outermost call of each kind; kinds may nest: configuration
    steps include the rule builds and rule states they cause, which are also shown alone)."""
    from constrain import compiler, grammar, tokentrie

    spent: collections.Counter = collections.Counter()
    active: collections.Counter = collections.Counter()
    undo = []

    def timed(owner: Any, name: str, kind: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if active[kind]:
                return original(*args, **kwargs)
            active[kind] += 1
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[kind] += time.perf_counter() - start
                active[kind] -= 1

        setattr(owner, name, wrapper)
        undo.append((owner, name, original))

    timed(compiler.CompiledConstraint, "_automaton_mask", "mask (all)")
    timed(grammar.GrammarAutomaton, "resolve", "configuration steps")
    timed(grammar.GrammarAutomaton, "resolve_entry", "configuration steps")
    timed(grammar.GrammarAutomaton, "_build", "rule builds")
    timed(grammar._Lazy, "__missing__", "rule states")
    timed(tokentrie.ProjectedTrie, "__init__", "projected trie builds")
    timed(grammar.GrammarAutomaton, "top_reads_plain", "plain-text proofs")
    timed(compiler, "simulates_plain_utf8", "plain-text proofs")
    return spent, undo


def main(argv: list[str] | None = None) -> int:
    from engines import load_tokenizer, make_engine

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_input_args(parser, walk_tokens=64)
    parser.add_argument("--peer", help="also walk the same sequences with this engine (llguidance, xgrammar)")
    parser.add_argument("--profile", action="store_true", help="time the first-visit work by kind")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")

    tok = load_tokenizer(args.tokenizer)
    engine = make_engine("constrain", tok)
    peer = make_engine(args.peer, tok) if args.peer else None
    row = np.zeros((tok.vocab.size + 31) // 32, dtype=np.int32)
    items = inputs(args.data, args.per_category, args.seed)
    print(f"{len(items)} inputs on {args.tokenizer}", file=sys.stderr)
    cold: list[float] = []
    kept: list[float] = []
    peer_times: list[float] = []
    replay: list[tuple[dict, list[list[int]]]] = []
    for n, item in enumerate(items):
        try:
            handle = engine.compile(item["response_format"])
            peer_handle = peer.compile(item["response_format"]) if peer is not None else None
        except Exception:  # noqa: BLE001 - refused by one engine: compared on the others
            continue
        engine.matcher(handle).fill(row)
        mine: list[float] = []
        sequences = _walk(engine, tok, handle, item, args.walks, args.walk_tokens, row, mine)
        if peer is not None:
            peer.matcher(peer_handle).fill(row)
            _walk(peer, tok, peer_handle, item, args.walks, args.walk_tokens, row, peer_times, sequences)
        cold.extend(mine)
        handle.clear_mask_cache()
        _walk(engine, tok, handle, item, args.walks, args.walk_tokens, row, kept, sequences)
        replay.append((item, sequences))
        if (n + 1) % 20 == 0:
            print(f"  {n + 1}/{len(items)}", file=sys.stderr)

    def line(name: str, times: list[float], limit: float | None) -> str:
        us = np.array(times) * 1e6
        over = f"{int((us > limit).sum()):>7}" if limit is not None else f"{'':>7}"
        return (f"{name:<26}{us.size:>7}{np.percentile(us, 50):>9.1f}{np.percentile(us, 99):>9.0f}{over}"
                f"{us.sum() / 1e3:>10.0f}")

    limit = 2 * float(np.percentile(np.array(peer_times) * 1e6, 99)) if peer_times else None
    print(f"\n{args.tokenizer}: {len(replay)} inputs; steps over {'2x the peer p99' if limit else '-'}"
          f"{f' = {limit:.0f} us' if limit else ''}; the p99 target allows {len(cold) // 100}")
    print(f"{'pass':<26}{'steps':>7}{'p50 us':>9}{'p99 us':>9}{'over':>7}{'sum ms':>10}")
    if peer_times:
        print(line(args.peer, peer_times, limit))
    print(line("constrain cold", cold, limit))
    print(line("constrain tables kept", kept, limit))

    if args.profile:
        totals: dict[str, float] = {}
        spent, undo = _instrument()
        try:
            for item, sequences in replay:
                handle = engine.compile(item["response_format"])
                engine.matcher(handle).fill(row)
                spent.clear()
                _walk(engine, tok, handle, item, args.walks, args.walk_tokens, row, [], sequences)
                for kind, seconds in spent.items():
                    totals[kind] = totals.get(kind, 0.0) + seconds
        finally:
            for owner, name, original in undo:
                setattr(owner, name, original)
        whole = totals.pop("mask (all)", 0.0)
        print(f"\ncold masks under timers: {whole * 1e3:.0f} ms in all; first-visit work by kind"
              " (configuration steps include the rule builds and states they cause):")
        for kind, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
            print(f"  {kind:<26}{seconds * 1e3:8.0f} ms  {seconds / whole:6.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
