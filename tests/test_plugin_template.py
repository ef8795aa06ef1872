"""The cookiecutter template renders plugins that install, load and pass their own tests.

Packaging tier: every kind of plugin the template offers is rendered, then the kernel
(from ``core/``) and the rendered plugins are installed into a *fresh* virtualenv, where
``teragent plugins --json``, the Python API and the plugins' own test suites must all
see the plugins loaded with their hooks.

The venv is created ``--without-pip`` and filled by the running interpreter's pip
(``pip --python``), which saves bootstrapping pip; dependencies come from the
configured index (PyPI in CI). The kernel is copied first so that setuptools' in-tree
build does not leave ``build/`` behind in ``core/``. About 20 s in all, nearly all of
it pip (one isolated setuptools build per project).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pytest

cookiecutter_main = pytest.importorskip("cookiecutter.main")
cookiecutter_exceptions = pytest.importorskip("cookiecutter.exceptions")

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "plugin-template"
CORE = ROOT / "core"
KINDS = ("tool", "adapter", "compiler")
BIN = "Scripts" if sys.platform == "win32" else "bin"


def render(output_dir: Path, plugin_name: str, kind: str) -> Path:
    return Path(cookiecutter_main.cookiecutter(
        str(TEMPLATE), no_input=True, output_dir=str(output_dir),
        extra_context={"plugin_name": plugin_name, "kind": kind,
                       "description": f"Template check ({kind})"},
    ))


def clean_env() -> dict[str, str]:
    """The environment without anything that would steer plugin loading or imports."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TERAGENT_") and k not in ("PYTHONPATH", "PYTHONHOME",
                                                           "VIRTUAL_ENV")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run(cmd: list[str], cwd: Path | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=clean_env(), capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, (
        f"{' '.join(map(str, cmd))} exited {proc.returncode}\n"
        f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}")
    return proc


def _pip_supports_python_option() -> bool:
    try:
        major, minor = (int(p) for p in version("pip").split(".")[:2])
    except (PackageNotFoundError, ValueError):
        return False
    return (major, minor) >= (22, 3)


# --- rendering (in process, fast) -------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_render_kind(tmp_path: Path, kind: str) -> None:
    project = render(tmp_path, "my-tools", kind)
    assert project.name == "teragent-my-tools"
    module = project / "src" / "teragent_my_tools"
    assert (module / "py.typed").exists()
    pyproject = (project / "pyproject.toml").read_text()
    assert 'name = "teragent-my-tools"' in pyproject
    assert '"teragent>=0.1,<0.2"' in pyproject
    assert '[project.entry-points.teragent]\nmy-tools = "teragent_my_tools"' in pyproject
    init = (module / "__init__.py").read_text()
    assert "def teragent_register_tools(" in init
    assert (module / "adapter.py").exists() == (kind == "adapter")
    assert (module / "compiler.py").exists() == (kind == "compiler")
    assert ("def teragent_register_adapters(" in init) == (kind == "adapter")
    assert ("def teragent_register_compilers(" in init) == (kind == "compiler")
    assert (project / "tests" / "test_adapter.py").exists() == (kind == "adapter")
    assert (project / "tests" / "test_adapter_contract.py").exists() == (kind == "adapter")
    assert (project / "tests" / "test_compiler.py").exists() == (kind == "compiler")
    assert (project / "tests" / "test_compiler_contract.py").exists() == (kind == "compiler")
    # Every Jinja expression rendered; GitHub Actions' own ${{ ... }} stay.
    rendered = "".join(p.read_text() for p in project.rglob("*") if p.is_file())
    assert not re.search(r"(?<!\$)\{\{|\{%", rendered)


@pytest.mark.parametrize("kind", KINDS)
def test_render_ships_ci_publishing_license_and_gitignore(tmp_path: Path, kind: str) -> None:
    yaml = pytest.importorskip("yaml")
    project = render(tmp_path, "my-tools", kind)
    license_text = (project / "LICENSE").read_text()
    assert license_text.startswith("Apache License")
    assert "Version 2.0, January 2004" in license_text
    assert re.search(r"Copyright \d{4} Your Name", license_text)
    ignored = (project / ".gitignore").read_text().splitlines()
    for pattern in ("__pycache__/", "dist/", "*.egg-info/", ".venv/", ".env"):
        assert pattern in ignored

    workflows = project / ".github" / "workflows"
    test_wf = yaml.safe_load((workflows / "test.yml").read_text())
    # PyYAML reads the bare key `on` as the boolean True (YAML 1.1).
    triggers = test_wf.get("on", test_wf.get(True))
    assert {"push", "pull_request", "workflow_call"} <= set(triggers)
    steps = test_wf["jobs"]["test"]["steps"]
    runs = "\n".join(step.get("run", "") for step in steps)
    assert "pip install -e '.[test]'" in runs
    assert "python -m pytest" in runs
    assert "r['my-tools']['status'] == 'loaded'" in runs
    assert test_wf["jobs"]["test"]["strategy"]["matrix"]["python-version"][0] == "3.10"
    # The contract suite for the kind is among the tests that workflow runs.
    contract = {"adapter": "test_adapter_contract.py",
                "compiler": "test_compiler_contract.py"}.get(kind)
    if contract:
        assert "Contract(" in (project / "tests" / contract).read_text()

    publish = yaml.safe_load((workflows / "publish.yml").read_text())
    assert publish.get("on", publish.get(True)) == {"release": {"types": ["published"]}}
    jobs = publish["jobs"]
    assert jobs["test"]["uses"] == "./.github/workflows/test.yml"
    assert jobs["publish"]["needs"] == "build"
    assert jobs["publish"]["permissions"] == {"id-token": "write"}
    assert jobs["publish"]["environment"]["url"].endswith("/teragent-my-tools/")
    assert any(step.get("uses", "").startswith("pypa/gh-action-pypi-publish")
               for step in jobs["publish"]["steps"])
    # Trusted publishing: no token or password is read from secrets.
    assert "secrets." not in (workflows / "publish.yml").read_text()


@pytest.mark.parametrize("bad", ["Hello", "my tools", "1st", "my--tools", "-x"])
def test_render_refuses_bad_plugin_names(tmp_path: Path, bad: str) -> None:
    with pytest.raises(cookiecutter_exceptions.FailedHookException):
        render(tmp_path, bad, "tool")
    assert not any(tmp_path.iterdir())


# --- a fresh virtualenv with the kernel and one plugin of each kind ----------------------


@pytest.fixture(scope="module")
def fresh_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("template-env")
    projects = {kind: render(base / "rendered", f"tpl-{kind}", kind) for kind in KINDS}
    core = base / "core"
    shutil.copytree(CORE, core, ignore=shutil.ignore_patterns(
        "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "tests"))
    venv = base / "venv"
    python = venv / BIN / ("python.exe" if sys.platform == "win32" else "python")
    testing = base / "teragent-testing"  # the contract suites the rendered tests run
    shutil.copytree(ROOT / "plugins" / "teragent-testing", testing, ignore=shutil.ignore_patterns(
        "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "tests"))
    targets = [str(core), str(testing), *(f"{p}[test]" for p in projects.values())]
    if _pip_supports_python_option():
        run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
        pip = [sys.executable, "-m", "pip", "--python", str(python)]
    else:
        run([sys.executable, "-m", "venv", str(venv)])
        pip = [str(python), "-m", "pip"]
    run([*pip, "install", "--quiet", "--disable-pip-version-check", *targets])
    return {"venv": venv, "python": python, "projects": projects}


def test_cli_lists_the_plugins(fresh_env: dict[str, Any]) -> None:
    teragent = fresh_env["venv"] / BIN / "teragent"
    out = run([str(teragent), "plugins", "--json"]).stdout
    records = {r["name"]: r for r in json.loads(out)}
    assert set(records) == {"builtin", "tpl-tool", "tpl-adapter", "tpl-compiler"}
    for kind in KINDS:
        record = records[f"tpl-{kind}"]
        assert record["status"] == "loaded", record
        assert record["distribution"] == f"teragent-tpl-{kind}"
        assert record["version"] == "0.1.0"
        assert record["module"] == f"teragent_tpl_{kind}"
        assert "teragent_register_tools" in record["hooks"]
    assert "teragent_register_adapters" in records["tpl-adapter"]["hooks"]
    assert "teragent_register_compilers" in records["tpl-compiler"]["hooks"]
    assert records["builtin"]["status"] == "loaded"


SNIPPET = textwrap.dedent("""
    import asyncio, json
    from teragent.plugins import PluginHost

    host = PluginHost()
    tools = host.registry("tools")
    greet = tools.get("tpl_tool_greet")
    result = asyncio.run(greet.execute({"name": "Ada"}))
    print(json.dumps({
        "plugins": {r.name: r.as_dict() for r in host.list_plugins()},
        "tools": {n: tools.entry(n).plugin for n in tools.names()},
        "adapters": {n: host.registry("adapters").entry(n).plugin
                     for n in host.registry("adapters").names()},
        "compilers": {n: host.registry("compilers").entry(n).plugin
                      for n in host.registry("compilers").names()},
        "adapter_class": host.registry("adapters").get("tpl_adapter").__name__,
        "compiler_class": host.registry("compilers").get("tpl_compiler").__name__,
        "greet": [greet.name, result.to_text()],
    }))
""")


def test_hooks_run_in_the_fresh_venv(fresh_env: dict[str, Any]) -> None:
    data = json.loads(run([str(fresh_env["python"]), "-c", SNIPPET]).stdout)
    assert {n: p["status"] for n, p in data["plugins"].items()} == {
        "builtin": "loaded", "tpl-tool": "loaded", "tpl-adapter": "loaded",
        "tpl-compiler": "loaded"}
    # Each plugin's teragent_register_tools hook ran and registered its sample tool.
    for kind in KINDS:
        assert data["tools"][f"tpl_{kind}_greet"] == f"tpl-{kind}"
    assert data["adapters"]["tpl_adapter"] == "tpl-adapter"
    assert data["adapters"]["mock"] == "builtin"
    assert data["compilers"]["tpl_compiler"] == "tpl-compiler"
    assert data["compilers"]["default"] == "builtin"
    assert data["adapter_class"] == "TplAdapterAdapter"
    assert data["compiler_class"] == "TplCompilerCompiler"
    assert data["greet"] == ["tpl_tool_greet", "Hello, Ada."]


@pytest.mark.parametrize("kind", KINDS)
def test_rendered_tests_pass_in_the_fresh_venv(fresh_env: dict[str, Any], kind: str) -> None:
    project = fresh_env["projects"][kind]
    proc = run([str(fresh_env["python"]), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                "-rs"], cwd=project)
    # Installed, so the entry-point test runs instead of skipping.
    assert "not installed" not in proc.stdout, proc.stdout
    passed = int(re.search(r"(\d+) passed", proc.stdout).group(1))  # type: ignore[union-attr]
    # Every kind runs teragent-testing's tool contract (5 tests); the adapter and compiler
    # kinds also the contract suite for their kind (~20 adapter tests, 6 compiler
    # properties).
    assert passed >= {"tool": 10, "compiler": 19, "adapter": 30}[kind], proc.stdout
