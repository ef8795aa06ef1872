"""``ApiKeyVault``: API keys from the environment and ``.env`` files, masked, audited.

The documented ``teragent.config.api_key_security`` is this module
(:data:`teragent.moved.MOVED`); ``teragent doctor`` runs its audits.

Keys are *named* in configuration (``api_key_env = "OPENAI_API_KEY"``) and resolved at
run time from the process environment, then ``.env`` files
(:func:`teragent.config.secrets.dotenv_paths`). The audits find keys that were pasted
where they do not belong:

- :func:`audit_config_security` scans ``agent.toml`` files (or a loaded config dict)
  for vendor key shapes anywhere, literal values under secret-named keys, and a key
  written where an environment variable *name* belongs (``api_key_env = "sk-..."``).
- :func:`audit_env_file` checks a ``.env`` file: readable by other users, not ignored
  by git, a vendor key under another vendor's variable, placeholders, duplicates.

Findings never contain a key: values are shown masked.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from teragent.config.secrets import dotenv_entries, dotenv_paths, mask, read_dotenv
from teragent.errors import MissingCredentialsError, UserError
from teragent.secrets import is_secret_name

__all__ = ["ApiKeyVault", "SecurityFinding", "VENDOR_KEY_PATTERNS", "audit_config_security",
           "audit_env_file", "find_vendor_keys"]

#: (vendor, pattern) — shapes of real credentials. Order matters: specific first.
VENDOR_KEY_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("Anthropic", re.compile(r"sk-ant-[A-Za-z0-9_\-]{20,}")),
    ("OpenAI", re.compile(r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}")),
    ("Stripe", re.compile(r"[rs]k_live_[A-Za-z0-9]{20,}")),
    ("Google", re.compile(r"AIza[0-9A-Za-z_\-]{35}")),
    ("GitHub", re.compile(r"(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})")),
    ("AWS", re.compile(r"(?:AKIA|ASIA)[0-9A-Z]{16}")),
    ("Slack", re.compile(r"xox[abprs]-[A-Za-z0-9\-]{10,}")),
    ("Hugging Face", re.compile(r"hf_[A-Za-z0-9]{30,}")),
    ("Groq", re.compile(r"gsk_[A-Za-z0-9]{40,}")),
    ("xAI", re.compile(r"xai-[A-Za-z0-9]{40,}")),
    ("Perplexity", re.compile(r"pplx-[A-Za-z0-9]{40,}")),
    ("Replicate", re.compile(r"r8_[A-Za-z0-9]{30,}")),
    ("Zhipu GLM", re.compile(r"\b[0-9a-f]{32}\.[A-Za-z0-9]{16}\b")),
    ("private key", re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----")),
]
#: Variables whose name says which vendor's key they should hold.
_VENDOR_OF_VAR = {"OPENAI": "OpenAI", "ANTHROPIC": "Anthropic", "GEMINI": "Google",
                  "GOOGLE": "Google", "GROQ": "Groq", "XAI": "xAI", "HF": "Hugging Face",
                  "HUGGINGFACE": "Hugging Face", "GITHUB": "GitHub", "AWS": "AWS"}
_PLACEHOLDER = re.compile(r"(?i)^(?:your[-_ ].*|xxx+|changeme|<.*>|\.\.\.|todo|replace[-_ ]?me)$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class SecurityFinding:
    """One problem found by an audit.

    Attributes:
        severity: ``critical`` | ``high`` | ``medium`` | ``low``.
        file: The file, or ``""`` for an in-memory config.
        line: 1-based line, when known.
        key: The config key or variable involved.
        message: What is wrong (values masked).
        fix: What to do.
    """

    severity: str
    file: str
    line: int | None
    key: str
    message: str
    fix: str

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        return f"[{self.severity}] {where} {self.key}: {self.message} — {self.fix}"


def find_vendor_keys(text: str) -> list[tuple[str, str]]:
    """``[(vendor, matched_value), ...]`` for every credential shape in ``text``."""
    found: list[tuple[str, str]] = []
    taken: list[tuple[int, int]] = []
    for vendor, pattern in VENDOR_KEY_PATTERNS:
        for m in pattern.finditer(text):
            if any(a <= m.start() < b for a, b in taken):
                continue
            taken.append(m.span())
            found.append((vendor, m.group()))
    return found


class ApiKeyVault:
    """Resolves API keys by environment-variable name and never shows them.

    Args:
        env: The environment to read (default ``os.environ``).
        dotenv_files: ``.env`` files to fall back on, in order (default:
            :func:`teragent.config.secrets.dotenv_paths`).
    """

    def __init__(self, env: Mapping[str, str] | None = None,
                 dotenv_files: Iterable[str | os.PathLike[str]] | None = None) -> None:
        self.env = env if env is not None else os.environ
        self._dotenv_files = [Path(p) for p in dotenv_files] if dotenv_files is not None \
            else None
        self._resolved: dict[str, str] = {}

    def dotenv_files(self) -> list[Path]:
        return self._dotenv_files if self._dotenv_files is not None else dotenv_paths()

    def lookup(self, env_var: str) -> tuple[str | None, str | None]:
        """``(value, source)``: source is ``"environment"``, a ``.env`` path, or ``None``."""
        value = self.env.get(env_var)
        if value:
            return value, "environment"
        for path in self.dotenv_files():
            value = read_dotenv(path).get(env_var)
            if value:
                return value, str(path)
        return None, None

    def get(self, env_var: str, *, required: bool = True, provider: str = "") -> str | None:
        """The key named ``env_var``; :class:`MissingCredentialsError` (naming the
        variable) when it is required and absent."""
        if not env_var or not _ENV_NAME.match(env_var):
            shown = mask(env_var) if env_var and find_vendor_keys(env_var) else env_var
            raise UserError(f"{shown!r} is not an environment variable name. Set "
                            "api_key_env to the variable's name (e.g. \"OPENAI_API_KEY\") "
                            "and put the key itself in the environment or a .env file.")
        value, _ = self.lookup(env_var)
        if value:
            self._resolved[env_var] = value
            return value
        if required:
            raise MissingCredentialsError(env_var, provider)
        return None

    def resolve(self, driver: Any, *, required: bool = True) -> str | None:
        """The key of a :class:`~teragent.config.DriverConfig` (its ``api_key_env``)."""
        env_var = getattr(driver, "api_key_env", None)
        if not env_var:
            return None
        return self.get(env_var, required=required, provider=getattr(driver, "name", ""))

    def has(self, env_var: str) -> bool:
        return self.lookup(env_var)[0] is not None

    def source_of(self, env_var: str) -> str | None:
        return self.lookup(env_var)[1]

    def masked(self, env_var: str) -> str:
        return mask(self.lookup(env_var)[0])

    @staticmethod
    def mask(value: str | None) -> str:
        return mask(value)

    def known_secrets(self) -> list[str]:
        """Every key this vault handed out (give these to ``redact(..., secrets=)``)."""
        return list(self._resolved.values())

    def status(self, env_vars: Iterable[str]) -> list[dict[str, Any]]:
        """For ``teragent keys``-style listings: name, found, source, masked value."""
        out = []
        for name in env_vars:
            value, source = self.lookup(name)
            out.append({"env_var": name, "found": value is not None, "source": source,
                        "masked": mask(value)})
        return out

    audit_config_security = staticmethod(lambda *a, **k: audit_config_security(*a, **k))
    audit_env_file = staticmethod(lambda *a, **k: audit_env_file(*a, **k))


# --- audits --------------------------------------------------------------------------------


def _key_findings(file: str, line: int | None, key: str, value: str) -> list[SecurityFinding]:
    out: list[SecurityFinding] = []
    last = key.rsplit(".", 1)[-1]
    for vendor, match in find_vendor_keys(value):
        out.append(SecurityFinding(
            "critical", file, line, key,
            f"{vendor} credential written in the configuration ({mask(match)})",
            "revoke it at the vendor, move it to an environment variable or .env file, "
            "and name it with api_key_env = \"VAR\""))
    if out:
        return out
    if last.lower() == "api_key_env" and value and not _ENV_NAME.match(value):
        out.append(SecurityFinding(
            "high", file, line, key,
            f"api_key_env must name an environment variable, not hold a value ({mask(value)})",
            "set api_key_env to the variable's name, e.g. \"OPENAI_API_KEY\""))
    elif is_secret_name(last, strict=True) and value and not _PLACEHOLDER.match(value) \
            and not value.startswith("$"):
        out.append(SecurityFinding(
            "high", file, line, key,
            f"a literal secret is written under {last!r} ({mask(value)})",
            "put it in an environment variable or .env file and reference it with "
            "api_key_env = \"VAR\""))
    return out


def _walk(data: Any, prefix: str = "") -> Iterable[tuple[str, str]]:
    if isinstance(data, Mapping):
        for k, v in data.items():
            if str(k).startswith("__"):
                continue
            yield from _walk(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(data, (list, tuple)):
        for i, v in enumerate(data):
            yield from _walk(v, f"{prefix}[{i}]")
    elif isinstance(data, str):
        yield prefix, data
    elif hasattr(data, "model_dump"):
        yield from _walk(data.model_dump(), prefix)


_ASSIGN = re.compile(r"^\s*([A-Za-z0-9_\-\.\"']+)\s*=\s*(.*)$")


def _audit_toml_text(path: str, text: str) -> list[SecurityFinding]:
    findings: list[SecurityFinding] = []
    table = ""
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("["):
            table = line.strip("[] ")
            continue
        m = _ASSIGN.match(line)
        if m:
            key = f"{table}.{m.group(1).strip(chr(34) + chr(39))}" if table \
                else m.group(1).strip("\"'")
            value = m.group(2).split(" #", 1)[0].strip().strip("\"'")
            findings.extend(_key_findings(path, n, key, value))
        else:
            for vendor, match in find_vendor_keys(line):
                findings.append(SecurityFinding(
                    "critical", path, n, table or "(file)",
                    f"{vendor} credential in the file ({mask(match)})",
                    "revoke it and keep keys in environment variables or .env files"))
    return findings


def audit_config_security(config: str | os.PathLike[str] | Mapping[str, Any] | None = None
                          ) -> list[SecurityFinding]:
    """Find credentials written into configuration.

    Args:
        config: A TOML file, a loaded config dict, or ``None`` for every ``agent.toml``
            on the search path (:func:`teragent.config.config_search_paths`).
    """
    if isinstance(config, Mapping):
        findings: list[SecurityFinding] = []
        for key, value in _walk(config):
            findings.extend(_key_findings("", None, key, value))
        return findings
    if config is None:
        from teragent.config.loader import config_search_paths

        paths = [p for p in config_search_paths() if p.is_file()]
    else:
        paths = [Path(config)]
    findings = []
    for p in paths:
        try:
            text = p.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            findings.append(SecurityFinding("low", str(p), None, "(file)",
                                            f"cannot be read: {exc.strerror}", "check the path"))
            continue
        findings.extend(_audit_toml_text(str(p), text))
    return findings


def _git_ignored(path: Path) -> bool | None:
    """Whether a ``.gitignore`` between the file and its repository root ignores it;
    ``None`` when the file is not in a git work tree."""
    path = path.resolve()
    repo = next((d for d in path.parents if (d / ".git").exists()), None)
    if repo is None:
        return None
    rel = path.relative_to(repo).as_posix()
    for d in [repo, *[p for p in path.parents if repo in p.parents]]:
        ignore = d / ".gitignore"
        if not ignore.is_file():
            continue
        sub = path.relative_to(d).as_posix()
        for pat in ignore.read_text(encoding="utf-8", errors="replace").splitlines():
            pat = pat.strip()
            if not pat or pat.startswith("#") or pat.startswith("!"):
                continue
            pat = pat.lstrip("/")
            if fnmatch.fnmatch(sub, pat) or fnmatch.fnmatch(path.name, pat) \
                    or fnmatch.fnmatch(rel, pat):
                return True
    return False


def audit_env_file(path: str | os.PathLike[str]) -> list[SecurityFinding]:
    """Check one ``.env`` file (see the module docstring)."""
    p = Path(path)
    name = str(p)
    if not p.is_file():
        return [SecurityFinding("low", name, None, "(file)", "does not exist", "check the path")]
    findings: list[SecurityFinding] = []
    if sys.platform != "win32":
        mode = p.stat().st_mode
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            findings.append(SecurityFinding(
                "medium", name, None, "(file)",
                f"is readable by other users (mode {stat.filemode(mode)})",
                f"chmod 600 {name}"))
    if _git_ignored(p) is False:
        findings.append(SecurityFinding(
            "high", name, None, "(file)", "is inside a git work tree and not ignored, so it "
            "can be committed", "add '.env' to .gitignore (and rotate any key already "
            "committed)"))
    seen: dict[str, int] = {}
    for n, key, value in dotenv_entries(p):
        if key in seen:
            findings.append(SecurityFinding(
                "low", name, n, key, f"is defined again (first on line {seen[key]}); the "
                "last one wins", "keep one definition"))
        seen.setdefault(key, n)
        if is_secret_name(key, strict=True) and _PLACEHOLDER.match(value):
            findings.append(SecurityFinding("low", name, n, key, "holds a placeholder, "
                                            "not a key", "paste the real key or remove it"))
        expected = next((v for prefix, v in _VENDOR_OF_VAR.items()
                         if key.upper().startswith(prefix + "_")), None)
        for vendor, match in find_vendor_keys(value):
            if expected and vendor != expected:
                findings.append(SecurityFinding(
                    "medium", name, n, key, f"holds what looks like a key of {vendor} "
                    f"({mask(match)}) but is named for {expected}",
                    "check that the right key is in the right variable"))
    return findings
