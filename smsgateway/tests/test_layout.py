"""The layout holds: runtime packages import each other without cycles at module level (a cycle
works only by import order, and breaks the day someone reorders), and none imports from the
test code in ``tests/``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_PACKAGES = ("sms", "performance", "loadtesting", "smsgateway", "devkit")


def _modules() -> dict[str, Path]:
    modules = {}
    for package in RUNTIME_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "tests" in parts or "migrations" in parts:
                continue
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _module_level_imports(name: str, path: Path) -> set[str]:
    """What a module imports when it is imported: top-level statements (inside ``try`` too),
    not imports inside functions or under ``if TYPE_CHECKING``."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    imported: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        statements = node.body if isinstance(node, ast.Try) else [node]
        for statement in statements:
            if isinstance(statement, ast.Import):
                imported.update(alias.name for alias in statement.names)
            elif isinstance(statement, ast.ImportFrom):
                base = statement.module or ""
                if statement.level:
                    parent = package[: len(package) - (statement.level - 1)]
                    base = ".".join([*parent, base] if base else parent)
                imported.add(base)
                imported.update(f"{base}.{alias.name}" for alias in statement.names)
    return imported


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: {other for other in _module_level_imports(name, path) if other in modules and other != name}
        for name, path in modules.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_level_import_cycle() -> None:
    assert _cycles(_graph()) == []


def test_no_runtime_module_imports_the_test_code() -> None:
    """``tests/`` is not shipped (the image leaves it out): what runtime code shares with the
    tests lives in ``devkit``. Imports inside functions count too."""
    offenders = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            offenders += [f"{name}: {n}" for n in names if n == "tests" or n.startswith("tests.")]
    assert offenders == []


def test_the_cycle_finder_finds_one() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_metric_series_are_named_through_their_metric_objects() -> None:
    """Readers name a series with ``metrics.sample_name(metric)``: a string literal would read
    zero, silently, the day the metric is renamed."""
    from prometheus_client.metrics import MetricWrapperBase

    from performance import metrics

    series = set()
    for metric in vars(metrics).values():
        if isinstance(metric, MetricWrapperBase):
            base = metrics.sample_name(metric)
            series |= {base, metric._name, *(f"{base}{suffix}" for suffix in ("_count", "_sum", "_bucket"))}
    literals = [
        f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!s}"
        for path in _modules().values()
        if path.name != "metrics.py"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in series
    ]
    assert literals == []


def test_the_image_leaves_the_test_code_out() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {"tests", "**/tests", "conftest.py"} <= ignored


def _architecture_references() -> tuple[set[str], set[str]]:
    """The paths (``sms/relay.py``, ``devkit/fakes/``) and dotted names (``sms.senders.sender_forget``)
    that docs/ARCHITECTURE.md names in backticks; placeholders (``sms/api/<area>.py``) left out."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    tokens = {t.split(" ")[0].rstrip(",.:") for t in re.findall(r"`([^`\n]+)`", text)}
    tokens = {t for t in tokens if not re.search(r"[<>*(){}=\"']", t)}
    # A path starts at a folder of the repository (not a URL path such as api/user/phone-number).
    paths = {t for t in tokens if re.fullmatch(r"[a-z_]+(/[\w.-]+)*/?", t) and (ROOT / t.split("/")[0]).is_dir()}
    packages = "|".join(RUNTIME_PACKAGES)
    dotted = {t for t in tokens if re.fullmatch(rf"(?:{packages})(\.\w+)+", t)}
    return paths, dotted


def test_every_module_the_architecture_page_names_exists() -> None:
    paths, dotted = _architecture_references()
    assert len(paths) > 40 and dotted, "the page names the tree"
    assert sorted(p for p in paths if not (ROOT / p).exists()) == []
    missing = []
    for name in dotted:
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):
            base = ROOT.joinpath(*parts[:cut])
            module = base.with_suffix(".py") if base.with_suffix(".py").exists() else base / "__init__.py"
            if module.exists():
                rest = parts[cut:]
                # What follows the module is a name it defines (a class, function or constant).
                if rest and not re.search(rf"^\s*(?:class|def|async def)?\s*{rest[0]}\b", module.read_text(), re.M):
                    missing.append(name)
                break
        else:
            missing.append(name)
    assert sorted(missing) == []
