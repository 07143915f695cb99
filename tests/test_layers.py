"""The package's layers: every import of a codepref module, function-level ones included, goes down the
stack declared here (and shown in the README's Layout section), never up or sideways, so no two subpackages
import each other. A function-level import of the package's own code is allowed only to defer a heavy
optional dependency (torch, TRL, vLLM), and says so in a comment on its line."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "codepref"

# Bottom to top. A unit may import itself and any unit of a lower tier; units of one tier are independent.
LAYERS = (
    ("records", "settings"),
    ("sandbox",),
    ("tasks",),
    ("synth",),
    ("data",),
    ("generate", "evaluate", "matrix", "train"),
    ("rank",),
    ("model_judges", "pairs", "steps"),
    ("coder",),
    ("loop", "gates"),
    ("cli",),
)
TIER = {unit: tier for tier, units in enumerate(LAYERS) for unit in units}


def unit_of(module: str) -> str:
    """`codepref.matrix.build` -> "matrix"; `codepref.records` -> "records"."""
    return module.split(".")[1]


def own_imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, imported codepref module, inside a function) for every import of the package's own code."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    in_function = {
        id(node)
        for fn in ast.walk(tree)
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(fn)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = (
                [node.module] if node.module != "codepref" else [f"codepref.{a.name}" for a in node.names]
            )
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        found += [(node.lineno, m, id(node) in in_function) for m in modules if m.startswith("codepref.")]
    return found


def modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


def test_every_unit_of_the_package_has_a_layer():
    units = {p.stem if p.parent == PACKAGE else p.relative_to(PACKAGE).parts[0] for p in modules()}
    assert units == set(TIER), "add the new subpackage to LAYERS and to the README's Layout section"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down_the_layers(path):
    here = path.stem if path.parent == PACKAGE else path.relative_to(PACKAGE).parts[0]
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module} ({unit_of(module)} is not below {here})"
        for line, module, _ in own_imports(path)
        if unit_of(module) != here and TIER[unit_of(module)] >= TIER[here]
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_function_level_imports_of_the_package_say_which_heavy_dependency_they_defer(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    bare = [
        f"{path.relative_to(ROOT)}:{line} imports {module} inside a function without saying why"
        for line, module, in_function in own_imports(path)
        if in_function and not re.search(r"#.*\b(torch|TRL|transformers|vLLM|ray)\b", lines[line - 1], re.I)
    ]
    assert not bare, "\n".join(bare)


def test_the_readme_layout_section_shows_these_layers():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```text\n(.*?)```", section, re.S).group(1)
    shown = [tuple(re.findall(r"[a-z_]+", line.split("#")[0])) for line in block.splitlines() if line.strip()]
    assert shown == list(reversed(LAYERS))


def test_a_cycle_would_be_caught(tmp_path):
    """The checks read real import statements: a lower layer importing a higher one is reported."""
    module = tmp_path / "codepref" / "tasks" / "bad.py"
    module.parent.mkdir(parents=True)
    module.write_text("def f():\n    from codepref.loop.code_loop import Loop\n")
    ((line, imported, in_function),) = own_imports(module)
    assert (imported, in_function) == ("codepref.loop.code_loop", True)
    assert TIER[unit_of(imported)] > TIER["tasks"]
