"""glob and grep."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

from teragent.tools import BaseTool, ToolResult
from teragent_tools.search import GlobTool, GrepTool, expand_braces

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX symlinks")


def run(tool: BaseTool, **params: Any) -> ToolResult:
    return asyncio.run(tool.execute(params))


def test_expand_braces() -> None:
    assert expand_braces("*.{py,md}") == ["*.py", "*.md"]
    assert expand_braces("{a,b}/{c,d}") == ["a/c", "a/d", "b/c", "b/d"]
    assert expand_braces("plain") == ["plain"]


def test_glob_finds_files_relative_to_the_root(workspace: Path) -> None:
    result = run(GlobTool(workspace), pattern="**/*.py")
    assert result.success
    assert result.data.splitlines() == ["src/app.py", "src/pkg/mod.py"]
    assert run(GlobTool(workspace), pattern="*.py", path="src/pkg").data == "src/pkg/mod.py"
    assert run(GlobTool(workspace), pattern="*").data.splitlines() == ["README.md", "src/"]
    assert run(GlobTool(workspace), pattern="**/*.{md,py}").metadata["count"] == 3


def test_glob_no_match_and_bad_patterns(workspace: Path) -> None:
    tool = GlobTool(workspace)
    assert "No paths match" in run(tool, pattern="*.rs").data
    assert "absolute" in run(tool, pattern="/etc/*").error
    assert "'..'" in run(tool, pattern="../outside/*").error
    assert "empty" in run(tool, pattern=" ").error
    assert "not a directory" in run(tool, pattern="*", path="README.md").error


def test_glob_caps_results_and_skips_git(workspace: Path) -> None:
    (workspace / ".git").mkdir()
    (workspace / ".git" / "config").write_text("")
    for i in range(20):
        (workspace / f"n{i:02}.txt").write_text("")
    result = run(GlobTool(workspace, max_results=5), pattern="**/*")
    assert result.metadata["truncated"] and len(result.data.splitlines()) == 6
    assert ".git" not in run(GlobTool(workspace), pattern="**/*").data
    assert ".git/config" in run(GlobTool(workspace), pattern=".git/*").data


@posix_only
def test_glob_drops_results_behind_escaping_symlinks(workspace: Path) -> None:
    (workspace / "link_out").symlink_to("../outside")
    (workspace / "link_in").symlink_to("src")
    data = run(GlobTool(workspace), pattern="*/*").data.splitlines()
    assert "link_in/app.py" in data
    assert not any("secret" in line for line in data)


def test_grep_finds_lines(workspace: Path) -> None:
    result = run(GrepTool(workspace), pattern=r"def \w+")
    assert result.success
    assert result.data == "src/app.py:3: def main():"
    assert run(GrepTool(workspace), pattern="HELLO", case_insensitive=True).data == \
        "README.md:2: hello world"
    assert run(GrepTool(workspace), pattern="VALUE", path="src/pkg/mod.py").data == \
        "src/pkg/mod.py:1: VALUE = 2"


def test_grep_glob_filter(workspace: Path) -> None:
    tool = GrepTool(workspace)
    assert run(tool, pattern="o", glob="*.md").data.splitlines()[0].startswith("README.md")
    assert "README" not in run(tool, pattern="o", glob="*.{py,txt}").data
    assert run(tool, pattern="VALUE", glob="src/pkg/*").metadata["count"] == 1


def test_grep_skips_binary_and_git_and_caps(workspace: Path) -> None:
    (workspace / "blob.bin").write_bytes(b"needle\x00\x01")
    (workspace / ".git").mkdir()
    (workspace / ".git" / "HEAD").write_text("needle\n")
    (workspace / "many.txt").write_text("needle\n" * 50)
    result = run(GrepTool(workspace, max_results=10), pattern="needle")
    assert result.metadata["count"] == 10 and result.metadata["truncated"]
    assert "stopped after 10" in result.data
    assert ".git" not in result.data and "blob.bin" not in result.data
    assert run(GrepTool(workspace), pattern="needle", max_results=3).metadata["count"] == 3


def test_grep_long_lines_are_cut(workspace: Path) -> None:
    (workspace / "long.txt").write_text("x" * 1000 + "needle\n")
    line = run(GrepTool(workspace, max_line_chars=50), pattern="needle").data
    assert len(line) < 100 and line.endswith("[...]")


def test_grep_errors(workspace: Path) -> None:
    tool = GrepTool(workspace)
    bad = run(tool, pattern="(unclosed")
    assert not bad.success and "not a valid Python regular expression" in bad.error
    assert "not found" in run(tool, pattern="x", path="nope").error
    assert "No matches" in run(tool, pattern="zzzz").data


@posix_only
def test_grep_does_not_follow_symlinks_out(workspace: Path) -> None:
    (workspace / "link_out").symlink_to("../outside")
    (workspace / "file_out").symlink_to("../outside/secret.txt")
    assert "No matches" in run(GrepTool(workspace), pattern="SECRET").data
