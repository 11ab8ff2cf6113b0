"""Typed errors raised by constrain.

Every error a caller can trigger with bad input is a :class:`ConstraintError`, which is also a
:class:`ValueError`, so ``except ValueError`` keeps working for code that does not know this library.
"""

from __future__ import annotations


class ConstraintError(ValueError):
    """Base class of every input error raised by constrain."""


class InvalidRegexError(ConstraintError):
    """A regex is not syntactically valid.

    Attributes:
        pattern: the regex text.
        position: 0-based character offset of the problem in ``pattern`` (or ``None``).
    """

    def __init__(self, message: str, pattern: str, position: int | None = None) -> None:
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"{message}{where} in regex {pattern!r}")
        self.pattern = pattern
        self.position = position


class UnsupportedRegexError(InvalidRegexError):
    """A regex uses a construct that a finite automaton cannot enforce (backreference, lookaround, ...)."""


class AutomatonTooLargeError(ConstraintError):
    """Building an automaton would exceed its configured state budget."""


class CompileTimeoutError(AutomatonTooLargeError):
    """Compiling a constraint took longer than its time budget (``max_compile_seconds``).

    Attributes:
        pointer: JSON pointer of the innermost schema being compiled when time ran out (or
            ``None`` for a regex).
    """

    def __init__(self, message: str, pointer: str | None = None) -> None:
        super().__init__(message)
        self.pointer = pointer


class InvalidResponseFormatError(ConstraintError):
    """A ``response_format`` dict has an unknown type or a malformed shape."""


class InvalidSchemaError(InvalidResponseFormatError):
    """A JSON Schema is malformed: wrong keyword types, dangling ``$ref``, contradictory bounds."""


class MalformedSchemaError(InvalidSchemaError):
    """The schema document itself is wrong: a keyword of the wrong type, an unknown type name, a
    ``$ref`` that points nowhere. Raised even inside an optional property or one ``anyOf``
    branch, where a merely unsatisfiable part is dropped instead."""


class UnsupportedSchemaError(ConstraintError):
    """A JSON Schema keyword cannot be enforced exactly.

    Attributes:
        keyword: the keyword (e.g. ``"uniqueItems"``).
        pointer: JSON pointer of the schema holding it (e.g. ``"/properties/tags"``).
    """

    def __init__(self, message: str, keyword: str | None = None, pointer: str | None = None) -> None:
        super().__init__(message)
        self.keyword = keyword
        self.pointer = pointer


class InvalidTokenError(ConstraintError):
    """A token id is outside the vocabulary."""


class VocabularyError(ConstraintError):
    """A tokenizer or vocabulary file could not be turned into token bytes."""


class InvalidRequestError(ConstraintError):
    """A chat-completions request body is malformed: unknown field, wrong type, out-of-range value.

    Attributes:
        field: dotted path of the offending field (e.g. ``"top_p"``, ``"messages[2].role"``,
            ``"tool_choice.function.name"``), or ``None`` when the body itself is wrong.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
