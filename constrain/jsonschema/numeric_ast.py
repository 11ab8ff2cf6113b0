"""A tiny regex AST for the numeric regexes: hash-consed nodes, smart constructors that keep it
simplified, and rendering to regex text in the dialect of :mod:`constrain.regex.parser`.

Holds the node types (``_Lit``, ``_Set``, ``_Cat``, ``_Alt``, ``_Rep``; ``None`` stands for the
empty language), their constructors (``_cat``, ``_alt``, ``_rep``, ``_opt``, ...), ``_to_regex``
and :data:`EMPTY_REGEX`. :mod:`constrain.jsonschema.numeric_range` and
:mod:`constrain.jsonschema.numeric` build their regexes with it.

Imports: the standard library only.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Union

#: A regex that matches nothing (ECMA-262's empty class).
EMPTY_REGEX = "[]"


_INTERNED: "weakref.WeakValueDictionary[tuple, object]" = weakref.WeakValueDictionary()


class _Interned:
    """Hash-consing: structurally equal nodes are one object, so ``==`` and ``hash`` are O(1)
    (identity) even for deep trees, which keeps the subtree merging of :func:`_trie` fast."""

    def __new__(cls, *args: object) -> "_Interned":
        key = (cls, *args)
        node = _INTERNED.get(key)
        if node is None:
            node = object.__new__(cls)
            _INTERNED[key] = node
        return node  # type: ignore[return-value]


@dataclass(frozen=True, eq=False)
class _Lit(_Interned):
    """A literal string; ``""`` is the empty string (epsilon)."""

    text: str


@dataclass(frozen=True, eq=False)
class _Set(_Interned):
    """One character out of ``chars`` (sorted, distinct, at least two)."""

    chars: str


@dataclass(frozen=True, eq=False)
class _Cat(_Interned):
    items: tuple["_Node", ...]


@dataclass(frozen=True, eq=False)
class _Alt(_Interned):
    options: tuple["_Node", ...]


@dataclass(frozen=True, eq=False)
class _Rep(_Interned):
    item: "_Node"
    min: int
    max: int | None


_Node = Union[_Lit, _Set, _Cat, _Alt, _Rep]
_Lang = Union[_Node, None]  # None: the empty language

_EPS = _Lit("")
_DIGITS = "0123456789"
_D = _Set(_DIGITS)


def _nullable(node: _Node) -> bool:
    if isinstance(node, _Lit):
        return node.text == ""
    if isinstance(node, _Set):
        return False
    if isinstance(node, _Cat):
        return all(_nullable(i) for i in node.items)
    if isinstance(node, _Alt):
        return any(_nullable(o) for o in node.options)
    return node.min == 0 or _nullable(node.item)


def _chars(chars: str) -> _Lang:
    chars = "".join(sorted(set(chars)))
    if not chars:
        return None
    return _Lit(chars) if len(chars) == 1 else _Set(chars)


def _digit_range(lo: int, hi: int) -> _Lang:
    """One digit in ``lo..hi`` (None when the range is empty)."""
    return _chars(_DIGITS[max(lo, 0) : hi + 1]) if lo <= hi else None


def _cat(*parts: _Lang) -> _Lang:
    items: list[_Node] = []
    for part in parts:
        if part is None:
            return None
        for p in part.items if isinstance(part, _Cat) else (part,):
            if isinstance(p, _Lit):
                if not p.text:
                    continue
                if items and isinstance(items[-1], _Lit):
                    items[-1] = _Lit(items[-1].text + p.text)
                    continue
            items.append(p)
    if not items:
        return _EPS
    return items[0] if len(items) == 1 else _Cat(tuple(items))


def _alt(*parts: _Lang) -> _Lang:
    """Union; merges single-character options into one class and turns an epsilon option into ``?``."""
    options: list[_Node | None] = []
    has_eps = False
    chars = ""
    char_slot = -1
    for part in parts:
        if part is None:
            continue
        for p in part.options if isinstance(part, _Alt) else (part,):
            if p == _EPS:
                has_eps = True
            elif isinstance(p, _Set) or (isinstance(p, _Lit) and len(p.text) == 1):
                if char_slot < 0:
                    char_slot = len(options)
                    options.append(None)
                chars += p.chars if isinstance(p, _Set) else p.text
            elif p not in options:
                options.append(p)
    if char_slot >= 0:
        options[char_slot] = _chars(chars)
    opts = _merge_heads([o for o in options if o is not None])
    if not opts:
        return _EPS if has_eps else None
    node = opts[0] if len(opts) == 1 else _Alt(tuple(opts))
    if has_eps and not _nullable(node):
        node = _Rep(node, 0, 1)
    return node


def _head(node: _Node) -> tuple[str, _Node] | None:
    """``(first character set, rest)`` when ``node`` starts with one fixed-width character."""
    if isinstance(node, _Lit) and len(node.text) > 1:
        return node.text[0], _Lit(node.text[1:])
    if isinstance(node, _Cat):
        first = node.items[0]
        if isinstance(first, _Set):
            return first.chars, _cat(*node.items[1:])  # type: ignore[return-value]
        if isinstance(first, _Lit):
            return first.text[0], _cat(_Lit(first.text[1:]), *node.items[1:])  # type: ignore[return-value]
    return None


def _merge_heads(options: list[_Node]) -> list[_Node]:
    """``a X | b X`` -> ``[ab] X``: options that differ only in their first character merge."""
    groups: dict[_Node, list[int]] = {}
    split = [_head(o) for o in options]
    for i, hs in enumerate(split):
        if hs is not None:
            groups.setdefault(hs[1], []).append(i)
    if all(len(g) < 2 for g in groups.values()):
        return options
    out: list[_Node] = []
    for i, o in enumerate(options):
        hs = split[i]
        if hs is None or len(groups[hs[1]]) < 2:
            out.append(o)
        elif groups[hs[1]][0] == i:
            heads = "".join(split[j][0] for j in groups[hs[1]])  # type: ignore[index]
            merged = _cat(_chars(heads), hs[1])
            assert merged is not None
            out.append(merged)
    return out


def _rep(node: _Lang, lo: int, hi: int | None) -> _Lang:
    if node is None:
        return _EPS if lo == 0 else None
    if node == _EPS or hi == 0:
        return _EPS
    if lo == 1 and hi == 1:
        return node
    if hi is not None and hi < lo:
        return None
    return _Rep(node, lo, hi)


def _opt(node: _Lang) -> _Lang:
    return _alt(node, _EPS)


def _nonempty(node: _Lang) -> _Lang:
    """The language of ``node`` without the empty string."""
    if node is None:
        return None
    if isinstance(node, _Lit):
        return node if node.text else None
    if isinstance(node, _Set):
        return node
    if isinstance(node, _Alt):
        return _alt(*(_nonempty(o) for o in node.options))
    if isinstance(node, _Rep):
        item = _nonempty(node.item) if _nullable(node.item) else node.item
        if item is None or node.max == 0:
            return None
        if _nullable(node.item):  # x{m,n} with ε in x is x'{0,n}; without ε: x'{1,n}
            return _rep(item, 1, node.max)
        return _rep(item, max(node.min, 1), node.max)
    first, rest = node.items[0], _cat(*node.items[1:])
    if not _nullable(first):
        return node
    return _alt(_cat(_nonempty(first), rest), _nonempty(rest))


_META = set("\\^$.|?*+()[]{}/")


def _escape(c: str) -> str:
    return "\\" + c if c in _META else c


def _render_set(chars: str) -> str:
    if chars == _DIGITS:
        return r"\d"
    out = []
    codes = [ord(c) for c in chars]
    i = 0
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        parts = [chr(codes[i]), chr(codes[j])] if j - i >= 2 else [chr(c) for c in codes[i : j + 1]]
        esc = ["\\" + c if c in "\\]^-[" else c for c in parts]
        out.append("-".join(esc) if j - i >= 2 else "".join(esc))
        i = j + 1
    return "[" + "".join(out) + "]"


def _render(node: _Node, ctx: int = 0) -> str:
    """Regex text; ``ctx`` 0: alternation level, 1: inside a concatenation, 2: quantifier operand."""
    if isinstance(node, _Lit):
        units: list[str] = []
        text = node.text
        i = 0
        while i < len(text):
            j = i
            while j < len(text) and text[j] == text[i]:
                j += 1
            if j - i >= 4:
                units.append(f"{_escape(text[i])}{{{j - i}}}")
            else:
                units.extend(_escape(text[i]) for _ in range(j - i))
            i = j
        s = "".join(units)
        atomic = len(units) == 1 and not s.endswith("}")
        return s if ctx < 2 or atomic else f"(?:{s})"
    if isinstance(node, _Set):
        return _render_set(node.chars)
    if isinstance(node, _Cat):
        s = "".join(_render(i, 1) for i in node.items)
        return f"(?:{s})" if ctx == 2 else s
    if isinstance(node, _Alt):
        s = "|".join(_render(o, 0) for o in node.options)
        return f"(?:{s})" if ctx >= 1 else s
    lo, hi = node.min, node.max
    if (lo, hi) == (0, 1):
        q = "?"
    elif (lo, hi) == (0, None):
        q = "*"
    elif (lo, hi) == (1, None):
        q = "+"
    elif hi is None:
        q = f"{{{lo},}}"
    elif lo == hi:
        q = f"{{{lo}}}"
    else:
        q = f"{{{lo},{hi}}}"
    s = _render(node.item, 2) + q
    return f"(?:{s})" if ctx == 2 else s


def _to_regex(node: _Lang) -> str:
    if node is None:
        return EMPTY_REGEX
    s = _render(node, 0)
    return f"(?:{s})" if isinstance(node, _Alt) else s
