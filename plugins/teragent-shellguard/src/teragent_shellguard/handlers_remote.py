"""Handlers for network and remote programs (nc, socat, ssh, git, cloud CLIs, kubectl),
editor shell escapes and credential printing.

Part of layer 3 (see :mod:`~teragent_shellguard.handlers`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from teragent.secrets import is_secret_name
from teragent_shellguard import pathclass as pc
from teragent_shellguard.args import Handler, Registry, split_args
from teragent_shellguard.handlers_deploy import remote_text
from teragent_shellguard.pathclass import classify

if TYPE_CHECKING:
    from teragent_shellguard.engine import Ctx
    from teragent_shellguard.parser import Command

__all__ = ["HANDLERS"]


# -- network, remote, reverse shells -----------------------------------------------------

def _nc(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    for w in words[1:]:
        if w in ("-e", "-c", "--exec", "--sh-exec", "--lua-exec") or (w.startswith("-") and not w.startswith("--")
                                                                      and ("e" in w[1:] or "c" in w[1:]) and len(w) <= 5):
            ctx.block("reverse_shell", f"{words[0]} {w} attaches a program to a network socket")
            return


def _socat(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    text = " ".join(words[1:]).lower()
    if re.search(r"\b(?:exec|system):", text) or ("pty" in text and "tcp" in text):
        ctx.block("reverse_shell", "socat connects a shell to a network socket")


def _xterm(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if "-display" in words or "-d" in words:
        ctx.block("reverse_shell", "xterm -display opens a shell on a remote X server")


_EDITOR_ESCAPE = re.compile(r"^\s*:?\s*(?:!|sh(?:ell)?\b|te(?:rm(?:inal)?)?\b|py(?:thon)?3?\b|perl\b|lua\b|ruby\b|"
                            r"call\s+system|.*\bsystem\s*\()|shell-command|call-process|start-process")


def _editor(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    args = words[1:]
    for i, a in enumerate(args):
        payload = None
        if a in ("-c", "--cmd", "--eval", "-e", "--command") and i + 1 < len(args):
            payload = args[i + 1]
        elif a.startswith("+") and len(a) > 1:
            payload = a[1:]
        if payload and _EDITOR_ESCAPE.search(payload):
            ctx.block("inline_exec", f"{words[0]} runs a shell escape ({payload[:40]})")
            return



_GIT_EXEC_KEYS = re.compile(r"(?i)^(?:core\.(?:sshcommand|pager|editor|fsmonitor|hookspath|askpass|gitproxy)|"
                            r"alias\.[^=]+|.*\.(?:command|cmd|helper|textconv|clean|smudge|process)|"
                            r"diff\.external|sequence\.editor|uploadpack\.packobjectshook|protocol\.ext\.allow)=")


_INSTEAD_OF = re.compile(r"(?i)^url\.['\"]?(.+?)['\"]?\.(?:push)?insteadof$")
_IP_URL = re.compile(r"^\w+://(?:[^@/]*@)?\d+\.\d+\.\d+\.\d+")


def temp_program(value: str, what: str, ctx: Ctx) -> None:
    """A configured program (pager, editor, shell, monitor) that lives in a temp directory runs
    whatever anyone drops there, every time the tool runs."""
    prog = value.strip("'\"").split()[0] if value.strip("'\"").split() else ""
    if prog and classify(prog) == pc.TEMP:
        ctx.block("persistence", f"{what} makes a program in a temp directory run every time: '{prog}'")


def _npm(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    low = [w.lower() for w in words[1:]]
    if low[:2] == ["config", "set"] and len(low) >= 4 and low[2] in ("script-shell", "shell", "editor", "browser",
                                                                      "node-options", "git"):
        ctx.check_text(words[4], f"{words[0]} config {low[2]}")
        temp_program(words[4], f"{words[0]} config set {low[2]}", ctx)


def _git(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    args = words[1:]
    for i, a in enumerate(args):
        if a == "-c" and i + 1 < len(args):
            kv = args[i + 1]
            if _GIT_EXEC_KEYS.match(kv):
                value = kv.split("=", 1)[1].lstrip("!")
                before = len(ctx.findings)
                ctx.check_text(value, "git -c command")
                if len(ctx.findings) > before or re.search(r"\b(?:sh|bash)\s+-c\b|[|;&]", value):
                    ctx.block("inline_exec", f"git -c {kv.split('=', 1)[0]} runs a shell command")
    if len(args) >= 2 and args[0] == "config":
        for i, a in enumerate(args):
            if _GIT_EXEC_KEYS.match(a + "=") and i + 1 < len(args):
                ctx.check_text(args[i + 1].lstrip("!"), "git config command")
                temp_program(args[i + 1].lstrip("!"), f"git config {a}", ctx)
            m = _INSTEAD_OF.match(a)
            if m and (m.group(1).startswith("http://") or _IP_URL.match(m.group(1))):
                ctx.block("download_exec", f"git config {a} sends every fetch of {args[i + 1] if i + 1 < len(args) else 'a host'}"
                          f" to {m.group(1)} (plain HTTP or a bare address)")


def _rsync(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    _, vals, _ = split_args(words[1:], frozenset({"-e", "--rsh", "--rsync-path"}))
    for k in ("-e", "--rsh", "--rsync-path"):
        if k in vals and " " in vals[k]:
            ctx.check_text(vals[k], f"rsync {k}")


_SSH_TAKES = frozenset({"-b", "-c", "-D", "-E", "-e", "-F", "-I", "-i", "-J", "-L", "-l", "-m", "-O", "-o",
                        "-p", "-Q", "-R", "-S", "-W", "-w", "-B"})


def _ssh(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    flags, vals, pos = split_args(words[1:], _SSH_TAKES)
    for k, v in vals.items():
        if k == "-o" and v.lower().startswith(("proxycommand", "localcommand", "permitlocalcommand")):
            ctx.check_text(v.split("=", 1)[1] if "=" in v else v.split(" ", 1)[-1], "ssh ProxyCommand")
    if "-R" in vals or "-D" in vals:
        ctx.warn("remote_exec", "ssh opens a reverse or dynamic tunnel")
    if len(pos) > 1:
        ctx.check_text(" ".join(pos[1:]), "remote command")
        ctx.warn("remote_exec", f"ssh runs a command on the remote host {pos[0]}")
    elif pos:
        ctx.warn("remote_exec", f"ssh opens an interactive session on {pos[0]}")


def _tunnel(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    name = words[0].rsplit("/", 1)[-1]
    if name == "cloudflared" and "tunnel" not in words:
        return
    ctx.warn("remote_exec", f"{name} exposes a local service to the internet")


def _kubectl(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    _, _, pos = split_args(words[1:], frozenset({"-n", "--namespace", "--context", "-l", "--selector", "-f",
                                                  "--filename", "-o", "--output", "--kubeconfig", "-c", "--container"}))
    if not pos:
        return
    verb = pos[0]
    args = words[1:]
    if verb == "delete":
        if any(a in ("--all", "-A", "--all-namespaces") for a in args) or \
                (len(pos) > 1 and pos[1].split("/")[0] in ("namespace", "namespaces", "ns", "node", "nodes", "pv",
                                                            "crd", "crds", "clusterrole", "clusterrolebinding", "pvc",
                                                            "persistentvolumeclaim", "persistentvolumeclaims", "pvs")):
            ctx.block("remote_exec", f"{words[0]} delete removes cluster-wide resources")
        else:
            ctx.warn("remote_exec", f"{words[0]} delete removes cluster resources")
    elif verb in ("drain", "cordon", "exec", "cp", "scale", "replace", "patch", "apply", "rollout"):
        ctx.warn("remote_exec", f"{words[0]} {verb} changes or runs commands in a cluster")
    elif verb == "config" and "--raw" in args:
        ctx.block("credential_theft", "kubectl config view --raw prints cluster credentials")


_DESTROY_VERB = re.compile(r"^(?:delete|terminate|remove|rm|rb|purge|destroy|deregister|drop|wipe|reset|erase)"
                           r"(?:[-:_].*)?$|^(?:apps|addons|pg|redis):(?:destroy|reset)$|"
                           # ``schedule-key-deletion``, ``batch-delete-image``: the verb inside a compound action name
                           r"^[a-z]+(?:-[a-z]+)*-(?:delete|deletion|destroy|terminate|purge)(?:-[a-z]+)*$")
#: printing a secret's value from a secret manager
_SECRET_VALUE = (("aws", "secretsmanager", "get-secret-value"), ("aws", "ssm", "get-parameter"),
                 ("aws", "ssm", "get-parameters"), ("gcloud", "secrets", "versions", "access"),
                 ("az", "keyvault", "secret", "show"), ("az", "keyvault", "secret", "download"),
                 ("doppler", "secrets", "get"), ("op", "read"), ("op", "item", "get"), ("bw", "get", "password"),
                 ("glab", "variable", "get"), ("heroku", "config:get"), ("vercel", "env", "pull"))


def _cloud(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    name = words[0].rsplit("/", 1)[-1]
    _, _, pos = split_args(words[1:], frozenset({"--profile", "--region", "--zone", "--project", "-g",
                                                  "--resource-group", "--output", "-o", "--query", "--endpoint-url"}))
    low = [p.lower() for p in pos]
    if name == "gcloud" and low[:2] == ["auth", "print-access-token"] or \
            name == "gcloud" and "print-identity-token" in low or \
            (name == "gcloud" and low[:3] == ["auth", "application-default", "print-access-token"]):
        ctx.block("credential_theft", "gcloud prints an access token")
        return
    if name == "az" and low[:2] == ["account", "get-access-token"]:
        ctx.block("credential_theft", "az prints an access token")
        return
    if name == "aws" and (low[:2] == ["configure", "get"] and any("secret" in p or "key" in p for p in low)
                          or low[:2] == ["configure", "export-credentials"] or low[:2] == ["sts", "get-session-token"]):
        ctx.block("credential_theft", "aws prints credentials")
        return
    if name in ("gh", "glab") and (low[:2] == ["auth", "token"] or low[:2] == ["auth", "status"] and
                                   any(w in ("-t", "--show-token") for w in words)):
        ctx.block("credential_theft", f"{name} prints the hosting token")
        return
    if "kubeconfig" in low and any(v in low for v in ("show", "get", "print", "view")):
        ctx.block("credential_theft", f"{name} prints a cluster's credentials (kubeconfig)")
        return
    if remote_text(name, low, words, ctx):
        return
    if any(tuple([name, *low[:len(k) - 1]]) == k for k in _SECRET_VALUE) and (
            name != "aws" or low[1:2] != ["get-parameter"] or "--with-decryption" in words):
        ctx.block("credential_theft", f"{name} {' '.join(low[:3])} prints a stored secret")
        return
    if name in ("terraform", "tofu", "pulumi", "cdk", "terragrunt") and low[:1] == ["destroy"]:
        ctx.block("remote_exec", f"{name} destroy tears down infrastructure")
        return
    if name in ("terraform", "tofu", "terragrunt") and low[:1] == ["apply"] and any(w in ("-destroy", "--destroy")
                                                                                    for w in words):
        ctx.block("remote_exec", f"{name} apply -destroy tears down infrastructure")
        return
    if name in ("terraform", "tofu") and low[:1] == ["apply"] and any("auto-approve" in w for w in words):
        ctx.warn("remote_exec", f"{name} apply -auto-approve changes infrastructure without review")
        return
    if name == "aws" and low[:2] == ["s3", "rm"]:  # one object, a dry run, or a recursive delete
        if "--dryrun" in words:
            return
        if "--recursive" in words or any(p.rstrip("/").count("/") <= 2 for p in low[2:3]):
            ctx.block("remote_exec", "aws s3 rm deletes a bucket's objects")
        else:
            ctx.warn("remote_exec", "aws s3 rm deletes a cloud storage object")
        return
    for p in low[:4]:
        if _DESTROY_VERB.match(p):
            ctx.block("remote_exec", f"{name} {p} deletes cloud resources")
            return
    if name == "aws" and "sync" in low and "--delete" in words:
        ctx.warn("remote_exec", "aws s3 sync --delete removes remote objects")
    if name == "helm" and low[:1] in (["uninstall"], ["delete"]):
        if any("$(" in w or "`" in w for w in words[2:]) or "--all" in words:
            ctx.block("remote_exec", "helm uninstall removes every release a listing returns")
        else:
            ctx.warn("remote_exec", "helm uninstall removes a release")


def _gsutil(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if "rm" in words or "rb" in words:
        ctx.block("remote_exec", "gsutil deletes cloud storage objects or buckets")


# -- credentials -------------------------------------------------------------------------

_VAR_REF = re.compile(r"\$\{?([A-Za-z_]\w*)")


def _printenv(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if not any(not w.startswith("-") for w in words[1:]):
        ctx.warn("credential_theft", "printenv prints every environment variable, secrets included")
    for w in words[1:]:
        if not w.startswith("-") and is_secret_name(w):
            ctx.block("credential_theft", f"prints the secret environment variable {w}")
            return


def _echo(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    for w in words[1:]:
        if "$" in w:
            for var in _VAR_REF.findall(w):
                if is_secret_name(var):
                    ctx.block("credential_theft", f"prints the secret environment variable {var}")
                    return


def _gpg(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if any(w.startswith(("--export-secret-keys", "--export-secret-subkeys", "--export-ssh-key")) for w in words):
        ctx.block("credential_theft", "gpg exports private keys")


def _security(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if len(words) > 1 and (words[1] == "dump-keychain" or
                           (words[1].startswith("find-") and "password" in words[1] and ("-w" in words or "-g" in words))):
        ctx.block("credential_theft", "security reads passwords from the macOS keychain")


HANDLERS: dict[str, Handler] = {}
_reg = Registry(HANDLERS)
_reg("nc", _nc)
_reg("socat", _socat)
_reg("xterm", _xterm)
_reg("vim vi nvim view ex ed emacs vimdiff gvim", _editor)
_reg("git", _git)
_reg("npm pnpm", _npm)
_reg("rsync", _rsync)
_reg("ssh", _ssh)
_reg("ngrok cloudflared lt localtunnel bore frpc serveo pagekite", _tunnel)
_reg("kubectl oc", _kubectl)
_reg("aws gcloud az doctl heroku flyctl fly terraform tofu pulumi cdk terragrunt gh helm linode-cli eksctl vercel "
     "netlify firebase supabase railway wrangler hcloud scw oci ibmcloud aliyun civo vultr-cli exo doppler op bw "
     "glab serverless sls influx rabbitmqctl rabbitmqadmin nats argocd flux velero borg "
     "okta auth0", _cloud)
_reg("gsutil", _gsutil)
_reg("printenv", _printenv)
_reg("echo printf", _echo)
_reg("gpg gpg2", _gpg)
_reg("security", _security)
