"""The pair simulation behind the plain-text proofs: does one automaton read every byte string
another one reads?

Holds :func:`simulate_pairs`, which :func:`~constrain.tokentrie.simulates_plain_utf8` (a whole
automaton against plain JSON-string text) and
:meth:`~constrain.grammar.GrammarAutomaton.top_reads_plain` (one grammar rule's own DFA) both
run. It sits below both modules so that the grammar, which the token trie walks, does not import
the token trie.

Imports: nothing of the library (the standard library only), so that any module may import it.
"""

from __future__ import annotations


def simulate_pairs(start: tuple[int, int], successors, memo: dict, max_pairs: int) -> bool:
    """The simulation behind :func:`~constrain.tokentrie.simulates_plain_utf8` (and the grammar's rule-level proof):
    explore pairs (automaton state, plain state) from ``start``; ``successors(pair)`` gives the
    pairs one plain byte leads to, or None when the automaton dies on a byte plain text reads.

    Gives up (False) past ``max_pairs`` pairs. ``memo`` maps pairs to results: every pair of a
    successful simulation simulates too; a pair that fails makes every pair reaching it fail.
    """
    hit = memo.get(start)
    if hit is not None:
        return hit
    seen = {start}
    todo = [start]
    ok = True
    while todo and ok:
        pair = todo.pop()
        known = memo.get(pair)
        if known is not None and pair != start:
            ok = known
            continue
        nexts = successors(*pair)
        if nexts is None:
            ok = False
            break
        for nxt in nexts:
            if nxt not in seen:
                if len(seen) >= max_pairs:
                    ok = False  # gave up (a counting state never closes)
                    break
                seen.add(nxt)
                todo.append(nxt)
    if ok:
        for pair in seen:
            memo[pair] = True
    else:
        memo[start] = False
    return ok
