"""``$ref`` resolution inside one schema document: JSON pointers, ``$defs``, ``$id`` and ``$anchor``.

Only references into the document itself are followed (a schema never reaches the network).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urldefrag, urljoin

from ..errors import MalformedSchemaError

#: Keywords whose values are JSON data, not schemas: never read or rewritten as schemas.
DATA_KEYWORDS = frozenset(("enum", "const", "default", "examples", "example"))


class RefResolver:
    """Resolves ``$ref`` strings against one root schema.

    ``$id`` values (absolute or relative, resolved against their parent's base URI) and
    ``$anchor`` / ``$dynamicAnchor`` names are indexed once; a reference is then a base URI part
    (which must name the root or an ``$id`` in the document) plus a fragment that is either a
    JSON pointer (``#/$defs/node``) or an anchor name (``#node``). The root's base URI is "" unless
    it has an ``$id``.
    """

    def __init__(self, root: Any) -> None:
        self.root = root
        self._by_uri: dict[str, Any] = {"": root}
        self._anchors: dict[tuple[str, str], Any] = {}
        self._base_of: dict[int, str] = {}
        dialect = root.get("$schema", "") if isinstance(root, dict) else ""
        # Drafts 3 and 4 name identifiers "id"; later drafts "$id", and an "id" is no keyword
        # there (not even beside a nested "$schema": validators read the whole document in the
        # root's dialect).
        self._legacy_ids = isinstance(dialect, str) and ("draft-03" in dialect or "draft-04" in dialect)
        self._index(root, "")

    def _index(self, node: Any, base: str) -> None:
        if isinstance(node, dict):
            legacy_id = node.get("id") if self._legacy_ids and isinstance(node.get("id"), str) else None
            ident = node.get("$id", legacy_id)
            if isinstance(ident, str):
                uri, fragment = urldefrag(urljoin(base, ident))
                if uri != base or not fragment:
                    base = uri
                    self._by_uri.setdefault(uri, node)
                if fragment and not fragment.startswith("/"):  # draft-4/6 "#anchor" ids
                    self._anchors[(uri, fragment)] = node
            for key in ("$anchor", "$dynamicAnchor"):
                name = node.get(key)
                if isinstance(name, str):
                    self._anchors[(base, name)] = node
            self._base_of[id(node)] = base
            for key, value in node.items():
                if key in DATA_KEYWORDS:
                    continue  # data, not schemas
                self._index(value, base)
        elif isinstance(node, list):
            for item in node:
                self._index(item, base)

    def base_of(self, schema: Any, default: str) -> str:
        """Base URI in force at ``schema`` (``default`` for a schema not in the document)."""
        return self._base_of.get(id(schema), default)

    def in_document(self, schema: Any) -> bool:
        """Whether ``schema`` is a node of the document itself (not a dict made from it)."""
        return id(schema) in self._base_of

    def resolve(self, ref: Any, base: str, where: str) -> tuple[Any, str]:
        """(target schema, its base URI) of ``ref`` found at JSON pointer ``where``."""
        if not isinstance(ref, str):
            raise MalformedSchemaError(f"$ref must be a string, not {type(ref).__name__}, at {where}")
        uri, fragment = urldefrag(urljoin(base, ref))
        document = self._by_uri.get(uri)
        if document is None:
            raise MalformedSchemaError(
                f"unresolvable $ref {ref!r} at {where}: only references within the schema document are followed"
            )
        if not fragment:
            return document, uri
        if fragment.startswith("/"):
            node = document
            for raw in fragment[1:].split("/"):
                part = unquote(raw).replace("~1", "/").replace("~0", "~")
                if isinstance(node, dict) and part in node:
                    node = node[part]
                elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                    node = node[int(part)]
                else:
                    raise MalformedSchemaError(f"dangling $ref {ref!r} at {where}: the schema has no {part!r} there")
            return node, self._base_of.get(id(node), uri)
        target = self._anchors.get((uri, fragment))
        if target is None:
            raise MalformedSchemaError(f"dangling $ref {ref!r} at {where}: no $anchor {fragment!r}")
        return target, self._base_of.get(id(target), uri)
