"""Completeness beyond MaskBench's own instances: hypothesis-jsonschema instances of real schemas.

For a seeded sample of MaskBench schemas that constrain compiles, draw up to ``--instances``
values per schema with ``hypothesis-jsonschema`` (skipping schemas it cannot handle), check each
with ``jsonschema`` (the generator is not always right), put object keys in schema order (what
constrain generates by default), and test that the matcher accepts the ``json.dumps`` text (default
and compact separators) with EOS allowed. Every rejection is printed with its schema id and text so
it can be investigated; the summary counts them by category.

    python fuzz/maskbench_instances.py --per-category 6 --instances 5
"""

from __future__ import annotations

import argparse
import collections
import copy
import json
import os
import random
import signal
import sys
import warnings
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, os.path.join(HERE, "..", "benches"))

import constrain  # noqa: E402
from json_helpers import accepts_text, order_like_schema, validator_for  # noqa: E402
from maskbench import DEFAULT_DATA, load  # noqa: E402


class _Timeout(Exception):
    pass


def _alarm(_signum: int, _frame: Any) -> None:
    raise _Timeout()


def draw_instances(schema: Any, count: int, seed: int) -> list[Any]:
    """Up to ``count`` values from hypothesis-jsonschema (an empty list when it cannot)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis_jsonschema import from_schema

    values: list[Any] = []
    try:
        strategy = from_schema(copy.deepcopy(schema))  # it rewrites the schema it is given
    except Exception:  # noqa: BLE001 - hypothesis-jsonschema refuses many real schemas
        return values

    @settings(max_examples=count, database=None, deadline=None, derandomize=True, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value: Any) -> None:
        values.append(value)

    try:
        collect()
    except Exception:  # noqa: BLE001
        pass
    return values[:count]


def _where(compiled: constrain.CompiledConstraint, text: str) -> str:
    """Where the matcher first refuses ``text`` (fed character by character), with context."""
    m = compiled.matcher()
    for i, ch in enumerate(text):
        if not m.accept_string(ch):
            return f"char {i} ...{text[max(0, i - 60):i]!r} | {text[i:i + 20]!r}"
    return "the end (EOS not allowed)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--per-category", type=int, default=6)
    parser.add_argument("--instances", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per schema")
    parser.add_argument("--property-order", choices=["schema", "any"], default="schema",
                        help="compile with this property_order; with 'any' the instances keep the generator's key order")
    parser.add_argument("--ids", help="comma-separated schema ids: only these (from the whole dataset)")
    args = parser.parse_args(argv)

    signal.signal(signal.SIGALRM, _alarm)
    warnings.simplefilter("ignore")
    from constrain.models import load_tokenizer

    vocab = constrain.Vocabulary.from_transformers(load_tokenizer())
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    rng = random.Random(args.seed)
    wanted = set(args.ids.split(",")) if args.ids else None
    records = load(args.data, 0 if wanted else args.per_category, args.seed)
    for record in (r for r in records if wanted is None or r["id"] in wanted):
        c = counts[record["category"]]
        c["schemas"] += 1
        signal.setitimer(signal.ITIMER_REAL, args.timeout)
        try:
            compiled = constrain.compile({"type": "json_schema", "json_schema": {"schema": record["schema"]}}, vocab,
                                         cache=False, property_order=args.property_order)
            c["compiled"] += 1
            values = draw_instances(record["schema"], args.instances, rng.randrange(2**31))
            validator = validator_for(record["schema"])
            values = [v for v in values if validator.is_valid(v)]
            if values:
                c["with_instances"] += 1
            for value in values:
                ordered = order_like_schema(value, record["schema"]) if args.property_order == "schema" else value
                for text in (json.dumps(ordered), json.dumps(ordered, separators=(",", ":"))):
                    c["texts"] += 1
                    if not accepts_text(compiled, text):
                        c["rejected"] += 1
                        print(f"REJECTED {record['category']}/{record['id']} at {_where(compiled, text)}: {text[:300]}")
        except (constrain.ConstraintError, RecursionError, _Timeout):
            pass
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    total: collections.Counter = collections.Counter()
    print(f"\n{'category':<24}{'schemas':>8}{'compiled':>9}{'w/ inst.':>9}{'texts':>7}{'rejected':>9}")
    for cat in sorted(counts):
        c = counts[cat]
        total.update(c)
        print(f"{cat:<24}{c['schemas']:>8}{c['compiled']:>9}{c['with_instances']:>9}{c['texts']:>7}{c['rejected']:>9}")
    print(f"{'TOTAL':<24}{total['schemas']:>8}{total['compiled']:>9}{total['with_instances']:>9}{total['texts']:>7}{total['rejected']:>9}")
    return 1 if total["rejected"] else 0


if __name__ == "__main__":
    sys.exit(main())
