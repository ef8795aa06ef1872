"""Layer 6: package installation is allowed, with a warning.

Installing packages runs code from a registry (setup scripts, npm lifecycle scripts,
maintainer scripts of ``.deb`` files) and changes the environment, so the user should
see it -- but it is everyday development work and is never blocked here. Privileged
installs are blocked by the ``sudo`` rule, not by this layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from teragent_shellguard.engine import Ctx

__all__ = ["check"]

# manager -> sub-commands that install (empty string: the bare command installs)
_INSTALL_VERBS: dict[str, frozenset[str]] = {
    "pip": frozenset({"install", "download"}),
    "pipx": frozenset({"install", "run", "inject", "upgrade"}),
    "poetry": frozenset({"install", "add", "update", "sync"}),
    "pdm": frozenset({"install", "add", "update", "sync"}),
    "pipenv": frozenset({"install", "sync", "update"}),
    "conda": frozenset({"install", "create", "update", "env"}),
    "mamba": frozenset({"install", "create", "update"}),
    "micromamba": frozenset({"install", "create", "update"}),
    "npm": frozenset({"install", "i", "ci", "add", "isntall", "update", "exec", "x", "in", "rebuild"}),
    "yarn": frozenset({"", "install", "add", "dlx", "global", "up", "upgrade"}),
    "pnpm": frozenset({"install", "i", "add", "dlx", "update", "up", "exec"}),
    "bun": frozenset({"install", "i", "add", "x"}),
    "deno": frozenset({"install", "add"}),
    "gem": frozenset({"install", "update"}),
    "bundle": frozenset({"install", "update", "add"}),
    "cargo": frozenset({"install", "add", "binstall"}),
    "go": frozenset({"install", "get"}),
    "apt": frozenset({"install", "reinstall", "upgrade", "full-upgrade", "dist-upgrade"}),
    "apt-get": frozenset({"install", "reinstall", "upgrade", "dist-upgrade", "build-dep"}),
    "aptitude": frozenset({"install", "upgrade"}),
    "dnf": frozenset({"install", "upgrade", "update", "groupinstall"}),
    "yum": frozenset({"install", "update", "upgrade", "groupinstall"}),
    "zypper": frozenset({"install", "in", "update", "up"}),
    "apk": frozenset({"add", "upgrade"}),
    "pacman": frozenset({"-S", "-Syu", "-U", "-Sy"}),
    "brew": frozenset({"install", "upgrade", "reinstall", "tap"}),
    "port": frozenset({"install"}),
    "snap": frozenset({"install", "refresh"}),
    "flatpak": frozenset({"install", "update"}),
    "nix-env": frozenset({"-i", "--install", "-iA"}),
    "nix": frozenset({"profile"}),
    "choco": frozenset({"install", "upgrade"}),
    "winget": frozenset({"install", "upgrade"}),
    "scoop": frozenset({"install", "update"}),
    "composer": frozenset({"install", "require", "update", "global"}),
    "cpan": frozenset({""}),
    "cpanm": frozenset({""}),
    "luarocks": frozenset({"install"}),
    "opam": frozenset({"install"}),
    "dotnet": frozenset({"add", "tool"}),
    "helm": frozenset({"install", "upgrade"}),
    "mix": frozenset({"deps.get"}),
    "stack": frozenset({"install"}),
    "vcpkg": frozenset({"install"}),
    "dpkg": frozenset({"-i", "--install"}),
    "rpm": frozenset({"-i", "-ivh", "-U", "-Uvh"}),
    "install-module": frozenset({""}),
    "install-package": frozenset({""}),
}
_ALWAYS = frozenset({"npx", "uvx", "bunx", "pnpx"})


def _verb(words: list[str]) -> str:
    for w in words[1:]:
        if not w.startswith("-") or w in ("-S", "-Syu", "-U", "-Sy", "-i", "-iA", "--install", "-ivh", "-Uvh"):
            return w
    return ""


def check(name: str, words: list[str], ctx: Ctx) -> None:
    """Warn (never block) when ``words`` installs packages or runs one from a registry."""
    if name in _ALWAYS:
        ctx.warn("package_install", f"{name} downloads and runs a package from a registry")
        return
    if name == "python" and len(words) > 2 and words[1] == "-m" and words[2] in ("pip", "pipx", "ensurepip"):
        words = words[2:]
        name = "pip" if words[0] != "pipx" else "pipx"
    if name == "uv":
        sub = [w for w in words[1:] if not w.startswith("-")]
        if sub[:2] in (["pip", "install"], ["pip", "sync"], ["tool", "install"], ["tool", "run"]) or \
                sub[:1] in (["add"], ["sync"]):
            ctx.warn("package_install", f"uv {' '.join(sub[:2])} installs packages")
        return
    verbs = _INSTALL_VERBS.get(name)
    if verbs is None:
        return
    verb = _verb(words)
    if verb in verbs or (verb == "" and "" in verbs):
        if name == "pip" and any(w in ("-h", "--help") for w in words):
            return
        extra = ""
        if any(w in ("-g", "--global", "--unsafe-perm", "--break-system-packages") for w in words):
            extra = " (global/unsafe install)"
        ctx.warn("package_install", f"{name} {verb} installs packages and may run their install scripts{extra}")
