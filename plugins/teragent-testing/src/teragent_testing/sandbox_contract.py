"""The sandbox functional contract: what every backend does for a command that behaves.

The escape suite (:mod:`teragent_testing.escape`) checks what a backend *keeps in*;
this suite checks that it *runs commands right*, whatever its isolation. The opt-in is
one subclass naming a factory for the backend::

    from teragent_testing.sandbox_contract import SandboxContract

    class TestMySandbox(SandboxContract):
        backend_factory = MySandbox

What every :class:`~teragent.security.sandbox.SandboxBackend` must do (the test skips,
naming the reason, when :meth:`available` says the backend cannot run here):

- **exit code**: ``exit 3`` gives 3, ``true`` 0; stdout and stderr both reach
  ``output``; ``result.backend`` names the backend; a result unpacks as
  ``exit_code, output``;
- **workspace**: the command runs in ``workdir``, reads a file there and leaves the
  files it writes there;
- **timeout kill**: a command past its timeout is killed (``timed_out``, a non-zero
  exit code, returned within seconds), and so is the background child it started (its
  heartbeat file stops growing once ``run`` returns);
- **output cap**: output past ``max_output`` is cut (``truncated``), its head and tail
  kept; ``on_output`` receives the chunks as they arrive;
- **env scrub**: the command sees exactly the environment it is given (an explicit
  variable arrives; a secret of the agent's own environment that the caller did not
  pass does not), and :func:`~teragent.security.sandbox.sandbox_environment` never
  passes an unlisted secret on.

Synchronous tests; each command runs with :func:`asyncio.run`.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any, Callable, ClassVar

import pytest

from teragent.security.sandbox import SandboxBackend, SandboxResult, sandbox_environment

__all__ = ["SandboxContract"]

SECRET_NAME = "TERAGENT_CONTRACT_SECRET_TOKEN"
SECRET = "sk-sandbox-contract-0123456789"


class SandboxContract:
    """Properties every sandbox backend must have; subclasses set ``backend_factory``."""

    backend_factory: ClassVar[Callable[[], SandboxBackend]]
    #: Seconds a command may take to start in this backend (a VM boots).
    startup_seconds: ClassVar[float] = 20.0

    @pytest.fixture
    def backend(self) -> SandboxBackend:
        factory = getattr(type(self), "backend_factory", None)
        assert factory is not None, "set SandboxContract.backend_factory"
        backend = factory()
        assert isinstance(backend, SandboxBackend), f"{backend!r} is not a SandboxBackend"
        ok, why = backend.available()
        if not ok:
            pytest.skip(f"{backend.name} cannot run here: {why}")
        return backend

    def run(self, backend: SandboxBackend, cmd: str, workdir: Path, *, timeout: float = 0,
            env: dict[str, str] | None = None, **kw: Any) -> SandboxResult:
        env = sandbox_environment() if env is None else env
        result = asyncio.run(backend.run(cmd, str(workdir), timeout or self.startup_seconds,
                                         env, **kw))
        assert isinstance(result, SandboxResult), f"run() answered {result!r}"
        return result

    def test_exit_code_and_output(self, backend: SandboxBackend, tmp_path: Path) -> None:
        failed = self.run(backend, "echo to-stdout; echo to-stderr >&2; exit 3", tmp_path)
        assert failed.exit_code == 3, failed
        assert "to-stdout" in failed.output and "to-stderr" in failed.output, failed
        assert failed.backend == backend.name and not failed.timed_out
        code, output = self.run(backend, "true", tmp_path)
        assert code == 0, output

    def test_runs_in_the_workspace(self, backend: SandboxBackend, tmp_path: Path) -> None:
        (tmp_path / "given.txt").write_text("from the host\n", encoding="utf-8")
        result = self.run(backend, "cat given.txt && echo made > made.txt", tmp_path)
        assert result.exit_code == 0 and "from the host" in result.output, result
        assert (tmp_path / "made.txt").read_text(encoding="utf-8").strip() == "made"

    def test_timeout_kills_the_command_and_its_children(self, backend: SandboxBackend,
                                                         tmp_path: Path) -> None:
        # warm up (a VM or container image) so the timeout below measures the command
        self.run(backend, "true", tmp_path)
        started = time.monotonic()
        result = self.run(backend, "(while :; do echo beat >> beat.txt; sleep 0.2; done) & "
                          "sleep 60", tmp_path, timeout=1)
        elapsed = time.monotonic() - started
        assert result.timed_out and result.exit_code != 0, result
        assert elapsed < 1 + self.startup_seconds, f"returned after {elapsed:.1f} s"
        beat = tmp_path / "beat.txt"
        assert beat.exists(), "the background child never ran"
        before = beat.stat().st_size
        time.sleep(1.0)  # five beats, if the child were still alive
        assert beat.stat().st_size == before, \
            f"a background child outlived the timeout (returned after {elapsed:.1f} s)"

    def test_output_is_capped_head_and_tail(self, backend: SandboxBackend,
                                            tmp_path: Path) -> None:
        chunks: list[str] = []
        result = self.run(backend, "echo HEAD-MARK; head -c 300000 /dev/zero | tr '\\0' x; "
                          "echo; echo TAIL-MARK", tmp_path, max_output=2000,
                          on_output=chunks.append)
        assert result.exit_code == 0, result.output[-500:]
        assert result.truncated, "300 kB of output was not cut at max_output=2000"
        assert len(result.output) <= 2000 + 500, len(result.output)
        assert "HEAD-MARK" in result.output and "TAIL-MARK" in result.output
        streamed = "".join(chunks)
        assert "HEAD-MARK" in streamed, "on_output did not receive the output"

    def test_environment_is_what_the_caller_passes(self, backend: SandboxBackend,
                                                   tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(SECRET_NAME, SECRET)
        env = sandbox_environment({"CONTRACT_GIVEN": "given-value"})
        assert SECRET_NAME not in env and SECRET not in env.values()
        result = self.run(backend, "env", tmp_path, env=env)
        assert result.exit_code == 0, result.output
        assert "CONTRACT_GIVEN=given-value" in result.output, result.output
        assert SECRET not in result.output, "the agent's secret reached the command"
        assert os.environ[SECRET_NAME] == SECRET  # the host keeps its own
