"""Tests of the workspace path guard (``teragent.security.paths``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from teragent.errors import PermissionDenied
from teragent.security import paths as paths_mod
from teragent.security import resolve_workspace_path

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX path semantics")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """base/ws (the root) with files and symlinks, base/outside, base/ws2."""
    base = tmp_path_factory.mktemp("paths")
    root = base / "ws"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "app.py").write_text("x\n")
    (root / "README.md").write_text("x\n")
    (base / "outside").mkdir()
    (base / "outside" / "secret.txt").write_text("s\n")
    (base / "ws2").mkdir()
    (root / "link_in").symlink_to("src")
    (root / "link_file").symlink_to("src/app.py")
    (root / "link_root").symlink_to(".")
    (root / "link_up").symlink_to("..")
    (root / "link_out").symlink_to("../outside")
    (root / "link_abs_out").symlink_to(str(base / "outside"))
    (root / "src" / "pkg" / "deep_out").symlink_to("../../../outside")
    (root / "chain").symlink_to("link_out")
    (root / "dangling_out").symlink_to(str(base / "outside" / "new.txt"))
    (root / "dangling_in").symlink_to("src/new.txt")
    (root / "loop1").symlink_to("loop2")
    (root / "loop2").symlink_to("loop1")
    return root


def denied(root: Path | str, path: str, op: str = "read") -> str:
    with pytest.raises(PermissionDenied) as info:
        resolve_workspace_path(root, path, op)
    return str(info.value)


# --- allowed -------------------------------------------------------------------------


@posix_only
@pytest.mark.parametrize("spelling", [
    "src/app.py", "./src/app.py", "src//app.py", "src/./app.py", "src/pkg/../app.py",
    "src\\app.py", "docs/../src/app.py", "link_in/app.py", "link_root/src/app.py",
    "link_up/ws/src/app.py", "missing/../src/app.py", "link_file",
])
def test_inside_spellings_resolve_to_the_same_file(tree: Path, spelling: str) -> None:
    assert resolve_workspace_path(tree, spelling) == (tree / "src" / "app.py").resolve()


@posix_only
def test_absolute_path_inside_root_is_allowed(tree: Path) -> None:
    assert resolve_workspace_path(tree, str(tree / "README.md")) == tree / "README.md"
    assert resolve_workspace_path(tree, "/" + str(tree) + "/README.md") == tree / "README.md"


def test_root_itself_may_be_read_but_not_written(tree: Path) -> None:
    assert resolve_workspace_path(tree, ".") == tree
    assert resolve_workspace_path(tree, str(tree) + "/") == tree
    for spelling in (".", "./", str(tree), "src/..", "link_root"):
        assert "workspace root itself" in denied(tree, spelling, "write")


def test_write_to_new_file_in_new_directories(tree: Path) -> None:
    got = resolve_workspace_path(tree, "new/dir/file.txt", "write")
    assert got == tree / "new" / "dir" / "file.txt"
    assert not (tree / "new").exists()  # the guard never creates anything


def test_dangling_symlink_inside_resolves_to_its_target(tree: Path) -> None:
    assert resolve_workspace_path(tree, "dangling_in", "write") == tree / "src" / "new.txt"


def test_root_need_not_exist_and_may_be_relative(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_workspace_path("/nonexistent-ws", "a/b") == Path("/nonexistent-ws/a/b")
    monkeypatch.chdir(tmp_path)
    assert resolve_workspace_path(".", "f.txt") == tmp_path.resolve() / "f.txt"


@pytest.mark.parametrize("name", [
    "docs/日本語.md", "café.txt", "src/~backup", "notes~", "Outer$Inner.class",
    "src/100%.txt", "caf%C3%A9.txt", "...", "a\u00a0b", "console.txt", "a b/c",
])
def test_unusual_but_harmless_names_are_allowed(name: str) -> None:
    assert resolve_workspace_path("/ws", name) == Path("/ws") / name


def test_pathlike_and_bytes_are_accepted() -> None:
    assert resolve_workspace_path(Path("/ws"), Path("a")) == Path("/ws/a")
    assert resolve_workspace_path("/ws", b"a") == Path("/ws/a")


# --- denied ----------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", [
    "..", "../", "../etc/passwd", "../../../../../../etc/passwd", "/ws/../etc/passwd",
    "/etc/passwd", "//etc/passwd", "/ws2/secret", "../ws2/secret", "a/b/../../..",
    "/proc/self/cwd/../etc/passwd", "/", "..\\..\\etc\\passwd", "src/..\\..\\x",
    "../" * 1000 + "etc/passwd", "src/" + "./" * 2000 + "../../etc/passwd",
])
def test_escapes_are_denied(spelling: str) -> None:
    assert "outside the workspace" in denied("/ws", spelling)


@posix_only
@pytest.mark.parametrize("spelling", [
    "link_out/secret.txt", "link_abs_out/secret.txt", "src/pkg/deep_out/secret.txt",
    "chain/secret.txt", "link_up", "link_up/outside/secret.txt", "link_out",
])
def test_symlink_escapes_are_denied(tree: Path, spelling: str) -> None:
    for op in ("read", "write"):
        assert "through a symbolic link" in denied(tree, spelling, op)


@posix_only
def test_writing_through_a_dangling_symlink_that_points_outside_is_denied(tree: Path) -> None:
    denied(tree, "dangling_out", "write")
    denied(tree, "link_out/new.txt", "write")
    assert not (tree.parent / "outside" / "new.txt").exists()


@posix_only
def test_absolute_path_through_a_nested_symlink_is_denied(tree: Path) -> None:
    denied(tree, str(tree / "src" / "pkg" / "deep_out" / "secret.txt"))


@posix_only
def test_missing_component_does_not_stop_symlink_resolution(tree: Path) -> None:
    denied(tree, "missing/../link_out/secret.txt")


@posix_only
def test_symlink_loop_is_denied(tree: Path) -> None:
    assert "symbolic links" in denied(tree, "loop1/x")


@pytest.mark.parametrize("spelling", [
    "src/\x00app.py", "src/\napp.py", "a\rb", "a\tb", "a\x7fb", "a\x85b", "x\u2028y",
])
def test_control_characters_are_denied(spelling: str) -> None:
    assert "character" in denied("/ws", spelling)


@pytest.mark.parametrize("spelling", [
    "\u2025/etc/passwd", "\uff0e\uff0e/etc", "..\uff0fetc", "..\u2215etc", "..\u2044x",
    "\ufe52\ufe52/x", "src/\u202eexe.txt", "..\u200b/etc", "\ud800", ".\u0301.", ".. ",
    "..\u00a0",
])
def test_unicode_lookalikes_and_invisible_characters_are_denied(spelling: str) -> None:
    denied("/ws", spelling)


@pytest.mark.parametrize("spelling", [
    "%2e%2e/%2e%2e/etc/passwd", "..%5c..%5cetc%5cpasswd", "..%2F", "%252e%252e/",
    "..%c0%af", "%c0%ae%c0%ae/", "%%32%65%%32%65/etc", "..%u2216etc", "&#46;&#46;/x",
    "&#x2e;&#x2E;/x", "%e2%80%a5/etc",
])
def test_encoded_path_syntax_is_denied(spelling: str) -> None:
    denied("/ws", spelling)


@pytest.mark.parametrize("spelling", [
    "~", "~/.ssh/id_rsa", "~root/.bashrc", "$HOME/.ssh", "${HOME}/x", "$(pwd)/x",
    "%USERPROFILE%\\x",
])
def test_home_and_variables_are_not_expanded(spelling: str) -> None:
    assert "not expanded" in denied("/ws", spelling)


@posix_only
@pytest.mark.parametrize("spelling", [
    "C:\\Windows\\System32", "c:/x", "c:foo", "\\\\server\\share\\x", "\\\\?\\C:\\x",
    "\\\\.\\PhysicalDrive0", "/\\server\\share",
])
def test_windows_spellings_are_denied_on_posix(spelling: str) -> None:
    assert "Windows" in denied("/ws", spelling)


@pytest.mark.parametrize("spelling", ["CON", "nul", "src/aux.txt", "COM1", "lpt9.log"])
def test_windows_device_names_are_denied(spelling: str) -> None:
    assert "reserved device name" in denied("/ws", spelling)


def test_other_refusals_say_what_to_do(tree: Path) -> None:
    assert "'.'" in denied(tree, "")
    assert "trailing slash" in denied(tree, "README.md/")
    assert "longer than" in denied(tree, "a" * 300)
    assert "longer than" in denied(tree, "a/" * 20_000)


def test_programming_errors_raise_plain_exceptions() -> None:
    with pytest.raises(ValueError):
        resolve_workspace_path("/ws", "a", "delete")
    with pytest.raises(TypeError):
        resolve_workspace_path("/ws", 3)  # type: ignore[arg-type]


def test_case_insensitive_platforms_compare_folded(monkeypatch: pytest.MonkeyPatch) -> None:
    assert paths_mod.is_case_insensitive_platform("darwin")
    assert paths_mod.is_case_insensitive_platform("win32")
    assert not paths_mod.is_case_insensitive_platform("linux")
    root = "/Nonexistent-WS"
    monkeypatch.setattr(paths_mod, "is_case_insensitive_platform", lambda: True)
    assert resolve_workspace_path(root, "/nonexistent-ws/a") == Path("/nonexistent-ws/a")
    denied(root, "/nonexistent-ws", "write")
    monkeypatch.setattr(paths_mod, "is_case_insensitive_platform", lambda: False)
    denied(root, "/nonexistent-ws/a")


def test_sibling_with_the_roots_prefix_is_outside() -> None:
    assert not paths_mod._is_within("/ws2/x", "/ws", False)
    assert paths_mod._is_within("/ws/x", "/ws", False)
    assert paths_mod._is_within("/WS/x", "/ws", True)
    assert paths_mod._is_within("/anything", "/", False)


# --- property --------------------------------------------------------------------------

COMPONENTS = ["..", ".", "", "src", "pkg", "app.py", "missing", "link_in", "link_out",
              "link_up", "link_root", "link_abs_out", "deep_out", "chain", "link_file",
              "dangling_in", "dangling_out", "ws", "outside", "secret.txt", "é", "ü.txt",
              "日本"]


@posix_only
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parts=st.lists(st.sampled_from(COMPONENTS), max_size=8),
    separators=st.lists(st.sampled_from(["/", "//", "/./", "\\"]), min_size=8, max_size=8),
    prefix=st.sampled_from(["", "root", "/", "./"]),
    trailing=st.sampled_from(["", "/", "/."]),
    op=st.sampled_from(["read", "write"]),
)
def test_result_is_inside_root_or_denied(
    tree: Path, parts: list[str], separators: list[str], prefix: str, trailing: str, op: str
) -> None:
    spelled = "".join(p + s for p, s in zip(parts, separators))[:-1] if parts else "."
    if prefix == "root":
        spelled = str(tree) + "/" + spelled
    elif prefix:
        spelled = prefix + spelled
    spelled += trailing
    real_root = os.path.realpath(tree)
    # The oracle: what the kernel would open (realpath resolves like it does).
    oracle = os.path.realpath(os.path.join(real_root, spelled.replace("\\", "/")))
    inside = oracle == real_root or oracle.startswith(real_root + os.sep)
    try:
        got = resolve_workspace_path(tree, spelled, op)
    except PermissionDenied:
        if inside:  # only the documented refusals may deny a path that stays inside
            is_root_write = op == "write" and oracle == real_root
            slash_on_file = spelled.rstrip("/").rstrip(".") != spelled and \
                os.path.lexists(oracle) and not os.path.isdir(oracle)
            assert is_root_write or slash_on_file or spelled == "", spelled
        return
    assert inside, spelled
    assert str(got) == oracle
    assert got.is_absolute()
