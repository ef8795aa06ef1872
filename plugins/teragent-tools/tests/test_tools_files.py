"""read_file, write_file, edit_file and list_directory."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from teragent.tools import BaseTool, ToolResult, ToolSafety
from teragent_tools.files import EditFileTool, ListDirectoryTool, ReadFileTool, WriteFileTool
from teragent_tools.search import GlobTool, GrepTool

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX symlinks")


def run(tool: BaseTool, **params: Any) -> ToolResult:
    return asyncio.run(tool.execute(params))


# --- read_file -------------------------------------------------------------------------


def test_read_file_returns_the_text(workspace: Path) -> None:
    result = run(ReadFileTool(workspace), path="src/app.py")
    assert result.success, result.error
    assert result.data == (workspace / "src" / "app.py").read_text()
    assert result.metadata["total_lines"] == 4


def test_read_file_offset_and_limit(workspace: Path) -> None:
    (workspace / "big.txt").write_text("".join(f"line {i}\n" for i in range(1, 101)))
    result = run(ReadFileTool(workspace), path="big.txt", offset=10, limit=3)
    assert result.data.startswith("line 10\nline 11\nline 12\n")
    assert "pass offset=13" in result.data
    assert "line 13\n" not in result.data
    past = run(ReadFileTool(workspace), path="big.txt", offset=500)
    assert not past.success and "past the end" in past.error
    assert "offset must be" in run(ReadFileTool(workspace), path="big.txt", offset=0).error


def test_read_file_default_line_cap(workspace: Path) -> None:
    (workspace / "big.txt").write_text("x\n" * 50)
    result = run(ReadFileTool(workspace, max_lines=10), path="big.txt")
    assert result.data.count("x\n") == 10 and "of 50" in result.data


def test_read_file_refuses_binary(workspace: Path) -> None:
    (workspace / "blob.bin").write_bytes(b"\x89PNG\x00\x01\x02" * 100)
    result = run(ReadFileTool(workspace), path="blob.bin")
    assert not result.success and "binary" in result.error
    ranged = run(ReadFileTool(workspace), path="blob.bin", offset=1, limit=2)
    assert not ranged.success and "binary" in ranged.error


def test_read_file_refuses_files_over_the_cap_but_reads_a_range(workspace: Path) -> None:
    (workspace / "large.txt").write_text("abcdefghij\n" * 200)
    tool = ReadFileTool(workspace, max_bytes=1000)
    result = run(tool, path="large.txt")
    assert not result.success and "over the" in result.error and "offset" in result.error
    assert run(tool, path="large.txt", offset=5, limit=2).data.startswith("abcdefghij\n" * 2)


def test_read_file_errors_say_what_to_do(workspace: Path) -> None:
    tool = ReadFileTool(workspace)
    missing = run(tool, path="nope.txt")
    assert not missing.success and "not found" in missing.error and "glob" in missing.error
    directory = run(tool, path="src")
    assert "is a directory" in directory.error and "list_directory" in directory.error
    bad_args = run(tool, path="a", bogus=1)
    assert not bad_args.success and "unexpected argument" in bad_args.error


@posix_only
def test_read_file_refuses_a_fifo_instead_of_blocking(workspace: Path) -> None:
    os.mkfifo(workspace / "pipe")
    assert "not a regular file" in run(ReadFileTool(workspace), path="pipe").error


# --- write_file ------------------------------------------------------------------------


def test_write_file_creates_parents_and_overwrites(workspace: Path) -> None:
    tool = WriteFileTool(workspace)
    created = run(tool, path="new/deep/file.txt", content="one\n")
    assert created.success and created.metadata["created"]
    assert (workspace / "new" / "deep" / "file.txt").read_text() == "one\n"
    again = run(tool, path="new/deep/file.txt", content="two")
    assert again.success and not again.metadata["created"] and "Overwrote" in again.data
    assert (workspace / "new" / "deep" / "file.txt").read_text() == "two"
    assert not [p for p in (workspace / "new" / "deep").iterdir() if p.name.endswith(".tmp")]


@posix_only
def test_write_file_keeps_mode_and_writes_atomically(workspace: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    target = workspace / "run.sh"
    target.write_text("old")
    target.chmod(0o755)
    assert run(WriteFileTool(workspace), path="run.sh", content="new").success
    assert target.stat().st_mode & 0o777 == 0o755

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    result = run(WriteFileTool(workspace), path="run.sh", content="never")
    assert not result.success and "disk is full" in result.error
    assert target.read_text() == "new"  # the old content survives a failed write
    assert [p.name for p in workspace.iterdir() if p.name.endswith(".tmp")] == []


def test_write_file_refuses_directories_and_the_root(workspace: Path) -> None:
    tool = WriteFileTool(workspace)
    assert "is a directory" in run(tool, path="src", content="x").error
    assert "workspace root itself" in run(tool, path=".", content="x").error
    assert "is a file, not a directory" in run(tool, path="README.md/x", content="x").error


# --- edit_file -------------------------------------------------------------------------


def test_edit_file_replaces_exactly_once(workspace: Path) -> None:
    result = run(EditFileTool(workspace), path="src/app.py", old_string="return 1",
                 new_string="return 42")
    assert result.success, result.error
    assert "return 42" in (workspace / "src" / "app.py").read_text()


def test_edit_file_not_found_and_ambiguous(workspace: Path) -> None:
    (workspace / "dup.txt").write_text("a x a x a\n")
    tool = EditFileTool(workspace)
    missing = run(tool, path="dup.txt", old_string="zzz", new_string="y")
    assert not missing.success and "not found" in missing.error
    twice = run(tool, path="dup.txt", old_string="a", new_string="b")
    assert not twice.success and "3 times" in twice.error and "replace_all" in twice.error
    assert (workspace / "dup.txt").read_text() == "a x a x a\n"
    every = run(tool, path="dup.txt", old_string="a", new_string="b", replace_all=True)
    assert every.success and every.metadata["replacements"] == 3
    assert (workspace / "dup.txt").read_text() == "b x b x b\n"


def test_edit_file_argument_errors(workspace: Path) -> None:
    tool = EditFileTool(workspace)
    assert "empty" in run(tool, path="README.md", old_string="", new_string="x").error
    assert "identical" in run(tool, path="README.md", old_string="a", new_string="a").error
    assert "not found" in run(tool, path="nope.md", old_string="a", new_string="b").error


def test_edit_file_handles_crlf_files(workspace: Path) -> None:
    (workspace / "win.txt").write_bytes(b"one\r\ntwo\r\nthree\r\n")
    result = run(EditFileTool(workspace), path="win.txt", old_string="one\ntwo",
                 new_string="1\n2")
    assert result.success, result.error
    assert (workspace / "win.txt").read_bytes() == b"1\r\n2\r\nthree\r\n"


# --- list_directory ----------------------------------------------------------------------


@posix_only
def test_list_directory(workspace: Path) -> None:
    (workspace / "link").symlink_to("src")
    result = run(ListDirectoryTool(workspace))
    assert result.success
    lines = result.data.splitlines()
    assert lines[0].startswith("README.md") and "B)" in lines[0]
    assert "link@" in lines and "src/" in lines
    assert run(ListDirectoryTool(workspace), path="src").data.splitlines()[-1] == "pkg/"
    assert "is a file" in run(ListDirectoryTool(workspace), path="README.md").error
    assert "not found" in run(ListDirectoryTool(workspace), path="nope").error


def test_list_directory_caps_entries(workspace: Path) -> None:
    for i in range(12):
        (workspace / f"f{i:02}").write_text("")
    result = run(ListDirectoryTool(workspace, max_entries=5), path=".")
    assert len(result.data.splitlines()) == 6 and "more entries" in result.data


def test_default_workspace_is_the_current_directory(workspace: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workspace)
    tool = ReadFileTool()
    monkeypatch.chdir(workspace.parent)
    assert run(tool, path="README.md").success


# --- schemas and flags ---------------------------------------------------------------------


@pytest.mark.parametrize("cls,safety,concurrent", [
    (ReadFileTool, ToolSafety.READ_ONLY, True),
    (WriteFileTool, ToolSafety.SAFE_WRITE, False),
    (EditFileTool, ToolSafety.SAFE_WRITE, False),
    (ListDirectoryTool, ToolSafety.READ_ONLY, True),
    (GlobTool, ToolSafety.READ_ONLY, True),
    (GrepTool, ToolSafety.READ_ONLY, True),
])
def test_flags_and_schema(cls: type[BaseTool], safety: ToolSafety, concurrent: bool,
                          workspace: Path) -> None:
    tool = cls(workspace)  # type: ignore[call-arg]
    assert tool.safety == safety and tool.concurrency_safe is concurrent
    assert tool.parameters_schema["additionalProperties"] is False
    assert tool.category in ("filesystem", "search")
    assert tool.schema()["function"]["name"] == tool.name


# --- confinement: every file tool ------------------------------------------------------------

ESCAPES = ["../outside/secret.txt", "src/../../outside/secret.txt", "/etc/passwd",
           "link_out/secret.txt", "link_abs/secret.txt", "~/.bashrc"]


def _calls(workspace: Path, path: str) -> list[tuple[BaseTool, dict[str, Any]]]:
    return [
        (ReadFileTool(workspace), {"path": path}),
        (WriteFileTool(workspace), {"path": path, "content": "pwned"}),
        (EditFileTool(workspace), {"path": path, "old_string": "TOP", "new_string": "X"}),
        (ListDirectoryTool(workspace), {"path": path}),
        (GlobTool(workspace), {"pattern": "*", "path": path}),
        (GrepTool(workspace), {"pattern": "SECRET", "path": path}),
    ]


@posix_only
@pytest.mark.parametrize("path", ESCAPES + [p.rsplit("/", 1)[0] for p in ESCAPES[:5]])
def test_every_file_tool_refuses_paths_outside_the_workspace(workspace: Path,
                                                             path: str) -> None:
    (workspace / "link_out").symlink_to("../outside")
    (workspace / "link_abs").symlink_to(workspace.parent / "outside")
    path = path if path != "/etc/passwd" else str(workspace.parent / "outside" / "secret.txt")
    for tool, params in _calls(workspace, path):
        result = asyncio.run(tool.execute(params))
        assert not result.success, (tool.name, path)
        assert "not allowed" in result.error, (tool.name, result.error)
        assert "TOP SECRET" not in result.to_text()
    assert (workspace.parent / "outside" / "secret.txt").read_text() == "TOP SECRET\n"
    assert sorted(p.name for p in (workspace.parent / "outside").iterdir()) == ["secret.txt"]


@posix_only
def test_write_through_a_dangling_symlink_is_refused(workspace: Path) -> None:
    (workspace / "trap").symlink_to(workspace.parent / "outside" / "created.txt")
    result = run(WriteFileTool(workspace), path="trap", content="x")
    assert not result.success and "symbolic link" in result.error
    assert not (workspace.parent / "outside" / "created.txt").exists()
