#!/usr/bin/env python
"""Fuzz regex constraints on a real tokenizer: random regexes, random walks, oracle strings.

Each case generates a random ECMA-262 regex from a small grammar (literals and escapes, classes
with ranges/negation/class escapes, ``.``, alternation, bounded and unbounded repeats, lazy
quantifiers, capturing/non-capturing/named groups, non-ASCII ranges, occasional anchors), compiles
it with ``constrain.compile`` and checks it against an independent oracle (Python ``re`` via
``tests/regex_corpus.python_oracle``):

* DFA level: strings drawn from the oracle's language (hypothesis ``from_regex``) and mutations of
  them are accepted iff the oracle fullmatches them;
* completeness: those strings are accepted with ``accept_string`` and token by token along the
  tokenizer's canonical tokenization, with EOS allowed at the end;
* soundness: seeded random walks through the masks never get stuck, and every walk that ends with
  EOS spells UTF-8 text the oracle fullmatches; sampled disallowed ids are refused.

Usage::

    python fuzz/fuzz_regex.py --minutes 5 --seed 1 --vocab tekken
    python fuzz/fuzz_regex.py --seed 1 --case 1234 --vocab smollm2      # replay one case

Prints progress every ``--report-every`` cases and every counterexample with its case number;
exits 1 when a counterexample was found.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import random
import re
import sys
import time
from collections.abc import Callable

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

import constrain  # noqa: E402
from constrain.errors import AutomatonTooLargeError, InvalidRegexError  # noqa: E402
from regex_corpus import python_oracle  # noqa: E402

# --------------------------------------------------------------------------------------------
# random regex grammar
# --------------------------------------------------------------------------------------------

LITERALS = list("abcxyzAZ09_ -,:;@#%&=~'\"<>") + ["é", "ß", "Ж", "λ", "中", "가", "😀", "€", "\u00a0"]
ESCAPED = ["\\.", "\\*", "\\+", "\\?", "\\(", "\\)", "\\[", "\\]", "\\{", "\\}", "\\|", "\\\\", "\\/", "\\^", "\\$",
           "\\-", "\\n", "\\t", "\\r", "\\x41", "\\x7e", "\\u00e9", "\\u4e2d", "\\u{1F680}", "\\uD83D\\uDE00", "\\cJ", "\\0"]
CLASS_ESCAPES = ["\\d", "\\D", "\\w", "\\W", "\\s", "\\S"]
RANGES = ["a-z", "A-Z", "0-9", "a-f", "x-z", "α-ω", "А-я", "가-힣", "\\u4e00-\\u4e0f", "\\u{1F600}-\\u{1F64F}",
          "\\x20-\\x2f", "à-ÿ", "\\u2000-\\u200a", "😀-😃"]
# No bare '-' among the singles: next to a class escape it would bound a range ('[\\w-a]'), which
# both constrain and Python refuse; a bare '-' is only put first or last (see _class).
CLASS_SINGLES = list("abc_.,:xyz09 é中😀") + ["\\]", "\\[", "\\\\", "\\^", "\\-", "\\n", "\\t", "\\u00a0", "\\x7f"]


def _class(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 3)):
        r = rng.random()
        if r < 0.4:
            parts.append(rng.choice(RANGES))
        elif r < 0.65:
            parts.append(rng.choice(CLASS_ESCAPES))
        else:
            parts.append(rng.choice(CLASS_SINGLES))
    body = "".join(parts)
    if body.startswith("^"):
        body = "\\" + body
    r = rng.random()
    if r < 0.1:
        body = "-" + body
    elif r < 0.2:
        body = body + "-"
    return "[" + ("^" if rng.random() < 0.25 else "") + body + "]"


class _Gen:
    """Regex generator state.

    Python's backtracking ``re`` (the oracle) can take exponential time on nested or stacked
    unbounded repeats, so the grammar allows at most two unbounded quantifiers per regex, none
    inside a repeated group, and repeats groups at most twice.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.unbounded_left = 2
        self.in_repeat = 0
        self.groups = 0

    def quantifier(self, group: bool) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.55:
            return ""
        unbounded_ok = not group and not self.in_repeat and self.unbounded_left > 0
        if r < 0.63:
            q = "?"
        elif r < 0.77 and unbounded_ok:
            q = rng.choice("*+")
            self.unbounded_left -= 1
        elif r < 0.85:
            q = "{%d}" % rng.randint(0, 2 if group else 3)
        elif r < 0.95 or not unbounded_ok:
            lo = rng.randint(0, 2)
            q = "{%d,%d}" % (lo, lo + rng.randint(0, 0 if group else 3)) if not group else "{%d,2}" % min(lo, 2)
        else:
            q = "{%d,}" % rng.randint(0, 2)
            self.unbounded_left -= 1
        if rng.random() < 0.15:
            q += "?"  # lazy: same language
        return q

    def atom(self, depth: int) -> str:
        rng = self.rng
        r = rng.random()
        if depth > 0 and r < 0.2:
            kind = rng.random()
            if kind < 0.5:
                opener = "("
            elif kind < 0.8:
                opener = "(?:"
            else:
                self.groups += 1
                opener = "(?<g%d>" % self.groups
            # decide the group's quantifier first, so that its body knows whether it repeats
            q = self.quantifier(group=True)
            repeats = q not in ("", "?", "??") and not q.startswith(("{0}", "{1}", "{0,0}", "{1,1}"))
            self.in_repeat += repeats
            inner = self.alternation(depth - 1)
            self.in_repeat -= repeats
            return opener + inner + ")" + q
        if r < 0.45:
            a = rng.choice(LITERALS)
        elif r < 0.55:
            a = rng.choice(ESCAPED)
        elif r < 0.75:
            a = _class(rng)
        elif r < 0.87:
            a = rng.choice(CLASS_ESCAPES)
        elif r < 0.93:
            a = "."
        else:
            return "".join(rng.choice("abc") for _ in range(rng.randint(2, 4)))  # a short word
        return a + self.quantifier(group=False)

    def concat(self, depth: int) -> str:
        return "".join(self.atom(depth) for _ in range(self.rng.randint(1, 4)))

    def alternation(self, depth: int) -> str:
        n = 1 if self.rng.random() < 0.6 else self.rng.randint(2, 3)
        return "|".join(self.concat(depth) for _ in range(n))


def random_regex(rng: random.Random) -> str:
    g = _Gen(rng)
    body = g.alternation(depth=2)
    r = rng.random()
    if r < 0.08:
        body = "^" + body
    elif r < 0.16:
        body = body + "$"
    elif r < 0.2:
        body = "(^|" + g.concat(0) + ")" + body + "(" + g.concat(0) + "|$)"
    return body


# --------------------------------------------------------------------------------------------
# tokenizer families
# --------------------------------------------------------------------------------------------


def _mistral_data(name: str) -> str:
    spec = importlib.util.find_spec("mistral_common")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("mistral-common is not installed")
    return os.path.join(spec.submodule_search_locations[0], "data", name)


def load_family(name: str) -> tuple[constrain.Vocabulary, Callable[[str], list[int]]]:
    """(vocabulary, canonical encode) for 'smollm2', 'tekken' or 'sentencepiece'."""
    if name == "smollm2":
        from constrain.models import load_tokenizer

        tok = load_tokenizer()
        return constrain.Vocabulary.from_transformers(tok), lambda s: tok.encode(s, add_special_tokens=False)
    if name == "tekken":
        from mistral_common.tokens.tokenizers.tekken import Tekkenizer

        path = _mistral_data("tekken_240911.json")
        tok = Tekkenizer.from_file(path)
        return constrain.Vocabulary.from_tekken(path), lambda s: tok.encode(s, bos=False, eos=False)
    if name == "sentencepiece":
        import sentencepiece as spm

        path = _mistral_data("mistral_instruct_tokenizer_240323.model.v3")
        sp = spm.SentencePieceProcessor(model_file=path)
        return constrain.Vocabulary.from_sentencepiece(path), lambda s: sp.encode(s)
    raise ValueError(f"unknown vocabulary {name!r}")


def canonical_ids(vocab: constrain.Vocabulary, encode, s: str) -> list[int] | None:
    """Canonical token ids spelling exactly ``s``; SentencePiece's dummy-prefix space removed
    (bare '▁' dropped, or ``s`` re-tokenized after a '\\n' sentinel). None when no token sequence
    from the tokenizer spells ``s`` (e.g. a byte no token holds)."""
    data = s.encode("utf-8")
    ids = [int(t) for t in encode(s)]
    got = vocab.decode_bytes(ids)
    if got == data:
        return ids
    if got == b" " + data:
        if ids and vocab.token_bytes[ids[0]] == b" ":
            return ids[1:]
        ids2 = [int(t) for t in encode("\n" + s)]
        for k in range(len(ids2) + 1):
            head = vocab.decode_bytes(ids2[:k])
            if head == b" \n":
                return ids2[k:] if vocab.decode_bytes(ids2[k:]) == data else None
            if len(head) > 2:
                break
    return None


def _has_tokenization(vocab: constrain.Vocabulary, data: bytes, in_tokens: frozenset[int]) -> bool:
    """False when the tokenizer has no tokenization spelling exactly ``data``: a byte that no token
    holds (SmolLM2 lacks 0xF1, 0xF2, ...), or, for SentencePiece, a literal '▁' (U+2581), which the
    tokenizer reads as its space symbol. The byte-level checks still cover such strings."""
    if not set(data) <= in_tokens:
        return False
    return not (vocab.name.startswith("sentencepiece") and "\u2581".encode() in data)


# --------------------------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Failure:
    case: int
    pattern: str
    what: str
    detail: str

    def __str__(self) -> str:
        return f"case {self.case}: {self.what}\n  regex:  {self.pattern!r}\n  detail: {self.detail}"


@dataclasses.dataclass
class Result:
    cases: int = 0
    checked: int = 0
    too_large: int = 0
    empty: int = 0
    walks: int = 0
    walks_ended: int = 0
    strings: int = 0
    too_large_patterns: list[str] = dataclasses.field(default_factory=list)
    failures: list[Failure] = dataclasses.field(default_factory=list)


def _oracle_samples(gen: re.Pattern[str], seed: int, n: int) -> list[str]:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed
    from hypothesis import strategies as st
    from hypothesis.errors import Unsatisfiable

    out: list[str] = []

    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @hseed(seed)
    @given(st.from_regex(gen, fullmatch=True))
    def collect(s):
        if not any(0xD800 <= ord(c) <= 0xDFFF for c in s) and s not in out:
            out.append(s)

    try:
        collect()
    except Unsatisfiable:
        pass
    return out


def _mutations(rng: random.Random, s: str, pool: str) -> list[str]:
    out = []
    for _ in range(6):
        chars = list(s)
        op = rng.randrange(4)
        pos = rng.randint(0, len(chars))
        if op == 0:
            chars.insert(pos, rng.choice(pool))
        elif op == 1 and chars:
            del chars[min(pos, len(chars) - 1)]
        elif op == 2 and chars:
            chars[min(pos, len(chars) - 1)] = rng.choice(pool)
        else:
            chars = chars[:pos]
        out.append("".join(chars))
    return out


_POOL = "abcxyzAZ09_ -.,:é中😀\n\r\t\u00a0\u2028\x85[]\\"


def _bit(row: np.ndarray, t: int) -> bool:
    return bool((int(row[t >> 5]) >> (t & 31)) & 1)


class _Walker:
    """Random walks over a compiled constraint (uniform phase, then steered towards acceptance)."""

    def __init__(self, compiled: constrain.CompiledConstraint, single_byte: dict[int, int]) -> None:
        self.compiled = compiled
        self.single_byte = single_byte
        dfa = compiled.dfa
        usable = sorted({int(dfa.byte_class[b]) for b in single_byte})
        n = dfa.num_states
        preds: list[set[int]] = [set() for _ in range(n)]
        for s in range(n):
            for c in usable:
                t = int(dfa.table[s, c])
                if t >= 0:
                    preds[t].add(s)
        inf = 1 << 30
        dist = [inf] * n
        frontier = [s for s in range(n) if dfa.accepting[s]]
        for s in frontier:
            dist[s] = 0
        while frontier:
            nxt = []
            for t in frontier:
                for s in preds[t]:
                    if dist[s] == inf:
                        dist[s] = dist[t] + 1
                        nxt.append(s)
            frontier = nxt
        self.dist = dist

    def _distance_after(self, state: int, token: int) -> int:
        nxt = self.compiled.next_state(state, token)
        return self.dist[nxt] if nxt >= 0 else 1 << 31

    def walk(self, rng: random.Random, uniform_steps: int = 48, finish_steps: int = 64) -> tuple[list[int] | None, str]:
        """Returns (ids ending with EOS, "") or (None, problem) or (ids, "") if it did not end."""
        m = self.compiled.matcher()
        vocab = self.compiled.vocab
        eos = vocab.eos_token_ids[0]
        ids: list[int] = []
        for step in range(uniform_steps + finish_steps):
            allowed = m.allowed_token_ids()
            if len(allowed) == 0:
                return None, f"no token allowed after {vocab.decode_bytes(ids)!r}"
            if (eos in allowed) != m.can_terminate():
                return None, f"EOS in mask ({eos in allowed}) != can_terminate() after {vocab.decode_bytes(ids)!r}"
            state = m.state
            for _ in range(4):
                t = rng.randrange(vocab.size)
                i = int(np.searchsorted(allowed, t))
                if i < len(allowed) and allowed[i] == t:
                    continue
                if m.accept_token(t) or m.state != state:
                    return None, f"masked-out token {t} ({vocab.token_bytes[t]!r}) accepted after {vocab.decode_bytes(ids)!r}"
            if step < uniform_steps:
                t = int(allowed[rng.randrange(len(allowed))])
            elif m.can_terminate():
                t = eos
            else:
                row = m.next_token_bitmask()
                cands = {int(allowed[rng.randrange(len(allowed))]) for _ in range(min(200, len(allowed)))}
                cands.update(x for x in self.single_byte.values() if _bit(row, x))
                t = min(sorted(cands), key=lambda x: (self._distance_after(state, x), rng.random()))
            if not m.accept_token(t):
                return None, f"allowed token {t} ({vocab.token_bytes[t]!r}) refused after {vocab.decode_bytes(ids)!r}"
            ids.append(t)
            if m.is_terminated():
                return ids, ""
        return ids, ""


def check_case(case: int, pattern: str, vocab: constrain.Vocabulary, encode, single_byte: dict[int, int],
               in_tokens: frozenset[int], result: Result, walks: int = 3, samples: int = 6) -> list[Failure]:
    fails: list[Failure] = []
    rng = random.Random(case)
    try:
        oracle = re.compile(python_oracle(pattern), re.ASCII)
        gen = re.compile(python_oracle(pattern))
    except (re.error, ValueError) as exc:
        return [Failure(case, pattern, "oracle could not translate the regex (fuzzer bug)", repr(exc))]
    try:
        compiled = constrain.compile({"type": "regex", "schema": pattern}, vocab, cache=False)
    except AutomatonTooLargeError:
        result.too_large += 1
        result.too_large_patterns.append(pattern)
        return []
    except InvalidRegexError as exc:
        if "no output of this vocabulary" in str(exc):
            # Every match needs a byte no token holds: check the oracle agrees.
            result.empty += 1
            producible = vocab.producible_bytes
            spellable = [s for s in _oracle_samples(gen, case, 20) if all(producible[b] for b in s.encode("utf-8"))]
            if spellable:
                fails.append(Failure(case, pattern, "refused for the vocabulary, but a spellable match exists", repr(spellable[:3])))
            return fails
        if "matches no string" in str(exc):
            result.empty += 1
            found = _oracle_samples(gen, case, 20)
            if found:
                fails.append(Failure(case, pattern, "refused as empty, but the oracle matches", repr(found[:3])))
            return fails
        return [Failure(case, pattern, "constrain refused a valid regex", repr(exc))]
    result.checked += 1
    # Language-level checks use the plain DFA; the compiled constraint's automaton also drops
    # bytes the vocabulary cannot spell (see Vocabulary.producible_bytes).
    dfa = constrain.regex.compile_regex(pattern)
    producible = vocab.producible_bytes
    eos = vocab.eos_token_ids[0]

    # DFA level + completeness
    strings = _oracle_samples(gen, case, samples)
    for s in strings:
        result.strings += 1
        data = s.encode("utf-8")
        if not dfa.fullmatch(data):
            fails.append(Failure(case, pattern, "oracle string rejected by the DFA", repr(s)))
            continue
        if not all(producible[b] for b in data):
            continue  # no token sequence can spell it
        m = compiled.matcher()
        if not (m.accept_string(s) and m.can_terminate() and eos in m.allowed_token_ids()):
            fails.append(Failure(case, pattern, "oracle string not completable via accept_string", repr(s)))
        if _has_tokenization(vocab, data, in_tokens):
            ids = canonical_ids(vocab, encode, s)
            if ids is None:
                fails.append(Failure(case, pattern, "no canonical tokenization round-trips", repr(s)))
            else:
                m = compiled.matcher()
                for i, t in enumerate(ids):
                    if not _bit(m.next_token_bitmask(), t) or not m.accept_token(t):
                        fails.append(Failure(case, pattern, "canonical token masked out",
                                             f"{s!r}: token {t} ({vocab.token_bytes[t]!r}) after {vocab.decode_bytes(ids[:i])!r}"))
                        break
                else:
                    if not (m.can_terminate() and _bit(m.next_token_bitmask(), eos)):
                        fails.append(Failure(case, pattern, "EOS not allowed after canonical tokens", repr(s)))
        for mut in _mutations(rng, s, _POOL):
            if dfa.fullmatch(mut.encode("utf-8")) != bool(oracle.fullmatch(mut)):
                fails.append(Failure(case, pattern, "DFA and oracle disagree on a mutation",
                                     f"{mut!r}: dfa={dfa.fullmatch(mut.encode())} oracle={bool(oracle.fullmatch(mut))}"))
    # soundness
    walker = _Walker(compiled, single_byte)
    for w in range(walks):
        ids, problem = walker.walk(random.Random(case * 31 + w))
        result.walks += 1
        if ids is None:
            fails.append(Failure(case, pattern, f"walk {w} broke", problem))
            continue
        if ids and ids[-1] in vocab.eos_token_ids:
            result.walks_ended += 1
            data = vocab.decode_bytes(ids[:-1])
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                fails.append(Failure(case, pattern, f"walk {w} produced invalid UTF-8", repr(data)))
                continue
            if not oracle.fullmatch(text):
                fails.append(Failure(case, pattern, f"walk {w} produced a string outside the language", repr(text)))
    return fails


def run(
    vocab: constrain.Vocabulary,
    encode,
    *,
    seed: int = 0,
    max_cases: int | None = None,
    minutes: float | None = None,
    only_case: int | None = None,
    report_every: int = 50,
    stop_on_failure: bool = True,
    log: Callable[[str], None] = print,
) -> Result:
    """Run the fuzzer in-process; returns counts and the counterexamples found."""
    single_byte: dict[int, int] = {}
    in_tokens: set[int] = set()
    for tid, data in enumerate(vocab.token_bytes):
        if data:
            in_tokens.update(data)
            if len(data) == 1 and data[0] not in single_byte:
                single_byte[data[0]] = tid
    result = Result()
    deadline = None if minutes is None else time.monotonic() + 60 * minutes
    t0 = time.monotonic()
    i = 0
    while True:
        if only_case is not None:
            case = only_case
        else:
            if max_cases is not None and i >= max_cases:
                break
            if deadline is not None and time.monotonic() > deadline:
                break
            case = seed * 1_000_003 + i
        pattern = random_regex(random.Random(case))
        result.cases += 1
        fails = check_case(case, pattern, vocab, encode, single_byte, frozenset(in_tokens), result)
        for f in fails:
            log(f"COUNTEREXAMPLE (seed {seed}, replay with --seed {seed} --case {f.case}):\n{f}")
        result.failures.extend(fails)
        i += 1
        if report_every and i % report_every == 0:
            log(f"[{time.monotonic() - t0:7.1f}s] {i} cases, {result.checked} checked, {result.too_large} too large, "
                f"{result.empty} empty, walks ended {result.walks_ended}/{result.walks}, "
                f"{result.strings} oracle strings, {len(result.failures)} failures")
        if only_case is not None or (fails and stop_on_failure):
            break
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=1.0, help="time budget (default 1)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--vocab", choices=["smollm2", "tekken", "sentencepiece"], default="tekken")
    ap.add_argument("--max-cases", type=int, default=None, help="stop after this many cases")
    ap.add_argument("--case", type=int, default=None, help="replay one case number (as printed)")
    ap.add_argument("--report-every", type=int, default=50)
    ap.add_argument("--keep-going", action="store_true", help="do not stop at the first counterexample")
    args = ap.parse_args(argv)
    t = time.monotonic()
    vocab, encode = load_family(args.vocab)
    _ = vocab.trie  # build once, outside the timed cases
    print(f"loaded {vocab!r} in {time.monotonic() - t:.1f}s; seed {args.seed}, {args.minutes} min")
    result = run(vocab, encode, seed=args.seed, max_cases=args.max_cases, minutes=args.minutes,
                 only_case=args.case, report_every=args.report_every, stop_on_failure=not args.keep_going)
    print(f"done: {result.cases} cases ({result.checked} checked, {result.too_large} too large, {result.empty} empty), "
          f"walks ended {result.walks_ended}/{result.walks}, {result.strings} oracle strings, "
          f"{len(result.failures)} failures")
    for p in result.too_large_patterns[:5]:
        print(f"  over the automaton budget (not a failure): {p!r}")
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
