"""Programs with no table: judge a command line by how CLIs spell their actions.

Most service CLIs (payment, search, hosting, database-as-a-service, cloud) build commands
the same few ways: subcommand words (``zorkctl clusters delete prod``), ``noun:verb``
(``netlify sites:delete``), ``verb-noun`` / ``VerbNoun`` / ``verb_all_nouns``
(``cf delete-space``, ``DeleteInstance``, ``delete_all_resources``) or a ``--verb-noun``
option (``--delete-project``). When a program has no table of its own -- or has one (a
cloud handler) that raised nothing for this line -- its *command path* (the leading
non-option words, stepping over ``--opt=value`` and the values of options that conventionally
take one, ``--profile x``/``-n ns``/``-c FILE``) and its long option names are split into words and read:

* a destructive verb (delete, destroy, drop, purge, wipe, terminate, decommission, revoke,
  remove, uninstall...; ``reset``/``clear`` only when they name what they reset) warns;
* the same with a total scope (``--all``, ``all``, ``everything``, ``*``, ``--recursive``,
  ``--purge``), a confirmation skip (``--force``, ``-f``, ``--yes``, ``-y``, ``--confirm``,
  ``--no-prompt``, ``--quiet``) or a production-looking target (``prod``, ``production``,
  ``live``, also as the value of a target option: ``--profile=prod``, ``--context production-eu``)
  is refused;
* ``down`` with a data flag (``-v``, ``--volumes``, ``--rmi all``) warns; plain ``down`` is a stop;
* a dry run (``--dry-run``, ``--what-if``, ``plan``) stays allowed;
* an inline query option (``--command``, ``-c``, ``-e``, ``--query``, ``--sql``,
  ``--eval``, ``--execute``) whose text the database rules call destructive
  (``DROP``/``TRUNCATE``/``DELETE`` without a real ``WHERE``/``FLUSHALL``...) is refused.

Local tools whose remove/clean verbs act on the project (package managers, build tools,
test runners, git, file utilities) are not judged here: they have tables or are harmless.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from teragent_shellguard import handlers, handlers_remote
from teragent_shellguard.effects import _SQL_STMT
from teragent_shellguard.tables import ACTIONS, DB_CLIENTS, IO, SHELL_NAMES
from teragent_shellguard.tables_ops import DOWN_DATA

if TYPE_CHECKING:
    from teragent_shellguard.engine import Ctx

__all__ = ["judge"]

_DESTROY = frozenset({"delete", "del", "destroy", "drop", "purge", "wipe", "erase", "truncate", "terminate",
                      "teardown", "nuke", "deprovision", "decommission", "revoke", "remove", "rm", "uninstall",
                      "unregister", "obliterate", "expunge", "trash"})
# verbs that destroy only when they name what they reset (``db reset``), not on their own (``nx reset``)
_NEEDS_NOUN = frozenset({"reset", "clear", "flush", "empty"})
# things a reset/clear leaves alone: local caches and build output
_LOCAL_NOUNS = frozenset({"cache", "caches", "build", "builds", "tmp", "temp", "screen", "console", "history",
                          "dist", "out", "logs", "log", "output", "failed", "local", "store", "terminal", "session"})
_TOTAL = frozenset({"all", "everything", "*", "recursive", "purge", "prune", "every"})
_SKIP = frozenset({"--force", "-f", "--yes", "-y", "--confirm", "--no-prompt", "--noprompt", "--quiet", "-q",
                   "--no-confirm", "--non-interactive", "--assume-yes", "--skip-confirmation", "-fy", "-yf",
                   "--auto-approve", "--no-input"})
_PROD = re.compile(r"(?i)^(?:prod|production|prd|live)$")
_DRY = frozenset({"--dry-run", "--dryrun", "--what-if", "--whatif", "--plan", "--preview", "--check", "--noop",
                  "-whatif", "--simulate"})
_READ = frozenset({"get", "list", "ls", "describe", "show", "status", "logs", "log", "plan", "diff", "view", "info",
                   "inspect", "search", "query", "tail", "whoami", "help", "preview"})
_QUERY_OPTS = ("--command", "-c", "-e", "--query", "--sql", "--eval", "--execute", "--statement", "-q", "--cmd")
_SPLIT = re.compile(r"[-:_.]+|(?<=[a-z])(?=[A-Z])")
# local tools: their remove/clean/reset verbs act on the project, the cache or the build
_LOCAL = frozenset({
    "nx", "flutter", "gradle", "gradlew", "./gradlew", "mvn", "mvnw", "jest", "vitest", "pytest", "tox", "nox",
    "make", "cmake", "ninja", "bazel", "bazelisk", "buck", "tsc", "turbo", "lerna", "rush", "deno", "bun",
    "composer", "pod", "swift", "mix", "rebar3", "stack", "cabal", "dart", "ng", "expo", "react-native",
    "hatch", "pdm", "rye", "conda", "mamba", "micromamba", "pixi", "pre-commit", "dotnet", "msbuild", "go",
    "rustup", "nvm", "fnm", "volta", "asdf", "mise", "pyenv", "rbenv", "sdk", "gem", "bundle", "bundler",
    "cargo", "uv", "poetry", "pip", "pip3", "pipx", "npm", "pnpm", "yarn", "brew", "apt", "apt-get", "dnf",
    "yum", "pacman", "zypper", "apk", "port", "snap", "flatpak", "code", "git", "hg", "svn", "jj", "ruff",
    "eslint", "prettier", "mypy", "pylint", "black", "isort", "cypress", "playwright", "mocha", "ava", "tap",
    "phpunit", "rspec", "ctest", "xcodebuild", "xcrun", "adb", "emulator", "avdmanager", "sdkmanager",
    "tmux", "screen", "trash", "trash-put", "gio", "direnv", "ccache", "sccache", "docker", "podman", "kubectl",
    "helm", "systemctl", "journalctl", "ssh-keygen", "ssh-add", "gpg", "keyctl", "crontab", "history", "hash",
    "unset", "unalias", "alias", "set", "ipcrm", "losetup", "mdadm", "lvremove", "kind", "minikube", "k3d",
    "microk8s", "vagrant", "multipass", "lima", "limactl", "colima", "virtualenv", "venv", "tldr",
    "pipenv", "vcpkg", "spack", "conan", "ansible-galaxy", "dvc", "ollama", "jupyter", "watchman", "ddev",
    "lando", "docker-compose", "nix", "nix-env", "guix", "opam", "luarocks", "cpanm", "renv", "julia", "R",
})
# global options that conventionally take a value as the next word (``acme --profile x db drop y``)
_TAKES = frozenset({"--profile", "--region", "--project", "--context", "--namespace", "-n", "--env", "--environment",
                    "--org", "--organization", "--account", "--config", "--config-file", "-c", "--stage", "--cluster",
                    "--workspace", "--app", "--team", "--site", "--tenant", "--subscription", "--zone", "--output",
                    "-o", "--format", "--token-file", "--kubeconfig", "--server", "--host", "--endpoint"})
# options whose value names where the command acts: production there is a production target
_TARGET = frozenset({"--profile", "--context", "--env", "--environment", "--stage", "--account", "--project",
                     "--org", "--organization", "--namespace", "-n", "--cluster", "--workspace", "--app", "--target",
                     "--tenant", "--subscription", "--site"})
# ``down`` is a stop; with a data flag (volumes, every image) it also removes the data, as for compose
_DOWN_DATA = re.compile(r"(?:^|\s)" + DOWN_DATA)
# what a command path names that is regenerable: deleting or purging it loses nothing
_REGENERABLE = frozenset({"cache", "caches", "tmp", "temp", "scratch", "artifacts"})


def _parts(word: str) -> list[str]:
    return [p.lower() for p in _SPLIT.split(word.lstrip("-")) if p]


def _path(args: list[str]) -> list[str]:
    """The leading non-option words; options that carry a value (and the value) are stepped over."""
    out: list[str] = []
    i = 0
    while i < len(args) and len(out) < 4:
        a = args[i]
        if a in _TAKES and i + 1 < len(args):
            i += 2
            continue
        if a.startswith("--") and "=" in a:
            i += 1
            continue
        if a.startswith("-"):
            break
        out.append(a)
        i += 1
    return out


def _prod_option(args: list[str]) -> str:
    """A target option whose value names production (``--profile=prod``, ``--context production-eu``)."""
    for i, a in enumerate(args):
        key, eq, val = a.partition("=")
        if key not in _TARGET:
            continue
        val = val if eq else (args[i + 1] if i + 1 < len(args) else "")
        if any(_PROD.match(p) for p in val.split("-")):
            return a if eq else f"{a} {val}"
    return ""


def _down_data(path: list[str], args: list[str]) -> str:
    """``X down --volumes`` / ``-v`` / ``--rmi all``: the data flag given to a ``down`` verb, else ''."""
    m = _DOWN_DATA.search(" ".join(args)) if "down" in path else None
    return m.group(1) if m else ""


def _sql(args: list[str]) -> str | None:
    for i, a in enumerate(args):
        for opt in _QUERY_OPTS:
            if a == opt and i + 1 < len(args):
                text = args[i + 1]
            elif opt.startswith("--") and a.startswith(opt + "="):
                text = a.split("=", 1)[1]
            else:
                continue
            m = _SQL_STMT.search(text)
            if m:
                return m.group(0).strip()
    return None


def judge(name: str, words: list[str], ctx: Ctx) -> None:
    """Add a finding when ``words`` (a program the tables did not flag) spell a destructive action."""
    handler = handlers.HANDLERS.get(name)
    if handler is not None and handler is not handlers_remote._cloud:
        return  # a system/file/package handler owns this program's verbs
    if name in _LOCAL or name in IO or name in ACTIONS or name in DB_CLIENTS or name in SHELL_NAMES \
            or name.startswith(("python", "node", "ruby", "perl", "php", "java")):
        return
    args = words[1:]
    if not args:
        return
    stmt = _sql(args)
    if stmt is not None:
        ctx.block("database_destructive", f"'{name}' runs a destructive query: '{stmt[:60]}'")
        return
    if any(a in _DRY or a.split("=", 1)[0] in _DRY for a in args):
        return
    path = [w for w in _path(args) if "/" not in w and "." not in w.strip(".")]
    longs = [a.split("=", 1)[0] for a in args if a.startswith("--") and len(a) > 3]
    verb = ""
    total = False
    for i, w in enumerate(path):
        parts = _parts(w)
        if not verb and parts and parts[0] in _READ:
            return  # ``stripe customers list``: a read verb comes first
        hit = next((p for p in parts if p in _DESTROY), "")
        if not hit and any(p in _NEEDS_NOUN for p in parts):
            nouns = [p for q in path if q != w for p in _parts(q)] + [p for p in parts if p not in _NEEDS_NOUN]
            if nouns and not any(n in _LOCAL_NOUNS for n in nouns) and i > 0:
                hit = next(p for p in parts if p in _NEEDS_NOUN)
        if hit and not verb:
            if any(p in _REGENERABLE for q in path[:i + 1] for p in _parts(q)):
                return  # ``huggingface-cli delete-cache``, ``tool cache purge --all``: the kind named is regenerable
            verb = hit
            total = total or any(p in _TOTAL for p in parts)
    if not verb:
        for o in longs:
            parts = _parts(o)
            if parts and parts[0] in _DESTROY and len(parts) > 1:  # ``--delete-project``, not ``--delete``
                verb = parts[0]
                total = total or any(p in _TOTAL for p in parts)
                break
    if not verb:
        flag = _down_data(path, args)
        if flag:
            ctx.warn("destructive_cli", f"'{name} {' '.join(args)[:60]}' takes the service down and removes its data ({flag})")
        return
    total = total or any(a in ("all", "everything", "*") for a in path) or any(
        a.split("=", 1)[0] in ("--all", "--recursive", "--purge", "--prune", "--everything", "-r", "-R")
        or a.startswith("--all-") for a in args)
    skip = next((a for a in args if a in _SKIP or a.split("=", 1)[0] in _SKIP
                 and a.split("=", 1)[-1].lower() not in ("false", "0", "no")), "")
    if not skip:  # ``--Force true`` (option names in other cases)
        skip = next((a for i, a in enumerate(args) if a.lower() in ("--force", "--yes", "--confirm")
                     and args[i + 1:i + 2] != ["false"]), "")
    prod = next((a for a in args if not a.startswith("-") and any(_PROD.match(p) for p in a.split("-"))), "") \
        or _prod_option(args)
    what = f"'{name} {' '.join(args)[:60]}'"
    if total:
        ctx.block("destructive_cli", f"{what} {verb}s everything it holds")
    elif skip:
        ctx.block("destructive_cli", f"{what} {verb}s without asking ({skip})")
    elif prod:
        ctx.block("destructive_cli", f"{what} {verb}s a production target ({prod})")
    else:
        ctx.warn("destructive_cli", f"{what} {verb}s remote state through a CLI with no table")
