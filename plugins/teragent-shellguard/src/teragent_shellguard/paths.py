"""Path classification shared by the blacklist (layer 3) and redirect checks (layer 4).

Paths are canonicalised first: every spelling of a home directory (``~``, ``$HOME``,
``${HOME}``, ``/home/alice``, ``/Users/alice``, ``/root``) becomes :data:`HOME`, and
``..`` is resolved, so ``~/../..`` is ``/``. Relative paths stay relative (they are inside
the workspace unless they climb out with ``..``).
"""

from __future__ import annotations

import posixpath
import re

__all__ = ["HOME", "canon", "delete_danger", "write_danger", "credential_path", "path_candidates", "login_secret"]

HOME = "/home/~"

_HOME_PREFIX = re.compile(
    r"(?:~[A-Za-z0-9_.-]*|\$HOME|\$\{HOME(?:[:]?[-=?+][^}]*)?\}|\$USERPROFILE|/home/[^/]+|/Users/[^/]+|/root)(?=/|$)"
)
_LOGIN_STDIN = re.compile(r"\blogin\b.*--(?:password-stdin|with-token|token-stdin)\b|--(?:password-stdin|with-token)\b.*\blogin\b")
_MOUNTED_SECRETS = ("/run/secrets/", "/var/run/secrets/")


def login_secret(target: str, words: list[str]) -> bool:
    """A mounted container secret fed to a login that reads its secret on stdin
    (``docker login --password-stdin < /run/secrets/x``): what the secret is for."""
    return target.startswith(_MOUNTED_SECRETS) and _LOGIN_STDIN.search(" ".join(words)) is not None
_PWD_PREFIX = re.compile(r"(?:\$PWD|\$\{PWD\})(?=/|$)")
_GLOB_ONLY = re.compile(r"^[*?.\[\]!]*[*?][*?.\[\]!]*$")
_VAR_ONLY = re.compile(r"^\$(?:\{[A-Za-z_]\w*\}|[A-Za-z_]\w*)(/[*?.]*)?$")
_SAFE_TMP = re.compile(r"^/(?:tmp|var/tmp|private/tmp|var/folders|dev/shm)/.")
_SYSTEM_TOP = frozenset({
    "etc", "usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "boot", "var", "sys",
    "proc", "dev", "opt", "srv", "snap", "system", "library", "applications", "private",
    "run", "efi", "nix", "cores",
})
_SHALLOW_TOP = frozenset({"mnt", "media", "home", "users", "tmp", "volumes"})
_SENSITIVE_HOME = frozenset({
    ".ssh", ".gnupg", ".aws", ".azure", ".kube", ".docker", ".config", ".local", ".password-store",
    "library", ".mozilla", ".pki",
})
_BLOCK_DEVICE = re.compile(
    r"^/dev/(?:[sh]d[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|disk\d|rdisk\d|md\d|dm-\d|mapper/|"
    r"loop\d|sr\d|mem$|kmem$|port$|root$|nbd\d|zd\d|bcache)"
)
_DEV_OK = re.compile(r"^/dev/(?:null|zero|stdout|stderr|stdin|tty|fd/\d+|full|ptmx|pts/\d+|shm/.*|(?:u)?random)$")
_HISTORY = re.compile(r"(?:^|/)\.?[\w.-]*_?history$|(?:^|/)\.histfile$|(?:^|/)\.lesshst$|^/var/log(?:/|$)|"
                      r"^/var/run/utmp$|^/var/log/wtmp$")
_PERSIST_HOME = re.compile(
    r"^/home/~/(?:\.(?:bashrc|bash_profile|bash_login|bash_logout|profile|zshrc|zprofile|zshenv|"
    r"zlogin|zlogout|cshrc|tcshrc|kshrc|mkshrc|xinitrc|xprofile|xsession|xsessionrc|pam_environment)$|"
    r"\.ssh/(?:authorized_keys2?|rc|environment)$|\.config/(?:autostart|systemd/user|fish/config\.fish)|"
    r"Library/LaunchAgents/|\.config/environment\.d/)"
)
_CREDENTIALS = re.compile(
    r"^/home/~/(?:\.ssh(?:$|/(?!known_hosts)(?!config$)(?!authorized_keys)(?!.*\.pub$))|"
    r"\.(?:aws|azure|gnupg|password-store|pki/nssdb)(?:$|/)|\.kube/config|\.docker/config\.json|"
    r"\.config/(?:gcloud|gh|hub|doctl|op|rclone)(?:$|/)|"
    r"\.(?:netrc|_netrc|pgpass|my\.cnf|git-credentials|npmrc|pypirc|vault-token|boto|s3cfg|"
    r"dockercfg|terraformrc)$|\.terraform\.d/credentials|\.(?:cargo|gem)/credentials|"
    r"\.local/share/keyrings|Library/Keychains|\.mozilla/.*(?:logins\.json|key[34]\.db|cookies\.sqlite)|"
    r"\.config/(?:google-chrome|chromium|BraveSoftware)/.*(?:Login Data|Cookies))|"
    r"^/etc/(?:g?shadow-?|master\.passwd|security/opasswd|sudoers(?:\.d)?(?:$|/)|"
    r"ssh/ssh_host_[^/]*_key$|ssl/private(?:$|/)|krb5\.keytab$|kubernetes/(?:admin\.conf|pki))|"
    r"^/proc/[^/]+/(?:environ|mem)$|^(?:/var)?/run/secrets(?:$|/)|^/var/lib/kubelet/pki"
)


def canon(path: str) -> str:
    """Canonicalise ``path``: map home spellings to :data:`HOME` and resolve ``..``."""
    if not path:
        return path
    m = _HOME_PREFIX.match(path)
    if m:
        path = HOME + path[m.end():]
    else:
        m = _PWD_PREFIX.match(path)
        if m:
            path = "." + path[m.end():]
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    return posixpath.normpath(path)


def _split_glob(p: str) -> tuple[str, bool]:
    """Return (directory, wiped_contents) for ``dir/*``-style paths."""
    base = posixpath.basename(p)
    if base and _GLOB_ONLY.match(base):
        return posixpath.dirname(p) or ".", True
    return p, False


def delete_danger(raw: str, recursive: bool) -> str | None:
    """Why deleting ``raw`` (recursively or not) is dangerous, or ``None`` when it is not."""
    if raw.startswith("$") and not raw.startswith(("$HOME", "${HOME", "$PWD", "${PWD")):
        if recursive and _VAR_ONLY.match(raw) and "/" in raw and ":?" not in raw:
            return f"'{raw}' expands to '/' (or '/*') when the variable is unset"
        return None
    p, contents = _split_glob(canon(raw))
    if p in ("/", "//"):
        return "deletes the filesystem root"
    if p.startswith("/"):
        parts = p[1:].split("/")
        top = parts[0].lower()
        if any(ch in top for ch in "*?["):
            return f"glob '{raw}' matches top-level system directories"
        if p == HOME or p.startswith(HOME + "/"):
            depth = len(parts) - 2
            if depth <= 0:
                return "deletes the home directory"
            if parts[2].lower() in ("library", ".cache") and len(parts) > 3 and parts[3].lower() in ("caches", "logs") or \
                    parts[2] == ".cache" and depth >= 2:
                return None
            if parts[2].lower() in _SENSITIVE_HOME:
                return f"deletes '{raw}' (keys, credentials or configuration in home)"
            if depth == 1 and (recursive or contents or parts[2].startswith(".")):
                return f"deletes the top-level home entry '{raw}'"
            return None
        if _SAFE_TMP.match(p):
            return None
        if top in _SYSTEM_TOP:
            return f"deletes system path '{raw}'"
        if top in _SHALLOW_TOP:
            return f"deletes '{raw}'" if len(parts) <= (1 if top == "tmp" else 2) else None
        if len(parts) == 1 and (recursive or contents):
            return f"deletes the top-level directory '{raw}'"
        return None
    if recursive and (p == "." or all(seg == ".." for seg in p.split("/"))):
        return "deletes the whole workspace" if p == "." else "deletes directories above the workspace"
    return None


def write_danger(raw: str) -> tuple[str, str] | None:
    """Return ``(category, reason)`` when writing to ``raw`` is dangerous."""
    p = canon(raw)
    if p.startswith("/dev/"):
        if _DEV_OK.match(p):
            return None
        if p.startswith(("/dev/tcp/", "/dev/udp/")):
            return "reverse_shell", f"connects a stream to the network via '{raw}'"
        if _BLOCK_DEVICE.match(p):
            return "destructive_disk", f"writes raw data to the device '{raw}'"
        return "dangerous_redirect", f"writes to the device file '{raw}'"
    if _HISTORY.search(p):
        return "history_tampering", f"overwrites shell history or system logs ('{raw}')"
    if _PERSIST_HOME.match(p):
        return "persistence", f"modifies the startup/login file '{raw}'"
    if p.startswith("/"):
        top = p[1:].split("/", 1)[0].lower()
        if _SAFE_TMP.match(p):
            return None
        if top in _SYSTEM_TOP:
            return "dangerous_redirect", f"writes into the system path '{raw}'"
        if p == HOME or p.startswith(HOME + "/.ssh") and not p.endswith("/known_hosts"):
            return "dangerous_redirect", f"overwrites '{raw}'"
    return None


def path_candidates(word: str) -> list[str]:
    """Path-like pieces of an argument: the word, ``--opt=PATH``, ``@PATH``, ``host:PATH``."""
    out = [word]
    for sep in ("=", "@", ":"):
        if sep in word:
            tail = word.rsplit(sep, 1)[1]
            if tail:
                out.append(tail)
    return out


def credential_path(word: str) -> str | None:
    """Return the credential-store path named by ``word`` (any form), or ``None``."""
    if "/" not in word and "~" not in word:
        return None
    for cand in path_candidates(word):
        if cand[:1] in "~/$" and _CREDENTIALS.search(canon(cand)):
            return cand
    return None


def is_block_device(raw: str) -> bool:
    return bool(_BLOCK_DEVICE.match(canon(raw)))
