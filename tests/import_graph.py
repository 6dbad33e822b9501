"""The project's own import graph, and the circles in it.

Every import statement of the project's apps counts, at module level or inside a function:
an import moved into a function still ties the two modules together, it only hides the
circle from Python. The one circle the house style allows is a module that queues its own
app's task (a service, the broadcaster) and that task calling it back.

    python -m tests.import_graph    # prints each circle, exits 1 if there is one
"""

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "api",
    "campaigns",
    "debtors",
    "inbox",
    "sessions_app",
    "webhooks",
    "whatsmassive",
)

Graph = dict[str, set[str]]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                modules[_module_name(path)] = path
    return modules


def _imported(node: ast.Import | ast.ImportFrom, modules: dict[str, Path]) -> Iterator[str]:
    """The project modules an import statement names (a package's own submodules included)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names if alias.name in modules)
        return
    if node.level or node.module is None:  # the project writes absolute imports only
        return
    for alias in node.names:
        submodule = f"{node.module}.{alias.name}"
        if submodule in modules:
            yield submodule
        elif node.module in modules:
            yield node.module


def import_graph() -> Graph:
    modules = _project_modules()
    graph: Graph = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                graph[name].update(target for target in _imported(node, modules) if target != name)
    return graph


def strongly_connected(graph: Graph) -> list[set[str]]:
    """Tarjan's algorithm: the groups of modules that reach each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            groups.append(group)

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph)))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def _queues_own_task(source: str, target: str) -> bool:
    """A module importing its own app's tasks module, to queue a task (a service, or the
    broadcaster scheduling the push that ends a window)."""
    app = source.partition(".")[0]
    return target == f"{app}.tasks"


def import_circles(graph: Graph | None = None) -> list[list[str]]:
    """Groups of modules importing each other, once modules queueing their own app's tasks
    are set aside (the task calling them back is how the pair works)."""
    graph = graph if graph is not None else import_graph()
    without_queueing = {
        source: {target for target in targets if not _queues_own_task(source, target)}
        for source, targets in graph.items()
    }
    groups = strongly_connected(without_queueing)
    return sorted(sorted(group) for group in groups if len(group) > 1)


if __name__ == "__main__":
    circles = import_circles()
    for circle in circles:
        print(" <-> ".join(circle))
    print(f"{len(circles)} import circle(s)")
    sys.exit(1 if circles else 0)
