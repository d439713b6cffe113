"""The shape of the package: one-way imports, backends apart, the testing tools outside the product."""

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "extractor"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports anywhere in its body (function-level too)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            edges |= {t for t in targets if t in modules and t != name}
        graph[name] = edges
    return graph


def test_no_import_cycle_among_the_package_modules():
    graph = import_graph()
    # a package's __init__ importing its own submodules is how packages work, not a cycle
    edges = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in graph.items()}
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert len(graph) > 20


def test_the_rules_backend_imports_no_llm_client():
    code = ("import sys, extractor.backends.rules, extractor.pipeline, extractor.eval; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in {'openai', 'instructor'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_backends_do_not_import_each_other_and_the_product_not_the_testing_tools():
    graph = import_graph()
    for module, targets in graph.items():
        if module.startswith("extractor.backends.rules"):
            assert not any(t.startswith("extractor.backends.openai") for t in targets), module
        if module == "extractor.backends.openai":
            assert not any(t.startswith("extractor.backends.rules") for t in targets), module
        if not module.startswith("extractor.testing"):
            assert not any(t.startswith("extractor.testing") for t in targets), module
    assert "extractor.backends" not in graph["extractor.backends.base"]


def test_every_package_folder_ships():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    folders = {_module_name(p) for p in PACKAGE.rglob("__init__.py")}
    assert folders <= set(config["packages"]), folders - set(config["packages"])
    assert config["package-dir"]["extractor.prompts"] == "prompts" and (ROOT / "prompts" / "system.md").exists()
