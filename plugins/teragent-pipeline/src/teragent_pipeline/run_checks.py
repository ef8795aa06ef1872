"""Running a generated project's code for :mod:`teragent_pipeline.checklist`: its entry
script (:func:`check_runnable`) and its tests. Generated code is untrusted, so it runs
through the kernel's sandbox seam with the allow-listed environment (no API keys).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable

def _project_env(root: Path) -> dict[str, str]:
    """Variables the project's code gets on top of the sandbox's allow-listed
    environment (which never passes API keys)."""
    paths = [str(root / "src"), str(root)] if (root / "src").is_dir() else [str(root)]
    return {"PYTHONPATH": os.pathsep.join(paths), "PYTHONDONTWRITEBYTECODE": "1",
            # The project's tests, not whatever pytest plugins this interpreter has.
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def _run(argv: list[str], root: Path, timeout: float, sandbox: str | bool | None) -> dict[
        str, Any]:
    """Run ``argv`` in ``root``: generated code is untrusted, so it goes through the
    kernel's sandbox seam (``sandbox``: a backend name; ``None``: the one the ``bash``
    tool would use; ``False``: a plain subprocess with the allow-listed environment,
    for trusted code only)."""
    import shlex

    from teragent.security.sandbox import sandbox_environment

    if sandbox is False:
        env = {**sandbox_environment(), **_project_env(root)}
        try:
            proc = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return {"returncode": None, "timed_out": True, "output_tail": "",
                    "sandbox": None}
        return {"returncode": proc.returncode, "timed_out": False,
                "output_tail": (proc.stdout + proc.stderr)[-2000:], "sandbox": None}
    import asyncio
    import concurrent.futures

    from teragent.security.sandbox import default_sandbox, execute_in_sandbox

    backend = sandbox if isinstance(sandbox, str) else default_sandbox()
    cmd = " ".join(shlex.quote(a) for a in argv)

    def work() -> Any:  # its own event loop: callers may be inside one
        return asyncio.run(execute_in_sandbox(cmd, root, timeout=timeout, backend=backend,
                                              env=_project_env(root)))

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        result = pool.submit(work).result()
    if result.exit_code in (126, 127) and argv[0] in result.output:
        from teragent.errors import UserError

        why = result.output.strip().splitlines()[-1][:200]
        raise UserError(f"the {result.backend} sandbox cannot run {argv[0]} ({why}): its "
                        "user cannot read this interpreter. Run the checks with a "
                        "sandbox backend that can (sandbox='...'), or with sandbox=False "
                        "for code you trust.")
    return {"returncode": None if result.timed_out else result.exit_code,
            "timed_out": result.timed_out, "output_tail": result.output[-2000:],
            "sandbox": result.backend}


def check_runnable(project_dir: str | os.PathLike[str], entry: str | None = None, *,
                   args: Iterable[str] = (), timeout: float = 30.0,
                   sandbox: str | bool | None = None) -> dict[str, Any]:
    """Run the project's entry script and report whether it exits 0.

    Args:
        entry: The script, relative to the project (default: the first of
            ``main.py``, ``app.py``, ``__main__.py``, ``src/main.py``).
        timeout: Seconds before it is stopped (a timeout is not runnable).
        sandbox: The sandbox backend (default: the one the ``bash`` tool uses;
            ``False``: a plain subprocess, for trusted code only).

    Returns:
        ``{"runnable", "entry", "returncode", "timed_out", "output_tail",
        "sandbox"}``. The script runs in the sandbox with its allow-listed
        environment (no API keys).
    """
    root = Path(project_dir).resolve()
    if entry is None:
        entry = next((c for c in ("main.py", "app.py", "__main__.py", "src/main.py")
                      if (root / c).is_file()), None)
    if entry is None or not (root / entry).is_file():
        return {"runnable": False, "entry": entry, "returncode": None, "timed_out": False,
                "output_tail": f"no entry script {entry or 'main.py'} in {root}",
                "sandbox": None}
    out = _run([sys.executable, entry, *args], root, timeout, sandbox)
    return {"runnable": out["returncode"] == 0, "entry": entry, **out}


def _run_tests(root: Path, timeout: float, sandbox: str | bool | None) -> dict[str, Any]:
    out = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], root, timeout,
               sandbox)
    rc = out["returncode"]
    last = next((line for line in reversed(out["output_tail"].splitlines()) if line.strip()), "")
    status = "PASS" if rc == 0 else "NO_TESTS" if rc == 5 else "FAIL"
    return {"status": status, "summary": last, **out}
