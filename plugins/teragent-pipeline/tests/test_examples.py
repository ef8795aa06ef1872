"""The 000/001 examples of the pipeline primitives, as written, plus what the checks
must catch (each check fails on a project that breaks it)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import teragent
from teragent.errors import MissingPluginError, UserError


def test_extract_files_example() -> None:
    from teragent import extract_files_from_response

    response_text = ("Here it is.\n<file path='src/main.py'>\nprint('hi')\n</file>\n"
                     '<file path="src/util.py">\n```python\nX = 1\n```\n</file>')
    files = extract_files_from_response(response_text, task_id="1.1")
    # → [{"path": "src/main.py", "content": "..."}, ...]
    assert files == [{"path": "src/main.py", "content": "print('hi')\n"},
                     {"path": "src/util.py", "content": "X = 1\n"}]


def test_extract_drops_paths_outside_the_project() -> None:
    text = ("<file path='../evil.py'>x</file><file path='/etc/passwd'>x</file>"
            "<file path='ok.py'>y</file>")
    assert [f["path"] for f in teragent.extract_files_from_response(text)] == ["ok.py"]


def test_build_prompt_and_validate_example() -> None:
    from teragent import build_prompt, validate_prompt_tokens

    # Build from template
    messages = build_prompt(
        system_template="You are {role}. Task: {task}",
        context={"role": "engineer", "task": "implement login"},
    )
    # Validate token budget
    errors = validate_prompt_tokens(messages, max_tokens=4000)
    assert messages == [{"role": "system", "content": "You are engineer. Task: implement login"}]
    assert errors == []
    over = validate_prompt_tokens(messages, max_tokens=3)
    assert over and "over the budget of 3" in over[0]


def test_build_prompt_names_a_missing_key() -> None:
    with pytest.raises(UserError, match="'task'"):
        teragent.build_prompt(system_template="You are {role}. Task: {task}",
                              context={"role": "engineer"})


def test_build_subagent_prompt() -> None:
    from teragent import build_subagent_prompt

    messages = build_subagent_prompt("code reviewer", "review login.py",
                                     constraints=["be brief"], files={"login.py": "x = 1"})
    assert messages[0]["role"] == "system" and "code reviewer" in messages[0]["content"]
    assert "- be brief" in messages[1]["content"] and "<file path='login.py'>" in \
        messages[1]["content"]


def _project(root: Path, files: dict[str, str]) -> Path:
    for name, body in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(body))
    return root


def test_run_deterministic_checks_example(tmp_path: Path) -> None:
    from teragent import TaskInfo, run_deterministic_checks

    _project(tmp_path, {"login.py": "import hashlib\n\ndef login(u, p):\n    return "
                                     "hashlib.sha256(p.encode()).hexdigest()\n"})
    task_list = [TaskInfo(id="1.1", title="Login module", status="completed")]
    report, data = run_deterministic_checks(str(tmp_path), task_list)
    assert data["passed"] is True, report
    assert data["checks"]["syntax"] == "PASS" and data["checks"]["tests"] == "SKIPPED"
    assert "PASS" in report.splitlines()[0]


@pytest.mark.parametrize("files,check,needle", [
    ({"a.py": "def f(:\n    pass\n"}, "syntax", "syntax error"),
    ({"a.py": "import no_such_module_xyz\n"}, "imports", "no_such_module_xyz"),
    ({"a.py": "from b import missing\n", "b.py": "present = 1\n"}, "imports",
     "b defines no 'missing'"),
    ({"a.py": "from .pkg import x\n"}, "imports", "no module pkg"),
    ({"a.py": "def f():\n    return 1\n\ndef f():\n    return 2\n"}, "conflicts",
     "defined again"),
    ({"a.py": "class C:\n    def m(self):\n        return 1\n    def m(self):\n"
              "        return 2\n"}, "conflicts", "class C"),
    ({"a.py": "return 3\n"}, "ast", "outside a function"),
])
def test_each_check_fails_a_broken_project(tmp_path: Path, files: dict[str, str], check: str,
                                           needle: str) -> None:
    report, data = teragent.run_deterministic_checks(_project(tmp_path, files))
    assert data["passed"] is False
    assert data["checks"][check] == "FAIL", report
    assert any(needle in i["message"] for i in data["issues"] if i["check"] == check), report


def test_legitimate_code_passes(tmp_path: Path) -> None:
    _project(tmp_path, {
        "src/app/__init__.py": "from .core import run\n__all__ = ['run']\n",
        "src/app/core.py": textwrap.dedent("""\
            from typing import overload, Protocol
            import json, os.path

            class P(Protocol):
                def m(self) -> int: ...

            @overload
            def run(x: int) -> int: ...
            @overload
            def run(x: str) -> str: ...
            def run(x):
                return x

            class C:
                @property
                def v(self):
                    return 1
                @v.setter
                def v(self, value):
                    self._v = value
            """),
        "tests/test_core.py": "from app.core import run\n\ndef test_run():\n"
                              "    assert run(1) == 1\n"})
    report, data = teragent.run_deterministic_checks(tmp_path)
    assert data["passed"] is True, report
    assert data["warnings"] == 0, report


def test_placeholders_and_bare_except_are_warnings(tmp_path: Path) -> None:
    _project(tmp_path, {"a.py": "def todo():\n    pass\n\ntry:\n    x = 1\nexcept:\n"
                                "    x = 2\n"})
    report, data = teragent.run_deterministic_checks(tmp_path)
    assert data["passed"] is True and data["warnings"] == 2, report


def test_completed_task_needs_its_files(tmp_path: Path) -> None:
    _project(tmp_path, {"a.py": "x = 1\n"})
    tasks = [teragent.TaskInfo(id="1.1", title="Login", status="completed",
                               files=["login.py"])]
    report, data = teragent.run_deterministic_checks(tmp_path, tasks)
    assert data["checks"]["tasks"] == "FAIL" and "login.py does not exist" in report


def test_project_tests_run_when_asked(tmp_path: Path) -> None:
    _project(tmp_path, {"calc.py": "def add(a, b):\n    return a - b\n",
                        "test_calc.py": "from calc import add\n\ndef test_add():\n"
                                        "    assert add(2, 2) == 4\n"})
    _, static = teragent.run_deterministic_checks(tmp_path)
    assert static["passed"] is True  # statically fine
    report, data = teragent.run_deterministic_checks(tmp_path, run_tests=True, timeout=60,
                                                     sandbox=False)
    assert data["passed"] is False and data["checks"]["tests"] == "FAIL", report
    assert data["tests"]["returncode"] == 1


def test_check_runnable_and_check_code_quality(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-for-generated-code-0123")
    _project(tmp_path, {"main.py": "import os\nprint('ok', 'OPENAI_API_KEY' in os.environ)\n"})
    out = teragent.check_runnable(tmp_path, timeout=30, sandbox=False)
    assert out["runnable"] is True and out["entry"] == "main.py"
    assert "ok False" in out["output_tail"]  # no keys in the child's environment
    (tmp_path / "main.py").write_text("raise SystemExit(3)\n")
    assert teragent.check_runnable(tmp_path, timeout=30, sandbox=False)["returncode"] == 3
    assert teragent.check_code_quality(tmp_path) == []
    (tmp_path / "b.py").write_text("import nowhere_to_be_found\n")
    assert [i["check"] for i in teragent.check_code_quality(tmp_path)] == ["imports"]


def test_top_level_names_without_the_plugin_name_the_install() -> None:
    import subprocess
    import sys

    code = ("import sys; sys.modules['teragent_pipeline'] = None\nimport teragent\n"
            "try:\n    teragent.run_deterministic_checks\nexcept Exception as e:\n"
            "    print(type(e).__name__, e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert "MissingPluginError" in out.stdout and "pip install teragent-pipeline" in out.stdout
    assert MissingPluginError  # the class the message comes from


def test_documented_module_paths() -> None:
    from teragent.config.execution_pipeline_config import ExecutionPipelineConfig
    from teragent.pipeline.checklist import (
        TaskInfo, check_code_quality, check_runnable, run_deterministic_checks)
    from teragent.pipeline.extractor import extract_files_from_response
    from teragent.pipeline.prompt_builder import (
        build_prompt, build_subagent_prompt, validate_prompt_tokens)
    from teragent.pipeline.retry import retry_with_backoff

    assert run_deterministic_checks is teragent.run_deterministic_checks
    assert TaskInfo is teragent.TaskInfo and extract_files_from_response is \
        teragent.extract_files_from_response
    assert {check_code_quality, check_runnable, build_prompt, build_subagent_prompt,
            validate_prompt_tokens, retry_with_backoff}
    cfg = ExecutionPipelineConfig(design_driver="openai_compatible.glm_5")
    assert cfg.design_driver == "openai_compatible.glm_5"
    pytest.importorskip("teragent_traces")
    from teragent.pipeline.tracing import DataConstitution, DPOPair, TAPTracer, TraceStats

    assert TAPTracer is teragent.TAPTracer and DPOPair is teragent.DPOPair
    assert DataConstitution().principles and TraceStats().dpo_pairs == 0


def test_generated_code_runs_in_the_sandbox_by_default(tmp_path: Path) -> None:
    """Without ``sandbox=``, code runs through the kernel's sandbox seam: it runs
    there (as the sandbox's user), or the check says why not and how to choose."""
    import sys

    from teragent.security.sandbox import default_sandbox

    _project(tmp_path, {"main.py": "import os\nprint('uid', os.getuid())\n"})
    try:
        out = teragent.check_runnable(tmp_path, timeout=30)
    except UserError as exc:
        assert sys.executable in str(exc) and "sandbox=False" in str(exc)
        assert default_sandbox() in str(exc)
        return
    assert out["runnable"] is True and out["sandbox"] == default_sandbox()
