"""Path classes: which kind of location a path names, from a data table.

:func:`classify` canonicalises a path (every home spelling becomes ``/home/~``, Windows
drive paths and ``%VAR%``/``$env:VAR`` forms become POSIX-like paths, ``..`` is resolved)
and returns the first class of :data:`TABLE` whose pattern matches. The table is data:
facts about where Unix, macOS and Windows keep credentials, history, logs and the files
that run code at login or boot (the persistence locations catalogued by MITRE ATT&CK
T1037, T1053, T1098.004, T1543, T1546, T1547). Adding a location is adding a row.

A relative path is in the workspace unless it climbs out with ``..``; the agent's own
files (``.teragent/``, ``.git/hooks/``) and project secrets (``.env``) have classes of
their own so the rules can protect them.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Sequence
from functools import lru_cache

from teragent_shellguard.paths import HOME, canon

__all__ = ["classify", "canon_any", "is_pathlike", "is_protected", "SENSITIVE_READ", "SENSITIVE_SEND",
           "CLASS_WORDS"]

# -- classes ----------------------------------------------------------------------------
ROOT, SYSTEM, SYSCONF, BOOT = "root", "system", "system_config", "boot"
ACCOUNTS, DISK, DEVICE, KERNEL, NETDEV = "accounts", "disk", "device", "kernel", "network_stream"
HOMEDIR, HOMETOP, DOTFILE, CREDENTIAL = "home", "home_top", "dotfile", "credential"
HISTORY, LOG, PERSIST, AGENT, SECRETS, VCS = "history", "log", "persistence", "agent", "secrets", "vcs_store"
TEMP, NULL, WORKSPACE, OUTSIDE, OTHER = "temp", "null", "workspace", "outside", "other"

#: human words for reasons ("writes a persistence location '~/.bashrc'")
CLASS_WORDS = {
    ROOT: "the filesystem root", SYSTEM: "a system directory", SYSCONF: "system configuration",
    BOOT: "the boot loader", ACCOUNTS: "the account database", DISK: "a disk device", DEVICE: "a device file",
    KERNEL: "a kernel interface", NETDEV: "a network stream", HOMEDIR: "the home directory",
    HOMETOP: "a top-level home folder", DOTFILE: "home configuration", CREDENTIAL: "a credential store",
    HISTORY: "shell history", LOG: "system logs", PERSIST: "a persistence location (runs code at login, boot or on "
    "a schedule)", AGENT: "the agent's own files", SECRETS: "project secrets", VCS: "the repository history",
    TEMP: "a temp directory", NULL: "a null device", WORKSPACE: "the workspace", OUTSIDE: "a path outside the "
    "workspace", OTHER: "a path",
}
#: reading these and printing or copying them is credential access
SENSITIVE_READ = frozenset({CREDENTIAL, HISTORY})
#: sending these to the network is exfiltration
SENSITIVE_SEND = frozenset({CREDENTIAL, HISTORY, SECRETS, ACCOUNTS, DOTFILE, HOMETOP, HOMEDIR, LOG, SYSCONF})

_H = re.escape(HOME)
# (pattern on the canonical path, class); the first match wins, so specific rows come first.
TABLE: list[tuple[str, str]] = [
    # network pseudo-devices and harmless devices
    (r"^/dev/(?:tcp|udp)/", NETDEV),
    (r"^/dev/(?:null|zero|stdout|stderr|stdin|tty|fd/\d+|full|ptmx|pts/\d+|u?random)$|^/proc/self/fd/\d$|^nul$", NULL),
    (r"^/dev/(?:[sh]d[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|r?disk\d|md\d|dm-\d|mapper/|loop\d|sr\d|nbd\d|zd\d|"
     r"mem$|kmem$|port$|root$|bcache|physicaldrive)", DISK),
    (r"^/dev/shm/", TEMP),
    (r"^/dev/", DEVICE),
    # persistence: shell startup, ssh keys, schedulers, service managers, login hooks
    (rf"^{_H}/\.(?:bashrc|bash_profile|bash_login|bash_logout|profile|zshrc|zprofile|zshenv|zlogin|zlogout|"
     r"cshrc|tcshrc|kshrc|mkshrc|xinitrc|xprofile|xsession|xsessionrc|pam_environment|inputrc|login_conf)$", PERSIST),
    (rf"^{_H}/\.ssh/(?:authorized_keys2?|rc|environment)$", PERSIST),
    (rf"^{_H}/\.config/(?:autostart|systemd/user|environment\.d|fish/config\.fish|fish/conf\.d)(?:/|$)", PERSIST),
    (rf"^{_H}/\.(?:local/share/systemd/user|kde/autostart|config/plasma-workspace/env)(?:/|$)", PERSIST),
    (rf"^{_H}/Library/(?:LaunchAgents|LaunchDaemons|StartupItems)(?:/|$)", PERSIST),
    (rf"^{_H}/(?:AppData/Roaming/)?(?:Microsoft/Windows/)?Start Menu/Programs/Startup(?:/|$)", PERSIST),
    (rf"^{_H}/(?:Documents/(?:Windows)?PowerShell/[^/]*profile\.ps1)$", PERSIST),
    (r"/site-packages/[^/]+\.pth$|/usercustomize\.py$|/sitecustomize\.py$", PERSIST),
    (r"^/etc/(?:profile|bash\.bashrc|bashrc|zshrc|zshenv|zprofile|zlogin|csh\.cshrc|csh\.login|environment|"
     r"crontab|anacrontab|rc\.local|ld\.so\.preload|modules|sudoers|doas\.conf|inittab)$", PERSIST),
    (r"^/etc/(?:profile\.d|zsh|cron\.[a-z]+|cron\.d|systemd|init\.d|init|rc\d?\.d|sudoers\.d|ld\.so\.conf\.d|pam\.d|"
     r"update-motd\.d|udev/rules\.d|modules-load\.d|modprobe\.d|xdg/autostart|periodic|NetworkManager/dispatcher\.d|"
     r"apt/apt\.conf\.d|security)(?:/|$)", PERSIST),
    (r"^/var/spool/(?:cron|at)(?:/|$)|^/var/at/|^/usr/lib/cron/", PERSIST),
    (r"^/(?:usr/)?lib/systemd/(?:system|user)(?:/|$)|^/run/systemd/(?:system|user)(?:/|$)", PERSIST),
    (r"^/(?:System/)?Library/(?:LaunchAgents|LaunchDaemons|StartupItems)(?:/|$)", PERSIST),
    (r"^/library/preferences/com\.apple\.loginwindow|^/Library/Preferences/com\.apple\.loginwindow", PERSIST),
    (r"^/programdata/microsoft/windows/start menu/programs/startup(?:/|$)", PERSIST),
    # a PATH directory of the user: a file named like a common command there shadows it for every shell
    (rf"^{_H}/(?:\.local/bin|bin)/(?:git|ls|sudo|su|ssh|scp|python3?|pip3?|node|npm|npx|cat|curl|wget|bash|sh|zsh|"
     r"env|make|docker|kubectl|gpg|passwd|login|cd|cp|mv|rm|grep|find|id|whoami|ps|kill|vim?|nano|less|code)$", PERSIST),
    # credentials
    (rf"^{_H}/\.ssh/(?!known_hosts)(?!config$)(?!.*\.pub$)[^/]+$|^{_H}/\.ssh$", CREDENTIAL),
    (rf"^{_H}/\.(?:aws|azure|gnupg|password-store|pki/nssdb|vault-token|docker/config\.json|kube/config|kube$|"
     r"netrc|_netrc|pgpass|my\.cnf|git-credentials|npmrc|pypirc|boto|s3cfg|dockercfg|terraformrc|"
     r"terraform\.d/credentials|cargo/credentials|gem/credentials|config/(?:gcloud|gh|hub|doctl|op|rclone|"
     r"git/credentials)|local/share/keyrings|mozilla/firefox|"
     r"config/(?:google-chrome|chromium|BraveSoftware|microsoft-edge|vivaldi|opera)|"
     r"thunderbird|msf4|john|hashcat)(?:/|$)", CREDENTIAL),
    # a browser profile holds saved passwords, cookies and session tokens: the whole folder is a credential store
    (rf"^{_H}/Library/(?:Keychains|Cookies|Application Support/(?:Google/Chrome|Firefox|Microsoft Edge|"
     r"BraveSoftware))(?:/|$)", CREDENTIAL),
    (rf"^{_H}/AppData/(?:Local|Roaming)/(?:Google/Chrome|Microsoft/Edge|Mozilla/Firefox)/.*"
     rf"(?:Login Data|Cookies|logins\.json|key4\.db)|^{_H}/AppData/(?:Roaming|Local)/Microsoft/(?:Credentials|Protect|Vault)",
     CREDENTIAL),
    (r"^/etc/(?:g?shadow-?|master\.passwd|security/opasswd|ssh/ssh_host_[^/]*_key|ssl/private|krb5\.keytab|"
     r"kubernetes/(?:admin\.conf|pki)|openvpn/.*\.key|wireguard|NetworkManager/system-connections)(?:/|$)", CREDENTIAL),
    (r"^/proc/[^/]+/(?:environ|mem|maps)$|^(?:/var)?/run/secrets(?:/|$)|^/var/lib/kubelet/pki|"
     r"^/Library/Keychains|^/var/db/(?:dslocal|SystemKey)|^/windows/system32/config/(?:sam|system|security)$",
     CREDENTIAL),
    # history and logs
    (r"(?:^|/)\.[\w.-]*_?history$|(?:^|/)\.histfile$|(?:^|/)\.lesshst$|/ConsoleHost_history\.txt$|"
     r"(?:^|/)\.zsh_sessions(?:/|$)", HISTORY),
    (r"^/(?:private/)?var/log(?:/|$)|^/var/run/utmp$|^/run/utmp$|^/var/log/[bw]tmp$|^/var/audit(?:/|$)|"
     r"^/windows/system32/winevt", LOG),
    # system
    (r"^/etc/(?:passwd|group)$", ACCOUNTS),
    (r"^/(?:boot|efi)(?:/|$)|^/System/Volumes/Preboot", BOOT),
    (r"^/(?:proc/sys|sys|proc/sysrq-trigger)(?:/|$)", KERNEL),
    (r"^/(?:etc|private/etc|Library/Preferences|windows/system32/drivers/etc)(?:/|$)", SYSCONF),
    (r"^/(?:tmp|var/tmp|private/tmp|var/folders|private/var/folders|temp)(?:/.|$)|^/windows/temp/"
     rf"|^{_H}/AppData/Local/Temp/", TEMP),
    (r"^/(?:usr|bin|sbin|lib|lib32|lib64|libx32|var|opt|srv|snap|nix|System|Library|Applications|private|run|"
     r"windows|program files|program files \(x86\)|programdata|cores|proc)(?:/|$)", SYSTEM),
    (rf"^{_H}$", HOMEDIR),
    (rf"^{_H}/\.[^/]+$|^{_H}/\.(?:config|local|gnupg|ssh)(?:/|$)|^{_H}/(?:AppData|Library)$", DOTFILE),
    (rf"^{_H}/[^/]+$", HOMETOP),
    (r"^/$", ROOT),
    (r"^/(?:home|Users|mnt|media|Volumes)/?[^/]*$", HOMEDIR),
    # relative paths: the agent's own files, secrets, repository history
    (r"^(?:\./)?\.teragent(?:/|$)|^(?:\./)?\.git/hooks(?:/|$)", AGENT),
    (r"^(?:\./)?\.git$|^(?:\./)?\.git/(?:objects|refs|modules|packed-refs|logs)(?:/|$)", VCS),
    (r"(?:^|/)\.env(?:\.(?!example$|sample$|template$|dist$)[\w.-]+)?$", SECRETS),
    (r"^\.\.(?:/|$)", OUTSIDE),
]
_COMPILED = [(re.compile(p, re.I), c) for p, c in TABLE]

_WIN_VARS = {
    "%userprofile%": HOME, "$env:userprofile": HOME, "%homepath%": HOME, "$home": HOME, "%appdata%": HOME + "/AppData/Roaming",
    "$env:appdata": HOME + "/AppData/Roaming", "%localappdata%": HOME + "/AppData/Local",
    "$env:localappdata": HOME + "/AppData/Local", "%temp%": "/tmp", "$env:temp": "/tmp", "%tmp%": "/tmp",
    "%systemroot%": "/windows", "$env:systemroot": "/windows", "%windir%": "/windows", "$env:windir": "/windows",
    "%programdata%": "/programdata", "$env:programdata": "/programdata", "%programfiles%": "/program files",
    "$env:programfiles": "/program files", "%systemdrive%": "", "$env:systemdrive": "",
    "$profile": HOME + "/Documents/PowerShell/profile.ps1",
}
_WIN_VAR = re.compile(r"(?i)^(%\w+%|\$env:\w+|\$home|\$profile)(?=[\\/]|$)")
_DRIVE = re.compile(r"^[A-Za-z]:(?=[\\/]|$)")
_WIN_USER = re.compile(r"(?i)^/users/[^/]+(?=/|$)")
_ENV_TEMPLATE = re.compile(r"^\.env\.(?:example|sample|template|dist|defaults?)$")
_PATHLIKE = re.compile(r"^(?:[~/.]|\$\{?(?:HOME|PWD|USERPROFILE|TMPDIR)\b|%\w+%|\$env:|[A-Za-z]:[\\/])|/")


def is_pathlike(word: str) -> bool:
    """Whether an argument looks like a path (rather than a pattern, word or option)."""
    return bool(word) and not word.startswith("-") and "://" not in word and bool(_PATHLIKE.search(word))


def canon_any(path: str) -> str:
    """:func:`paths.canon` that also understands Windows drive paths and variables."""
    p = path.strip("\"'")
    m = re.match(r"^/mnt/([a-zA-Z])(?=/|$)", p)
    if m:  # WSL's view of a Windows drive
        p = m.group(1) + ":" + (p[m.end():] or "/")
    if "\\" in p or "%" in p or p[:2].lower() in ("c:", "d:") or p.lower().startswith(("$env:", "$home", "$profile")):
        m = _WIN_VAR.match(p)
        if m:
            p = _WIN_VARS.get(m.group(1).lower(), "/" + m.group(1).strip("%$")) + p[m.end():]
        p = _DRIVE.sub("", p.replace("\\", "/")) or "/"
        m = _WIN_USER.match(p)
        if m:
            p = HOME + p[m.end():]
    return canon(p)


@lru_cache(maxsize=4096)
def classify(path: str) -> str:
    """The class of ``path`` (one of the constants of this module)."""
    p = canon_any(path)
    if not p:
        return OTHER
    for rx, cls in _COMPILED:
        if rx.search(p):
            return cls
    if p.startswith("/"):
        return OTHER
    return WORKSPACE


def is_protected(path: str, protected: Sequence[str], workspace: str | None = None) -> str | None:
    """The protected pattern that ``path`` falls under, or ``None``.

    Patterns are workspace-relative globs (``.env*``, ``.git/hooks/``, ``secrets/**``) or
    absolute paths; a trailing ``/`` protects everything below.
    """
    if not protected:
        return None
    p = canon_any(path)
    if workspace and p.startswith(workspace.rstrip("/") + "/"):
        p = p[len(workspace.rstrip("/")) + 1:]
    p = p.removeprefix("./")
    base = posixpath.basename(p)
    template = _ENV_TEMPLATE.match(base) is not None
    for pat in protected:
        q = pat.removeprefix("./")
        if template and q.startswith(".env"):
            continue  # ``.env.example`` is documentation, not a secret
        if workspace and q.startswith(workspace.rstrip("/") + "/"):
            q = q[len(workspace.rstrip("/")) + 1:]
        if q.endswith("/"):
            if p == q.rstrip("/") or p.startswith(q):
                return pat
        elif fnmatch.fnmatchcase(p, q) or ("/" not in q and fnmatch.fnmatchcase(base, q)) or p.startswith(q + "/"):
            return pat
    return None
