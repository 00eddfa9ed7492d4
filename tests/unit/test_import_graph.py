"""The house's walls: the arrows between packages that must never exist, read from the source
with `ast` (docs/architecture.md draws the ones that do).

Each rule names a part of `outbound` and what it may not import; a forbidden import fails the
test with its file and line. The doors (the CLI, the demo, the API, the pages) reach the store's
repositories only through the service: `store.campaigns.get(…)` in a door fails the same way.
The checker itself is tested on a small tree of its own, so a rule that silently stopped
matching would fail too.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

# Packages of our own, by the first part of the name after `outbound.`.
_SHELL = ("api", "web", "app", "doors", "cli", "demo", "bootstrap", "config", "scenario",
          "service", "delivery")


@dataclass(frozen=True, slots=True)
class Rule:
    part: str  # `outbound.<part>` (a package or a module) the rule applies to
    forbidden: tuple[str, ...]  # module prefixes it may not import
    why: str


RULES = (
    Rule("store", tuple(f"outbound.{p}" for p in (
        "engine", "routing", "ingest", "telephony", *_SHELL)),
         "the store is below the engine and the doors"),
    Rule("engine", tuple(f"outbound.{p}" for p in _SHELL),
         "the engine is driven by the composition root, never the other way"),
    Rule("routing", ("sqlalchemy", *(f"outbound.{p}" for p in ("engine", *_SHELL))),
         "routing decides who to try; the engine reserves through the store"),
    Rule("telephony", tuple(f"outbound.{p}" for p in ("engine", "store", "routing", *_SHELL)),
         "adapters know the port and the clock, nothing of the dialer"),
    Rule("ingest", tuple(f"outbound.{p}" for p in ("engine", *_SHELL)),
         "imports are called by the service and the scenario loader"),
    Rule("service", ("fastapi", "starlette", "uvicorn", "typer", "rich",
                     *(f"outbound.{p}" for p in ("api", "web", "app", "doors", "cli", "demo"))),
         "the service returns values to three doors; it knows none of them"),
    Rule("api", ("outbound.web",), "the API and the pages are mounted side by side by app.py"),
    Rule("web", ("outbound.api",), "the API and the pages are mounted side by side by app.py"),
    Rule("doors", ("outbound.api", "outbound.web"), "what both doors share depends on neither"),
    Rule("clock", ("outbound.",), "the clock is at the bottom of the house"),
)

# The doors onto the service: none of them calls a store repository itself.
DOORS = ("api", "web", "app", "doors", "cli", "demo")


def _repositories() -> frozenset[str]:
    """The Store's repositories (its fields but the SQLAlchemy engine), read from
    store/__init__.py so that a new repository is guarded without a change here."""
    tree = ast.parse((SRC / "outbound" / "store" / "__init__.py").read_text())
    store = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Store")
    return frozenset(n.target.id for n in store.body if isinstance(n, ast.AnnAssign)
                     and isinstance(n.target, ast.Name)) - {"engine"}


REPOSITORIES = _repositories()

STDLIB = frozenset(sys.stdlib_module_names)
DOMAIN_MAY_IMPORT = frozenset({"phonenumbers"})

# The readers of the time: only clock.py calls them.
TIME_READS = frozenset({
    ("time", "time"), ("time", "time_ns"), ("time", "monotonic"), ("time", "monotonic_ns"),
    ("time", "perf_counter"), ("time", "perf_counter_ns"), ("datetime", "now"),
    ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
})


@dataclass(frozen=True, slots=True)
class Found:
    path: Path
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _module_of(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, root: Path) -> Iterator[tuple[str, int]]:
    """Every module `path` imports (relative imports resolved), with its line."""
    module = _module_of(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            yield name, node.lineno
            if name == "outbound":  # `from outbound import web` imports outbound.web
                for alias in node.names:
                    yield f"{name}.{alias.name}", node.lineno


def time_reads(path: Path) -> Iterator[tuple[str, int]]:
    """Calls that read the time: `time.time()`, `datetime.now()`, `from time import time`…"""
    tree = ast.parse(path.read_text(), str(path))
    from_time = {alias.asname or alias.name: (node.module, alias.name)
                 for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                 for alias in node.names if node.module in ("time", "datetime")}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            owner = func.value
            name = owner.id if isinstance(owner, ast.Name) else (
                owner.attr if isinstance(owner, ast.Attribute) else "")
            if (name, func.attr) in TIME_READS:
                yield f"{name}.{func.attr}()", node.lineno
        elif isinstance(func, ast.Name) and from_time.get(func.id) in TIME_READS:
            yield f"{func.id}() from {from_time[func.id][0]}", node.lineno


def _holds_the_store(node: ast.expr) -> bool:
    """`store`, `self.store`, `request.app.state.store`, `store_of(request)`: how a door holds
    the store."""
    if isinstance(node, ast.Name):
        return node.id == "store"
    if isinstance(node, ast.Attribute):
        return node.attr == "store"
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "store_of")


def repository_uses(path: Path) -> Iterator[tuple[str, int]]:
    """Where the store's repositories are used directly: `store.campaigns`, …"""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (isinstance(node, ast.Attribute) and node.attr in REPOSITORIES
                and _holds_the_store(node.value)):
            yield f"store.{node.attr}", node.lineno


def _sources(root: Path) -> list[Path]:
    return sorted(p for p in (root / "outbound").rglob("*.py"))


def _part(path: Path, root: Path) -> str:
    parts = path.relative_to(root / "outbound").with_suffix("").parts
    return parts[0]


def violations(root: Path) -> list[Found]:
    """Every forbidden arrow, SQL outside the store, time read outside the clock and store
    repository used by a door."""
    found: list[Found] = []
    for path in _sources(root):
        part = _part(path, root)
        for name, line in imports(path, root):
            top = name.partition(".")[0]
            if part == "domain" and not (top in STDLIB or top in DOMAIN_MAY_IMPORT
                                         or name.startswith("outbound.domain")):
                found.append(Found(path, line, f"domain imports {name}"))
            if top == "sqlalchemy" and part != "store":
                found.append(Found(path, line, f"SQL outside store/: imports {name}"))
            for rule in RULES:
                if rule.part == part and any(name == f or name.startswith(f"{f}.")
                                             or (f.endswith(".") and name.startswith(f))
                                             for f in rule.forbidden):
                    found.append(Found(path, line, f"{part} imports {name}: {rule.why}"))
        if part != "clock":
            found.extend(Found(path, line, f"reads the time outside clock.py: {what}")
                         for what, line in time_reads(path))
        if part in DOORS:
            found.extend(Found(path, line, f"a door uses {what} past the service")
                         for what, line in repository_uses(path))
    return list(dict.fromkeys(found))  # one line may import several names


def test_no_forbidden_arrow_sql_outside_the_store_or_time_outside_the_clock() -> None:
    found = violations(SRC)
    assert not found, "\n".join(str(f) for f in found)


# -- the checker on a tree of its own --------------------------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in {"outbound/__init__.py": "", **files}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


@pytest.mark.parametrize(("files", "expected"), [
    ({"outbound/domain/x.py": "import sqlalchemy\n"}, "domain imports sqlalchemy"),
    ({"outbound/domain/x.py": "from outbound.store import Store\n"}, "domain imports outbound"),
    ({"outbound/store/x.py": "from outbound.engine.core import Engine\n"}, "store imports"),
    ({"outbound/engine/x.py": "from outbound import bootstrap\n"}, "engine imports"),
    ({"outbound/engine/x.py": "from ..scenario import load\n"}, "engine imports"),
    ({"outbound/web/x.py": "from outbound.api.errors import Forbidden\n"}, "web imports"),
    ({"outbound/api/x.py": "from outbound import web\n"}, "api imports outbound.web"),
    ({"outbound/service/x.py": "from starlette.responses import Response\n"},
     "service imports starlette"),
    ({"outbound/cli.py": "from sqlalchemy import select\n"}, "SQL outside store/"),
    ({"outbound/web/x.py": "import time\nt = time.time()\n"}, "time.time()"),
    ({"outbound/api/x.py": "from datetime import datetime\nt = datetime.now()\n"},
     "datetime.now()"),
    ({"outbound/x.py": "from time import monotonic\nt = monotonic()\n"}, "monotonic() from"),
    ({"outbound/web/x.py": "def f(request):\n    return store_of(request).campaigns.list(1)\n"},
     "a door uses store.campaigns past the service"),
    ({"outbound/cli.py": "n = app.store.dnc.count(1)\n"}, "a door uses store.dnc"),
    ({"outbound/api/x.py": "def f(store):\n    return store.users.authenticate('t')\n"},
     "a door uses store.users"),
])
def test_the_checker_finds_each_kind_of_forbidden_line(tmp_path: Path, files: dict[str, str],
                                                       expected: str) -> None:
    found = violations(_tree(tmp_path, files))
    assert any(expected in f.what for f in found), found


def test_the_checker_lets_the_allowed_arrows_through(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "outbound/domain/x.py": "import math\nimport phonenumbers\nfrom . import y\n",
        "outbound/domain/y.py": "",
        "outbound/store/x.py": "import sqlalchemy\nfrom outbound.domain import x\n",
        "outbound/engine/x.py": "from outbound.store import Store\n",
        "outbound/clock.py": "import time\nt = time.time()\n",
        "outbound/app.py": "from outbound import api, web\n",
        "outbound/service/x.py": "def f(store):\n    return store.campaigns.get(1)\n",
        "outbound/web/x.py": "def f(store, loaded):\n    service.list_campaigns(store, 1)\n"
                             "    return loaded.contacts, store.engine\n",
    })
    assert violations(root) == []
