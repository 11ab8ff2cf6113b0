"""The package's layout: no import cycles, no oversized modules, a clean request-layer boundary, a pinned API.

Imports are read from the source with :mod:`ast`, not by importing anything, and every import counts:
module level, inside functions, and under ``if TYPE_CHECKING:`` (a cycle that only type checkers
follow is still two modules that cannot be understood one without the other).
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import constrain

PACKAGE_DIR = Path(constrain.__file__).resolve().parent
PACKAGE = "constrain"
#: The request layer: it may use the engine only through public names.
REQUEST_LAYER = "constrain.chat"
MAX_LINES = 1000

#: ``import constrain``'s public names, pinned (a change here is an API change).
PUBLIC_API = [
    "AutomatonTooLargeError",
    "ChatRequest",
    "CompileTimeoutError",
    "CompiledConstraint",
    "ConstraintError",
    "ConstraintLogitsProcessor",
    "InvalidRegexError",
    "InvalidRequestError",
    "InvalidResponseFormatError",
    "InvalidSchemaError",
    "MalformedSchemaError",
    "InvalidTokenError",
    "Matcher",
    "ParsedOutput",
    "ReasoningFormat",
    "SampledToken",
    "Sampler",
    "SamplingParams",
    "ToolCallFormat",
    "UnsupportedRegexError",
    "UnsupportedSchemaError",
    "Vocabulary",
    "VocabularyError",
    "allocate_token_bitmask",
    "apply_token_bitmask_inplace",
    "bitmask_width",
    "build_output_constraint",
    "compile",
    "parse_output",
    "parse_request",
    "run_chat",
    "stream_chat",
]


# --------------------------------------------------------------------------------------------
# reading a package's imports
# --------------------------------------------------------------------------------------------


def package_modules(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file under ``root`` (a package named ``package``)."""
    modules: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        rel = Path(dirpath).relative_to(root).parts
        for filename in sorted(filenames):
            if not filename.endswith(".py"):
                continue
            stem = filename[:-3]
            parts = (package, *rel) if stem == "__init__" else (package, *rel, stem)
            modules[".".join(parts)] = Path(dirpath) / filename
    return modules


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _resolve_base(module: str, path: Path, level: int, target: str | None) -> str:
    """The absolute name that ``from <level dots><target> import ...`` in ``module`` refers to."""
    if level == 0:
        return target or ""
    parts = module.split(".")
    if not _is_package(path):
        parts = parts[:-1]  # a plain module's relative imports start from its package
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    return ".".join([*parts, target] if target else parts)


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """``name`` if it is a module of the package, else its longest known ancestor (None: outside it)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> Iterator[tuple[str, str, int]]:
    """(imported module, imported name or "", line) for every import of a package module in ``module``.

    ``import a.b.c`` imports ``a.b.c``; ``from a.b import c`` imports ``a.b.c`` when that is a module,
    else ``a.b`` (name ``c``). Every import statement counts, wherever it is in the file.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _known(alias.name, modules)
                if target is not None:
                    yield target, "", node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_base(module, path, node.level, node.module)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in modules:
                    yield sub, "", node.lineno
                else:
                    target = _known(base, modules)
                    if target is not None:
                        yield target, alias.name, node.lineno


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the package modules it imports (self-imports left out)."""
    modules = package_modules(root, package)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for target, _, _ in imports_of(name, path, modules):
            if target != name:
                graph[name].add(target)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Import cycles found by a depth-first search: each one as [a, b, ..., a], every back edge once."""
    cycles: list[list[str]] = []
    done: set[str] = set()
    stack: list[str] = []
    on_stack: dict[str, int] = {}

    def visit(node: str) -> None:
        on_stack[node] = len(stack)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in on_stack:
                cycles.append(stack[on_stack[nxt]:] + [nxt])
            elif nxt not in done:
                visit(nxt)
        stack.pop()
        del on_stack[node]
        done.add(node)

    for node in sorted(graph):
        if node not in done:
            visit(node)
    return cycles


def _format(cycles: list[list[str]]) -> str:
    return "\n".join(" -> ".join(c) for c in cycles)


# --------------------------------------------------------------------------------------------
# (a) no import cycle
# --------------------------------------------------------------------------------------------


def test_checker_finds_a_cycle(tmp_path: Path) -> None:
    """The checker is not vacuous: it reports a two-module cycle, whatever the kind of import."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..a import thing\n    return thing\n")
    (pkg / "c.py").write_text("import pkg.sub.b\nfrom pkg import a\n")  # reaches the cycle, is not in it
    graph = import_graph(pkg, "pkg")
    assert graph["pkg.a"] == {"pkg.sub.b"}
    assert graph["pkg.sub.b"] == {"pkg.a"}
    assert graph["pkg.c"] == {"pkg.sub.b", "pkg.a"}
    assert find_cycles(graph) == [["pkg.a", "pkg.sub.b", "pkg.a"]]
    (pkg / "sub" / "b.py").write_text("import os\n")
    assert find_cycles(import_graph(pkg, "pkg")) == []


def test_checker_resolves_names_and_packages(tmp_path: Path) -> None:
    """``from pkg import name`` is an edge to ``pkg.name`` when that is a module, else to ``pkg``."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from . import a\nfrom .a import VALUE\n")
    (pkg / "a.py").write_text("VALUE = 1\nfrom . import VALUE as again\n")
    graph = import_graph(pkg, "pkg")
    assert graph["pkg"] == {"pkg.a"}
    assert graph["pkg.a"] == {"pkg"}
    assert find_cycles(graph) == [["pkg", "pkg.a", "pkg"]]


def test_no_import_cycle() -> None:
    cycles = find_cycles(import_graph(PACKAGE_DIR, PACKAGE))
    assert not cycles, "import cycles inside constrain/:\n" + _format(cycles)


# --------------------------------------------------------------------------------------------
# (b) no oversized module
# --------------------------------------------------------------------------------------------


def test_no_module_over_the_line_limit() -> None:
    sizes = {
        name: len(path.read_text(encoding="utf-8").splitlines())
        for name, path in package_modules(PACKAGE_DIR, PACKAGE).items()
    }
    over = {name: n for name, n in sorted(sizes.items()) if n > MAX_LINES}
    assert not over, f"modules over {MAX_LINES} lines: {over}"


# --------------------------------------------------------------------------------------------
# (c) the request layer uses the engine through public names only
# --------------------------------------------------------------------------------------------


def _inside(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _private_path(name: str) -> bool:
    return any(part.startswith("_") for part in name.split("."))


def boundary_violations(root: Path, package: str, layer: str) -> list[str]:
    """Where modules of ``layer`` reach a private name or path of the rest of ``package``.

    Checked: every imported name, every imported module's path, and ``mod._name`` attribute reads
    on a name bound to an imported module of the engine.
    """
    modules = package_modules(root, package)
    problems: list[str] = []
    for name, path in sorted(modules.items()):
        if not _inside(name, layer):
            continue
        engine_aliases: set[str] = set()
        for target, imported, line in imports_of(name, path, modules):
            if _inside(target, layer):
                continue
            if _private_path(target):
                problems.append(f"{name}:{line} imports the private module {target}")
            if imported.startswith("_"):
                problems.append(f"{name}:{line} imports the private name {target}.{imported}")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = _resolve_base(name, path, node.level, node.module)
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    if full in modules and not _inside(full, layer):
                        engine_aliases.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if _known(alias.name, modules) and not _inside(alias.name, layer):
                        engine_aliases.add(alias.asname or alias.name.partition(".")[0])
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name)
                and node.value.id in engine_aliases
            ):
                problems.append(f"{name}:{node.lineno} reads the private name {node.value.id}.{node.attr}")
    return problems


def test_boundary_checker_finds_private_use(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "chat").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "_hidden.py").write_text("X = 1\n")
    (pkg / "engine.py").write_text("_secret = 1\npublic = 2\n")
    (pkg / "chat" / "__init__.py").write_text("")
    (pkg / "chat" / "own.py").write_text("_mine = 1\n")
    (pkg / "chat" / "user.py").write_text(
        "from ..engine import public, _secret\n"
        "from .own import _mine\n"  # inside the layer: allowed
        "from .. import engine, _hidden\n"
        "def f():\n    return engine._secret + engine.public\n"
    )
    problems = boundary_violations(pkg, "pkg", "pkg.chat")
    assert problems == [
        "pkg.chat.user:1 imports the private name pkg.engine._secret",
        "pkg.chat.user:3 imports the private module pkg._hidden",
        "pkg.chat.user:5 reads the private name engine._secret",
    ]


def test_request_layer_uses_public_engine_names_only() -> None:
    assert (PACKAGE_DIR / "chat" / "__init__.py").is_file()
    problems = boundary_violations(PACKAGE_DIR, PACKAGE, REQUEST_LAYER)
    assert not problems, "\n".join(problems)


#: Modules above the request layer: the package's re-exports and the entry points.
ABOVE_REQUEST_LAYER = {"constrain", "constrain.cli", "constrain.__main__"}


def test_engine_does_not_import_the_request_layer() -> None:
    modules = package_modules(PACKAGE_DIR, PACKAGE)
    upward = [
        f"{name}:{line} imports {target}"
        for name, path in sorted(modules.items())
        if not _inside(name, REQUEST_LAYER) and name not in ABOVE_REQUEST_LAYER
        for target, _, line in imports_of(name, path, modules)
        if _inside(target, REQUEST_LAYER)
    ]
    assert not upward, "\n".join(upward)


# --------------------------------------------------------------------------------------------
# (d) the public API
# --------------------------------------------------------------------------------------------


def test_public_api_is_pinned() -> None:
    assert constrain.__all__ == PUBLIC_API
    missing = [name for name in PUBLIC_API if not hasattr(constrain, name)]
    assert not missing, missing


@pytest.mark.parametrize("name", sorted(package_modules(PACKAGE_DIR, PACKAGE)))
def test_every_module_has_a_docstring(name: str) -> None:
    path = package_modules(PACKAGE_DIR, PACKAGE)[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert ast.get_docstring(tree), f"{name} has no module docstring"
