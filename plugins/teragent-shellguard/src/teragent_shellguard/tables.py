"""Binary knowledge as data: what each program does with its arguments.

:data:`IO` says which arguments a program reads, writes, deletes or changes the mode of,
which options take a value, and whether it talks to the network (and which options name
the data it sends). :data:`ACTIONS` lists, per program, argument patterns that change
system state (services, firewall, mandatory access control, audit, kernel, accounts,
schedulers, version control, databases, cloud resources) with the effect they have.

Sources of the facts (no text copied): the programs' manual pages (coreutils, util-linux,
OpenSSH, curl, wget, git, systemd, PostgreSQL/MySQL/SQLite/Redis/MongoDB clients, AWS/GCP/
Azure CLIs, macOS ``launchctl``/``defaults``/``security``/``csrutil``), GTFOBins (file
read/write/upload/shell capabilities of Unix binaries), LOLBAS (Windows binaries) and
MITRE ATT&CK technique pages. A program missing from these tables is still judged by the
paths, URLs and redirections its arguments name (see :mod:`~teragent_shellguard.effects`).
"""

from __future__ import annotations

from typing import NamedTuple

from teragent_shellguard.tables_ops import OPS_ACTIONS

__all__ = ["Spec", "IO", "ACTIONS", "NET_DNS", "EXEMPT_READ", "SHELL_NAMES", "DB_CLIENTS"]


class Spec(NamedTuple):
    """What a program does with its arguments.

    ``reads``/``writes``/``deletes``/``modes`` select positional arguments: ``all``,
    ``first``, ``rest`` (all but the first), ``last``, ``init`` (all but the last) or ``""``.
    ``takes`` are options with a value; ``optr``/``optw`` options whose value is a path read
    or written (``of=`` style keys end with ``=``); ``net`` is ``client``, ``stream`` or
    ``dns``; ``send`` options whose value is data sent (``@file`` means a file).
    """

    reads: str = ""
    writes: str = ""
    deletes: str = ""
    modes: str = ""
    takes: frozenset[str] = frozenset()
    optr: frozenset[str] = frozenset()
    optw: frozenset[str] = frozenset()
    net: str = ""
    send: frozenset[str] = frozenset()


def S(reads: str = "", writes: str = "", deletes: str = "", modes: str = "", takes: str = "", optr: str = "",
      optw: str = "", net: str = "", send: str = "") -> Spec:
    f = frozenset
    return Spec(reads, writes, deletes, modes, f(takes.split()) | f(optr.split()) | f(optw.split()) | f(send.split()),
                f(optr.split()), f(optw.split()), net, f(send.split()))


_READERS = {  # option letters that take a value, per family of readers
    "-n -c": "head tail",
    "-e -f -m -A -B -C -d --include --exclude -g --glob -t --type": "grep egrep fgrep rg ag ack",
    "-d -f -c -b": "cut",
    "-w -s -n -c -l": "od xxd hexdump hd strings fold fmt pr",
    "": "cat tac less more nl base64 base32 basenc uniq wc paste jq yq file md5sum sha1sum sha256sum sha512sum cksum "
        "b2sum diff cmp comm bat batcat view zcat bzcat xzcat zless zmore column expand unexpand rev look sum vis "
        "uuencode gzip bzip2 xz zstd lz4 plutil iconv",
    "-o --output -r --recipient -u --local-user --passphrase": "gpg gpg2 age",
    "-cmd -separator -init": "sqlite3",
    "-l -a -b -C --lines --bytes --additional-suffix": "split",
}
IO: dict[str, Spec] = {}
for _takes, _names in _READERS.items():
    for _n in _names.split():
        IO[_n] = S(reads="all", takes=_takes)
IO.update({
    "sort": S(reads="all", optw="-o --output", takes="-k -t -S -T"),
    "cp": S(reads="init", writes="last", optw="-t --target-directory", takes="-S --suffix"),
    "mv": S(reads="init", writes="last", deletes="init", optw="-t --target-directory", takes="-S --suffix"),
    "install": S(reads="init", writes="last", optw="-t --target-directory", takes="-m --mode -o -g --owner --group"),
    "ln": S(writes="last", optw="-t --target-directory", takes="-S --suffix"),
    "link": S(writes="last"),
    "rsync": S(reads="init", writes="last", takes="-e --rsh --rsync-path --exclude --include --filter -f"),
    "scp": S(reads="init", writes="last", takes="-i -P -o -F -l -c -J -S", net="client"),
    "sftp": S(net="client", takes="-i -P -o -F -b -J"),
    "tee": S(writes="all"),
    "truncate": S(writes="all", takes="-s --size -r --reference"),
    "touch": S(writes="all", takes="-r --reference -d -t --date"),
    "mkdir": S(takes="-m --mode"),
    "shred": S(deletes="all", takes="-n -s --iterations --size --random-source"),
    "srm": S(deletes="all"), "wipe": S(deletes="all"), "unlink": S(deletes="all"),
    "rm": S(deletes="all"), "rmdir": S(deletes="all"),
    "chmod": S(modes="rest", takes="--reference"), "chown": S(modes="rest", takes="--reference"),
    "chgrp": S(modes="rest"), "chattr": S(modes="rest"), "setfacl": S(modes="rest", takes="-m -x -M -X"),
    "chflags": S(modes="rest"), "xattr": S(modes="all", takes="-w -d -p"),
    "dd": S(optr="if=", optw="of="),
    "find": S(optw="-fprint -fprint0 -fprintf -fls", takes="-name -iname -path -type -maxdepth -mindepth -newer -size"),
    "vim": S(writes="all", takes="-c --cmd -S -u -U -i -T -w -W"), "vi": S(writes="all", takes="-c --cmd -S -u"),
    "nvim": S(writes="all", takes="-c --cmd -S -u -i"), "ex": S(writes="all", takes="-c --cmd -S -u"),
    "ed": S(writes="all", takes="-p"), "nano": S(writes="all"), "emacs": S(writes="all", takes="--eval -l --load"),
    "type": S(reads="all"), "get-content": S(reads="all", takes="-tail -totalcount -encoding"), "gc": S(reads="all"),
    "compress-archive": S(reads="first", optr="-path -literalpath", optw="-destinationpath"),
    "copy": S(reads="init", writes="last"), "copy-item": S(reads="init", writes="last", optr="-path", optw="-destination"),
    "move-item": S(reads="init", writes="last", optw="-destination"), "xcopy": S(reads="init", writes="last"),
    "set-content": S(writes="first", optw="-path", takes="-value -encoding"),
    "add-content": S(writes="first", optw="-path", takes="-value -encoding"), "out-file": S(writes="first", optw="-filepath"),
    "certutil": S(reads="all"),
    "remove-item": S(deletes="all", takes="-include -exclude -filter"), "ri": S(deletes="all"),
    "del": S(deletes="all"), "erase": S(deletes="all"), "rd": S(deletes="all"),
    "iwr": S(net="client", optw="-outfile", takes="-uri -method -headers -body", send="-infile"),
    "irm": S(net="client", optw="-outfile", takes="-uri -method -headers -body", send="-infile"),
    "start-bitstransfer": S(net="client", optw="-destination", takes="-source"),
    "invoke-webrequest": S(net="client", optw="-outfile", takes="-uri -method -headers -body", send="-infile"),
    "invoke-restmethod": S(net="client", optw="-outfile", takes="-uri -method -headers -body", send="-infile"),
    "pv": S(reads="all"), "source": S(reads="first"), ".": S(reads="first"),
    "sed": S(reads="rest", takes="-e -f --expression --file -l"),
    "perl": S(), "awk": S(), "gawk": S(),
    "patch": S(writes="first", takes="-p -i -o -d"),
    "tar": S(takes="-f --file -C --directory -T -X --exclude"),
    "zip": S(writes="first", reads="rest", takes="-x -i -b -n -P"),
    "7z": S(reads="rest"), "unzip": S(reads="first", optw="-d", takes="-x"),
    "cpio": S(optw="-D --directory", takes="-H -F"),
    "ditto": S(reads="init", writes="last"),
    # network clients: URLs in any argument; options naming data that is sent
    "curl": S(optw="-o --output", optr="-K --config", takes="-H --header -X --request -u --user -A -e -m -w -x "
              "--proxy -b --cookie -c --cookie-jar -r --retry --connect-timeout --max-time -E --cert --key --cacert "
              "--resolve --interface --limit-rate -z", net="client",
              send="-d --data --data-binary --data-raw --data-ascii --data-urlencode -F --form --form-string -T "
                   "--upload-file --json"),
    "wget": S(optw="-O --output-document -P --directory-prefix -o --output-file -a", optr="-i --input-file",
              takes="--header -U --user-agent -t --tries -T --timeout --user --password -e", net="client",
              send="--post-file --body-file --post-data --body-data"),
    "wget2": S(optw="-O --output-document", net="client", send="--post-file --post-data"),
    "fetch": S(optw="-o", net="client"), "aria2c": S(optw="-o --out -d --dir", net="client"),
    "http": S(net="client"), "https": S(net="client"), "xh": S(net="client"), "httpie": S(net="client"),
    "curlie": S(net="client"), "lwp-request": S(net="client"), "lynx": S(net="client"), "w3m": S(net="client"),
    "ftp": S(net="client"), "tftp": S(net="client"), "lftp": S(net="client"), "smbclient": S(net="client"),
    "nc": S(net="stream", takes="-p -s -w -q -i -x -X"), "socat": S(net="stream"), "telnet": S(net="stream"),
    "openssl": S(optr="-in", optw="-out", net=""), "cryptcat": S(net="stream"), "rcat": S(net="stream"),
    "ssh": S(net="client", takes="-b -c -D -E -e -F -I -i -J -L -l -m -O -o -p -Q -R -S -W -w -B"),
    "mail": S(net="client", takes="-s -a -c -b -r"), "mailx": S(net="client", takes="-s -a -c -b -r"),
    "sendmail": S(net="client"), "mutt": S(net="client", takes="-s -a -c -b"),
    "rclone": S(net="client", reads="rest"), "s3cmd": S(net="client", reads="rest"),
    "dig": S(net="dns"), "nslookup": S(net="dns"), "host": S(net="dns"), "drill": S(net="dns"),
    "ping": S(net="dns", takes="-c -i -s -W -w -p -t -I"), "ping6": S(net="dns"), "traceroute": S(net="dns"),
    "whois": S(net="dns"), "getent": S(),
})

#: programs that take a host name and so can carry data in DNS queries
NET_DNS = frozenset(n for n, s in IO.items() if s.net == "dns")
#: mentioning a credential path with these is not reading it (metadata, permissions, keys)
EXEMPT_READ = frozenset({
    "ls", "stat", "file", "chmod", "chown", "chgrp", "test", "[", "[[", "ssh", "ssh-add", "ssh-keygen", "ssh-copy-id",
    "ssh-keyscan", "mkdir", "touch", "echo", "printf", "realpath", "basename", "dirname", "readlink", "which", "du",
    "cd", "pushd", "export", "declare", "local", "rm", "shred", "unlink", "find", "fd", "git", "tree", "sftp",
    "mkdir", "install", "setfacl", "getfacl", "lsattr", "chattr", "exa", "eza", "lsd", "vim", "vi", "nvim", "nano",
    "emacs", "code", "subl", "open", "ed", "ex",
})
SHELL_NAMES = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "csh", "tcsh", "yash",
                         "powershell", "pwsh", "cmd"})
#: database clients -> options whose value is a statement (first positional SQL for sqlite3/duckdb)
DB_CLIENTS: dict[str, tuple[str, ...]] = {
    "psql": ("-c", "--command"), "mysql": ("-e", "--execute"), "mariadb": ("-e", "--execute"),
    "sqlite3": ("@2",), "duckdb": ("-c", "@2"), "sqlcmd": ("-Q", "-q"), "osql": ("-Q", "-q"),
    "cqlsh": ("-e", "--execute"), "mongosh": ("--eval",), "mongo": ("--eval",), "redis-cli": ("@*",),
    "clickhouse-client": ("-q", "--query"), "cockroach": ("-e", "--execute"), "snowsql": ("-q", "--query"),
    "bq": ("@*",), "influx": ("-execute",), "valkey-cli": ("@*",), "keydb-cli": ("@*",),
    "mysqladmin": ("@*",), "dropdb": ("@dropdb",), "dropuser": ("@dropdb",),
}

#: ``push [opts] REMOTE BRANCH [opts]`` where BRANCH is one plain branch that is not shared (main, release...)
_OWN_BRANCH = (r"(?:\s+-\S+)*\s+\w[\w.-]*\s+(?!(?:main|master|trunk|develop|dev|default|stable|head|gh-pages|"
               r"release|prod|production|staging|live)\b)\w[\w-]*/?[\w.-]+(?:\s+-\S+)*\s*$")

# ACTIONS: program -> [(regex over " ".join(args) lowered, effect, what)]; effects are judged in rules.py.
ACTIONS: dict[str, list[tuple[str, str, str]]] = {
    "git": [
        # a force push names one branch that is not a shared one -> a warning (rewriting one's own feature branch)
        (r"^push\b(?!" + _OWN_BRANCH + r").*(?:\s--force(?!-with-lease)(?:\s|$)|\s-f\b|\s-[a-z]*f[a-z]*\s)", "vcs.force_push",
         "force-pushes over remote history"),
        (r"^push\b(?=" + _OWN_BRANCH + r").*(?:\s--force(?!-with-lease)(?:\s|$)|\s-f\b|\s-[a-z]*f[a-z]*\s)",
         "vcs.force_push_lease", "force-pushes over the history of a feature branch"),
        (r"^push\b.*\s\+[\w/.-]+", "vcs.force_push", "force-pushes with a '+' refspec"),
        (r"^push\b.*\s--force-with-lease\b.*\b(?:main|master|trunk|release|prod\w*)\b", "vcs.force_push_lease", "force-pushes to a protected branch"),
        (r"^push\b.*\s(?:--delete|-d)\s", "vcs.remote_delete", "deletes a remote branch or tag"),
        (r"^push\b.*\s:[\w/.-]+", "vcs.remote_delete", "deletes a remote ref with an empty source"),
        (r"^push\b.*\s--mirror\b", "vcs.force_push", "mirror-push overwrites every remote ref"),
        (r"^push\b.*\s--prune\b", "vcs.remote_delete", "deletes every remote branch missing locally"),
        (r"^push\b.*\s--(?:all|tags)\b.*|^remote add\b.*\d+\.\d+\.\d+\.\d+", "vcs.push_all", "pushes the repository to a remote"),
        (r"^filter-(?:branch|repo)\b", "vcs.rewrite", "rewrites the repository history"),
        (r"^reflog\s+(?:expire|delete)\b", "vcs.rewrite", "destroys reflog recovery points"),
        (r"^gc\b.*--prune=(?:now|all)", "vcs.rewrite", "prunes unreachable commits immediately"),
        (r"^update-ref\s+-d\b", "vcs.rewrite", "deletes a ref"),
        (r"^(?:reset\b.*\s--hard|checkout\s+(?:--\s+)?\.$|checkout\s+-f\b|restore\s+(?:-\S+\s+)*\.$|stash\s+clear)", "vcs.discard", "discards uncommitted work"),
        (r"^clean\b(?!.*\s(?:-n|--dry-run)\b)(?=.*\s(?:-[a-z]*f|--force\b))(?=.*\s-[a-z]*[xd])|^clean\s+-ff",
         "vcs.discard", "deletes untracked files"),
        (r"^branch\s+(?:-d|--delete)\b.*\b(?:main|master|trunk)\b", "vcs.discard", "deletes the main branch"),
        (r"^config\b.*--(?:global|system)\b.*\bcore\.hookspath\b", "persist.hooks", "points every repository's hooks at another folder"),
        (r"^config\b.*\bcore\.hookspath\s+['\"]?(?:/|~|\$home|\.\./)", "persist.hooks",
         "points git hooks at a folder outside the repository"),
        (r"^config\b.*\b(?:core\.hookspath)\b", "agent.hooks", "points git hooks at another folder"),
        (r"^clean\b.*\s(?:~/?|/|\$home/?|\.\./\.\.)(?:\s|$)", "delete.home", "deletes every untracked file under home or root"),
        (r"^config\b.*\bhttp\.sslverify\s+false", "security.tls_off", "turns off TLS verification"),
        (r"^credential\s+fill\b", "cred.token", "prints the stored git password"),
        (r"^config\b.*\bcredential\.helper\s+['\"]?!.*(?:>|\btee\b|\bcurl\b|\bwget\b|\bnc\b)", "cred.capture",
         "installs a credential helper that copies every password it is given"),
        (r"^config\b.*\balias\.\S+\s+['\"]?!", "exec.alias", "defines a git alias that runs a shell command"),
    ],
    "gh": [(r"^repo\s+edit\b.*--visibility[= ]public|^api\b.*(?:private=false|visibility=public)", "vcs.expose",
            "makes a repository public"),
           (r"^repo\s+archive\b", "vcs.archive", "archives a repository (read-only for everyone)"),
           (r"^repo\s+delete\b", "vcs.repo_delete", "deletes a repository"),
           (r"^api\b.*-x\s*delete\b.*\brepos/", "vcs.repo_delete", "deletes a repository through the API"),
           (r"^auth\s+token\b", "cred.token", "prints the GitHub token"),
           (r"^api\b.*\buser/(?:keys|ssh_signing_keys|gpg_keys)\b.*(?:-x\s*post|\s-f\s|--field|--raw-field)|^ssh-key\s+add\b",
            "persist.ssh_key", "adds a key that logs in as the hosting account"),
           (r"^api\b.*/collaborators/\S+.*permission=(?:admin|maintain|push|write)", "cloud.iam_grant",
            "gives another account write or admin rights on a repository")],
    "glab": [(r"^repo\s+edit\b.*visibility[= ]public|^api\b.*(?:visibility=public|private=false)", "vcs.expose",
              "makes a project public")],
    "pulumi": [(r"--show-secrets\b", "cred.token", "prints decrypted stack secrets")],
    "hg": [(r"^strip\b|^push\b.*\s(?:-f|--force)\b", "vcs.rewrite", "strips or force-pushes Mercurial history")],
    "svn": [(r"^(?:delete|del|remove|rm)\b.*\b(?:https?|svn)://", "vcs.remote_delete", "deletes a path in the repository")],
    "systemctl": [
        (r"^(?:--\S+\s+)*(?:stop|disable|mask|kill)\b.*\b(?:firewalld|ufw|iptables|nftables|apparmor|auditd|selinux|fail2ban|"
         r"falcon-sensor|falcon|osqueryd|wazuh-agent|clamav\S*|crowdstrike|sentinelone|rsyslog|syslog|"
         r"systemd-journald|journald|sshguard|aide)\b", "security.service_off", "stops a security or logging service"),
        (r"^(?:--\S+\s+)*(?:stop|disable|mask)\b.*\b(?:sshd?|docker|containerd|kubelet|networkmanager|systemd-networkd)\b",
         "service.stop_critical", "stops a service the machine depends on"),
    ],
    "service": [(r"\b(?:auditd|firewalld|ufw|apparmor|rsyslog|syslog|falcon-sensor|osqueryd)\s+stop\b", "security.service_off",
                 "stops a security or logging service")],
    "find": [(r"(?:^|\s)-(?:exec|execdir|ok)\s+(?:\S*/)?(?:ba|da|z|k|c|tc)?sh\s+(?:-p\s+)?(?:;|\\;|\+)", "exec.shell",
              "spawns an interactive shell from find")],
    "curl": [(r"--unix-socket[= ]\S*(?:docker|containerd|podman|crio|cri-dockerd)\.sock", "priv.escalate",
              "talks to the container engine's API socket (root on the host)"),
             (r"-x\s*delete\b.*(?:/_all\b|/\*|:9200/[\w*,-]+/?(?:\s|$))", "db.drop", "deletes search indices over HTTP"),
             (r"-x\s*delete\b.*[?&]recurse\b|[?&]recurse\b.*-x\s*delete\b", "db.drop", "deletes a key tree over HTTP"),
             (r"-x\s*delete\b", "net.delete", "sends an HTTP DELETE")],
    "python": [(r"-m\s+http\.server\b.*(?:--directory|-d)\s+(?:~|/|\$home)/?(?:\s|$)", "net.serve_home",
                "serves the home directory or the filesystem over HTTP"),
               (r"manage\.py\s+(?:flush|reset_db|sqlflush)\b", "db.drop", "empties every table of the Django database"),
               (r"manage\.py\s+migrate\s+\w+\s+zero\b", "db.drop", "unapplies every migration of an app (drops its tables)")],
    "mysqladmin": [(r"(?:^|\s)drop\s+\w+", "db.drop", "drops a MySQL database")],
    "shred": [(r"\S", "delete.shred", "")],
    "dd": [(r"if=/dev/(?:zero|u?random)\b(?!.*\bcount=)", "resource.fill", "writes an endless stream into a file"),
           ],
    "head": [(r"-c\s*\d+(?:\.\d+)?\s*[gtp]\b|--bytes=\d+[gtp]\b", "resource.fill", "produces a huge stream")],
    "xargs": [(r"(?:^|\s)-p\s*0\b|--max-procs[= ]0\b", "resource.fork", "runs unlimited parallel processes")],
    "truncate": [(r"-s\s*\+?\d+\s*[tpe]\b|--size=\+?\d+[tpe]\b", "resource.big", "creates a huge sparse file")],
    "ufw": [(r"^(?:--force\s+)?(?:disable|reset)\b|^default\s+allow\b", "security.firewall_off", "turns the firewall off")],
    "firewall-cmd": [(r"--set-default-zone=trusted|--panic-off|--add-source=0\.0\.0\.0/0", "security.firewall_off", "trusts all traffic")],
    "pfctl": [(r"^-d\b|\s-d\b|-f\s+/dev/null", "security.firewall_off", "disables the macOS packet filter")],
    "socketfilterfw": [(r"--setglobalstate\s+off", "security.firewall_off", "turns the macOS firewall off")],
    "iptables": [(r"-a\s+output\b.*--dport\s+(?:514|6514)\b.*-j\s+drop|-j\s+drop.*--dport\s+(?:514|6514)",
                  "security.log_block", "drops remote logging traffic")],
    "setenforce": [(r"^(?:0|permissive)$", "security.mac_off", "puts SELinux in permissive mode")],
    "modprobe": [(r"^(?:-r|--remove)\b.*\b(?:apparmor|selinux|audit)", "security.mac_off", "unloads a security module"),
                 (r"^(?!-r)(?!--remove)(?!-n)(?!--dry-run)(?!-c)(?!--show)\S", "kernel.module", "loads a kernel module")],
    "insmod": [(r"\S", "kernel.module", "loads a kernel module")],
    "rmmod": [(r"\b(?:apparmor|selinux|audit)", "security.mac_off", "unloads a security module")],
    "kextload": [(r"\S", "kernel.module", "loads a kernel extension")],
    "sysctl": [(r"kernel\.(?:randomize_va_space|yama\.ptrace_scope|kptr_restrict|dmesg_restrict|modules_disabled|"
                r"unprivileged_bpf_disabled|perf_event_paranoid)\s*=\s*[0-1]\b|fs\.protected_\w+\s*=\s*0|"
                r"fs\.suid_dumpable\s*=\s*[12]", "security.kernel_weaken", "weakens a kernel hardening setting"),
               (r"(?:-w\s+|^)net\.ipv4\.ip_forward\s*=\s*1", "system.kernel", "turns on packet forwarding")],
    "clear-history": [(r"", "history.off", "clears the PowerShell history")],
    "set-netfirewallprofile": [(r"-enabled\s+(?:\$?false|0)", "security.firewall_off", "turns the Windows firewall off")],
    "psexec": [(r"\\\\", "remote.exec_admin", "runs a command on a remote Windows host")],
    "wmic": [(r"process\s+call\s+create\b.*(?:-e(?:nc|ncodedcommand)?\s|iex|invoke-expression|downloadstring|https?://)",
              "exec.download", "starts a process that runs encoded or downloaded code"),
             (r"/node:.*process\s+call\s+create|__eventfilter|__eventconsumer|commandlineeventconsumer", "remote.exec_admin",
              "creates a remote process or a WMI event subscription")],
    "ntdsutil": [(r"ifm|snapshot", "cred.hashes", "copies the Active Directory database")],
    "netsh": [(r"firewall\s+add\s+rule\b(?=.*dir=in)(?=.*action=allow)", "security.firewall_open",
               "opens an inbound port in the firewall"),
              (r"^firewall\s+set\s+opmode\s+(?:disable|mode=disable)", "security.firewall_off", "turns the firewall off"),(r"wlan\s+show\s+profile.*key=clear", "cred.wifi", "prints Wi-Fi passwords")],
    "rundll32": [(r"comsvcs(?:\.dll)?,?\s*minidump", "cred.memory", "dumps process memory (lsass)")],
    "mimikatz": [(r"", "cred.memory", "dumps credentials from memory")],
    "msiexec": [(r"(?:/i|/package)\s*https?://", "exec.remote_msi", "installs an MSI straight from a URL")],
    "install-module": [(r"", "package.install", "installs a PowerShell module")],
    "smbclient": [(r"-c\s+.*\bput\s+(?:/etc/|~|/home/|/root/)", "net.upload_sensitive", "uploads a local system or home file")],
    "install": [(r"(?:-m\s*|--mode=)(?:[2467][0-7]{3}\b|[ugoa]*[+=]\w*s)", "priv.escalate", "installs a file with the setuid bit")],
    "socat": [(r"tcp-listen:.*(?:file:|exec:|system:|pty)|(?:file:|exec:|system:).*tcp-listen:", "exec.socket",
               "binds a terminal or program to a listening socket")],
    "zmodload": [(r"zsh/net/(?:tcp|socket)", "exec.socket", "loads raw socket support into zsh")],
    "launchctl": [(r"^(?:unload|bootout|disable|remove)\b.*(?:syslog|auditd|alf|firewall|xprotect|endpointsecurity|"
                   r"com\.apple\.security|osquery|falcon|santa)", "security.service_off", "stops a macOS security or logging daemon")],
    "shopt": [(r"-[a-z]*u[a-z]*\s+history|-o[a-z]*u\s+history|-ou\s+history", "history.off", "turns history off")],
    "systemd-run": [(r"--on-(?:calendar|active|boot|startup|unit-active|unit-inactive)", "persist.schedule", "schedules a command with a timer")],
    "defaults": [(r"^write\b.*\b(?:loginhook|logouthook)\b", "persist.login", "installs a macOS login hook"),
                 (r"^write\b.*com\.apple\.(?:alf|screensaver askforpassword|security)", "security.mac_off", "weakens a macOS security setting")],
    "osascript": [(r"login item", "persist.login", "adds a login item"),
                  (r"hidden answer", "cred.phish", "shows a fake password prompt"),
                  (r"with administrator privileges", "priv.escalate", "asks for administrator rights")],
    "security": [(r"^delete-keychain\b", "delete.keychain", "deletes a keychain (its saved passwords)"),
                 (r"^find-(?:generic|internet)-password\b.*\s-[a-z]*[gw]", "cred.keychain", "reads a keychain password"),
                 (r"^(?:dump-keychain|export)\b", "cred.keychain", "exports keychain items")],
    "xattr": [(r"-[a-z]*d[a-z]*\s+com\.apple\.quarantine|-c\b", "security.quarantine_off", "removes the Gatekeeper quarantine")],
    # machine state an agent has no business changing: clock, network links and routes, boot entries, accounts
    "date": [(r"(?:^|\s)(?:-s|--set)(?:[= ]|$)", "system.state", "sets the system clock")],
    "hwclock": [(r"--set\b|--systohc|--hctosys|-w\b", "system.state", "sets the hardware clock")],
    "timedatectl": [(r"^set-(?:time|timezone|ntp)\b", "system.state", "changes the system clock")],
    "ip": [(r"^(?:-\S+\s+)*(?:link|l)\s+set\b.*\bdown\b|^(?:-\S+\s+)*(?:route|r)\s+(?:del|delete|flush)\b|"
            r"^(?:-\S+\s+)*(?:addr|a)\s+(?:del|flush)\b", "system.network", "takes a network link, address or route away")],
    "ifconfig": [(r"\s(?:down)\b", "system.network", "takes a network interface down")],
    "route": [(r"^(?:-\S+\s+)*(?:del|delete|flush)\b", "system.network", "removes network routes")],
    "nmcli": [(r"^(?:networking|radio\s+\w+)\s+off\b|^(?:con(?:nection)?|dev(?:ice)?)\s+(?:down|delete|disconnect)\b",
               "system.network", "turns networking off")],
    "grub-install": [(r"\S", "system.boot", "rewrites the boot loader")],
    "update-grub": [(r"", "system.boot", "rewrites the boot configuration")],
    "efibootmgr": [(r"(?:^|\s)(?:--delete-bootnum|--bootorder|--create|-o|-c)\b|-b\s*\S+\s+-b\b|(?:^|\s)-b$", "system.boot",
                    "changes UEFI boot entries")],
    "userdel": [(r"\S", "priv.escalate", "deletes a user account")],
    "deluser": [(r"\S", "priv.escalate", "deletes a user account")],
    "passwd": [(r"(?:^|\s)(?:-d|--delete|-l|--lock|-u|--unlock)\b", "priv.escalate", "removes, locks or unlocks a password")],
    "masscan": [(r"\S", "net.scan", "scans network ranges at high rate")],
    "zmap": [(r"\S", "net.scan", "scans network ranges at high rate")],
    "procdump": [(r"lsass", "cred.memory", "dumps lsass memory (credentials)")],
    "disable-computerrestore": [(r"", "security.av_off", "turns off system restore points")],
    "tmutil": [(r"^(?:delete|deletelocalsnapshots|thinlocalsnapshots|disable)\b", "disk.erase", "deletes Time Machine backups")],
    "dscl": [(r"\s-(?:passwd|create|delete|append|merge)\s+/(?:users|groups)/", "priv.escalate",
              "changes macOS accounts, passwords or group membership")],
    "sysadminctl": [(r"-(?:adduser|deleteuser|resetpasswordfor)\b|-admin\b", "priv.escalate", "changes macOS accounts")],
    "diskutil": [(r"^(?:erase\w*|zerodisk|randomdisk|secureerase|partitiondisk|reformat|apfs\s+delete\w*)\b",
                  "disk.erase", "erases a disk or volume")],
    "gcore": [(r"\S", "cred.memory", "dumps process memory (credentials in memory)")],
    "unshadow": [(r"\S", "cred.hashes", "combines password hashes for cracking")],
    "docker": [(r"^(?:container\s+)?rm\b.*\$\(|^system\s+prune\b.*(?:-a|--all).*(?:--volumes)|^system\s+prune\b.*--volumes.*(?:-a|--all)|"
                r"^volume\s+(?:rm|prune)\b.*(?:\$\(|-a|--all)|^(?:image\s+)?rmi\b.*\$\(",
                "cloud.mass_delete", "deletes every container, image or volume"),
               (r"^inspect\b.*\.(?:config\.)?env\b", "cred.env_dump", "prints a container's environment"),
               (r"^login\b.*(?:\s-p\s*\S|\s--password[= ]\S)", "cred.cmdline", "puts a password on the command line (history, ps)")],
    "kubectl": [(r"^(?:run|create|apply|patch|debug)\b.*(?:[\"']?privileged[\"']?\s*:\s*true|[\"']?host(?:pid|ipc|network)[\"']?\s*:\s*true|"
                 r"[\"']?hostpath[\"']?\s*:|--privileged\b|--profile[= ]sysadmin)", "priv.escalate",
                 "starts a pod with host privileges (a way out of the container onto the node)"),
                (r"^create\s+(?:cluster)?rolebinding\b.*--clusterrole[= ](?:cluster-admin|admin)\b", "cloud.iam_grant",
                 "grants cluster administrator rights"),
                (r"^exec\b.*\s--\s", "remote.exec", "runs a command inside a cluster"),
                (r"^get\s+secrets?\b.*(?:-o\s*|--output[= ])(?:yaml|json|jsonpath)", "cred.token", "prints cluster secrets")],
    "aws": [(r"^iam\s+(?:create-access-key|create-login-profile|attach-\w+-policy|put-\w+-policy|add-user-to-group|"
             r"update-assume-role-policy)\b", "cloud.iam_grant", "grants cloud permissions or mints keys"),
            (r"^s3\s+(?:cp|mv|sync)\b.*\s~?/", "net.upload_cloud", "copies local files to cloud storage")],
    "gcloud": [(r"add-iam-policy-binding\b.*roles/(?:owner|editor|iam\.\w*admin)", "cloud.iam_grant", "grants owner or editor"),
               (r"iam\s+service-accounts\s+keys\s+create\b", "cloud.iam_grant", "mints a service-account key")],
    "az": [(r"role\s+assignment\s+create\b.*\b(?:owner|contributor)\b", "cloud.iam_grant", "grants owner or contributor"),
           (r"^(?:storage\s+account|cosmosdb|redis|search\s+admin-key|cognitiveservices\s+account)\s+keys?\s+list\b|"
            r"^acr\s+credential\s+show\b|^aks\s+get-credentials\b.*--admin|^ad\s+(?:sp|app)\s+credential\s+reset\b",
            "cred.token", "prints account keys or mints a secret")],
    # macOS: boot arguments that turn off code signing; admin group membership; the privacy (TCC) database
    "nvram": [(r"boot-args\s*=|(?:^|\s)-d\s+boot-args|csr-active-config", "security.boot", "changes boot arguments")],
    "dseditgroup": [(r"-o\s+edit\b.*\s-a\s.*\b(?:admin|wheel)\b", "priv.escalate", "adds an account to the admin group")],
    "sqlite3": [(r"com\.apple\.tcc/tcc\.db\b.*\b(?:insert|update|replace|delete)\b", "security.mac_off",
                 "rewrites the macOS privacy (TCC) permissions database")],
    # phones, boards and firmware: wiping or unlocking a device, flashing boot images, reading an app's private data
    "fastboot": [(r"^(?:erase|format|-w\b|flashall|update)|^(?:flashing|oem)\s+unlock|^flash\s+(?:boot|init_boot|recovery|"
                  r"vbmeta|system|vendor|bootloader|radio|super|userdata)\b", "system.boot", "wipes, unlocks or reflashes a phone")],
    "adb": [(r"^pull\s+['\"]?/data/(?:data|user(?:_de)?)/", "cred.app_data", "copies an app's private data off the device"),
            (r"^shell\b.*\bpm\s+uninstall\b.*--user\s+0\b", "device.erase", "removes a preinstalled app")],
    "flashrom": [(r"(?:^|\s)(?:-w|--write|-e|--erase)\b", "system.boot", "rewrites the machine's firmware")],
    "esptool": [(r"\berase[_-]flash\b", "device.erase", "erases a connected device's flash")],
    # password managers and keyrings: printing a stored secret
    "pass": [(r"^(?:show|-c|--clip)\b|^[\w.@-]+(?:/[\w.@-]+)+\s*$", "cred.token", "prints a stored password")],
    "gopass": [(r"^(?:show|cat|-c)\b|^[\w.@-]+(?:/[\w.@-]+)+\s*$", "cred.token", "prints a stored password")],
    "keepassxc-cli": [(r"^(?:show|clip|export)\b", "cred.token", "prints a stored password")],
    "lpass": [(r"^(?:show|export)\b", "cred.token", "prints a stored password")],
    "secret-tool": [(r"^lookup\b", "cred.token", "prints a secret from the keyring")],
    "kwallet-query": [(r"(?:^|\s)(?:-r|--read-password)\b", "cred.token", "prints a secret from the wallet")],
    "bw": [(r"^(?:list\s+items|get\s+(?:item|notes|totp)|export)\b", "cred.token", "prints vault items")],
    # container registries: deleting images and tags
    "crane": [(r"^(?:delete|tag\s+rm)\b", "cloud.mass_delete", "deletes an image from a registry")],
    "skopeo": [(r"^delete\b", "cloud.mass_delete", "deletes an image from a registry")],
    "regctl": [(r"^(?:tag|manifest|image)\s+(?:rm|delete)\b", "cloud.mass_delete", "deletes an image from a registry")],
    "oras": [(r"^(?:manifest|blob)\s+delete\b", "cloud.mass_delete", "deletes an artifact from a registry")],
    "kickstart": [(r"-activate\b.*-access\s+-on|-privs\s+-all", "remote.exec_admin", "turns on remote desktop control of the Mac")],
    "systemsetup": [(r"-setremotelogin\s+on|-setremoteappleevents\s+on", "remote.exec", "turns on remote login")],
    "kexec": [(r"(?:^|\s)(?:-e|--exec)\b", "system.network", "jumps into another kernel (an instant reboot)")],
    "attrib": [(r"\+h\b.*\+s\b|\+s\b.*\+h\b", "fs.hide", "hides a file as a system file")],
    "chisel": [(r"^client\b.*\br:", "net.tunnel_reverse", "opens a reverse tunnel")],
    "tailscale": [(r"^funnel\b", "net.tunnel", "exposes a local port to the internet")],
    "frpc": [(r"\S", "net.tunnel", "connects a reverse proxy client")],
    "pssh": [(r"\S", "remote.exec", "runs commands on many hosts")],
    "parallel-ssh": [(r"\S", "remote.exec", "runs commands on many hosts")],
    "ssh-copy-id": [(r"\S", "persist.ssh_key", "adds a key to authorized_keys")],
    "pip": [(r"^config\s+set\b.*trusted-host", "security.tls_off", "trusts a host without TLS"),
            (r"^config\s+set\b.*\b(?:index-url|extra-index-url|find-links)\b", "pkg.registry", "points pip at another index")],
    "stress-ng": [(r"\S", "resource.stress", "loads the machine on purpose")],
    "stress": [(r"\S", "resource.stress", "loads the machine on purpose")],
    "fallocate": [(r"-l\s*(?:\d{2,}\d(?:\.\d+)?\s*g|\d+(?:\.\d+)?\s*[tpe])", "resource.fill", "allocates a huge file")],
    "vault": [(r"^(?:kv\s+get|read)\b", "cred.secret_read", "reads a secret")],
    "cmdkey": [(r"/list", "cred.secret_read", "lists stored credentials")],
    "invoke-command": [(r"-computername\b.*\b(?:remove-item|rm|del|rd|rmdir|format-volume|stop-computer|clear-disk)\b",
                        "remote.exec_admin", "deletes or wipes on a remote Windows host")],
    "stop-service": [(r"windefend|mpssvc|\bsense\b|wscsvc|eventlog|sysmon|wdnissvc|securityhealthservice",
                      "security.service_off", "stops a Windows security or logging service")],
    "set-service": [(r"(?:windefend|mpssvc|sense|wscsvc|eventlog|sysmon).*-startuptype\s+disabled|-startuptype\s+disabled.*"
                     r"(?:windefend|mpssvc|sense|wscsvc|eventlog|sysmon)", "security.service_off", "disables a security service")],
    "disable-windowsoptionalfeature": [(r"defender", "security.av_off", "removes Windows Defender")],
    "bcdedit": [(r"/set\b.*\b(?:safeboot|testsigning|nointegritychecks|recoveryenabled|bootstatuspolicy)\b",
                 "security.boot", "changes boot security settings")],
    "remove-item": [(r"historysavepath|psreadline", "history.off", "deletes the PowerShell history"),
                    (r"hklm:\\?(?:\\?(?:software|system)\b)?|registry::hkey_local_machine", "system.registry",
                     "deletes machine-wide registry keys")],
    "net": [(r"^user\s+\S+\s+/active:yes\b", "priv.escalate", "enables a disabled (administrator) account"),
            (r"^stop\s+['\"]?(?:windefend|mpssvc|sense|wscsvc|eventlog|sysmon\w*|wdnissvc|securityhealthservice)\b",
             "security.service_off", "stops a Windows security or logging service")],
    "auditpol": [(r"/(?:clear|remove)\b|/set\b.*/(?:success|failure):disable", "security.audit_off", "clears the audit policy")],
    "fsutil": [(r"^usn\s+deletejournal\b", "history.off", "deletes the NTFS change journal")],
    "clear-recyclebin": [(r"", "delete.recycle", "empties the recycle bin for good")],
    "wbadmin": [(r"^delete\s+(?:catalog|backup|systemstatebackup)\b", "disk.erase", "deletes Windows backups")],
    # coin miners: their names, or a mining-pool protocol in any argument
    "xmrig": [(r"", "resource.mine", "runs a cryptocurrency miner")], "minerd": [(r"", "resource.mine", "runs a miner")],
    "cpuminer": [(r"", "resource.mine", "runs a miner")], "ethminer": [(r"", "resource.mine", "runs a miner")],
    "t-rex": [(r"", "resource.mine", "runs a miner")], "nbminer": [(r"", "resource.mine", "runs a miner")],
    "lolminer": [(r"", "resource.mine", "runs a miner")], "xmr-stak": [(r"", "resource.mine", "runs a miner")],
    "php": [(r"^artisan\s+(?:db:wipe|migrate:(?:fresh|reset))\b", "db.drop", "drops every table of the application database")],
    "bq": [(r"^rm\b", "db.drop", "deletes a BigQuery dataset or table")],
    "sequelize": [(r"^db:drop\b", "db.drop", "drops the database")],
    "knex": [(r"^migrate:rollback\b.*--all", "db.reset", "rolls back every migration")],
    "alembic": [(r"^downgrade\s+base\b", "db.drop", "undoes every migration (drops the schema)")],
    "pg_dropcluster": [(r"\S", "db.drop", "drops a PostgreSQL cluster and its data")],
    "rails": [(r"^db:(?:drop|reset|purge|schema:load)\b", "db.drop", "drops the application database")],
    # storage stacks below the filesystem: removing a volume, pool or array loses its data
    "lvremove": [(r"^(?!.*--help)\S", "disk.erase", "removes a logical volume and its data")],
    "vgremove": [(r"^(?!.*--help)\S", "disk.erase", "removes a volume group and its volumes")],
    "pvremove": [(r"^(?!.*--help)\S", "disk.erase", "wipes a physical volume's LVM label")],
    "zpool": [(r"^(?:destroy|labelclear)\b", "disk.erase", "destroys a ZFS pool")],
    "zfs": [(r"^destroy\b", "disk.erase", "destroys ZFS datasets or snapshots")],
    "mdadm": [(r"--zero-superblock|(?:^|\s)(?:--create|-c)\s", "disk.erase", "rewrites RAID member disks")],
    "btrfs": [(r"^(?:subvolume|sub)\s+(?:delete|del)\b", "disk.erase", "deletes a btrfs subvolume")],
    "etcdctl": [(r"^del\b.*(?:--prefix|--from-key)", "db.drop", "deletes every key under a prefix")],
    # publishing to a public registry, or pointing the package manager at another one
    "npm": [(r"^config\s+set\s+strict-ssl\s+false", "security.tls_off", "turns off TLS verification"),
            (r"^(?:publish|unpublish)\b(?!.*--dry-run)", "pkg.publish", "publishes to (or removes from) the npm registry"),
            (r"^config\s+set\s+(?:@[\w-]+:)?registry\b", "pkg.registry", "points npm at another registry")],
    "yarn": [(r"^(?:npm\s+)?publish\b(?!.*--dry-run)", "pkg.publish", "publishes to the npm registry"),
             (r"^config\s+set\s+(?:npmregistryserver|registry)\b", "pkg.registry", "points yarn at another registry")],
    "pnpm": [(r"^publish\b(?!.*--dry-run)", "pkg.publish", "publishes to the npm registry")],
    "twine": [(r"^upload\b", "pkg.publish", "uploads packages to PyPI")],
    "cargo": [(r"^(?:publish|yank)\b(?!.*--dry-run)", "pkg.publish", "publishes to crates.io")],
    "gem": [(r"^(?:push|yank)\b", "pkg.publish", "publishes to RubyGems")],
    "poetry": [(r"^publish\b(?!.*--dry-run)", "pkg.publish", "publishes to PyPI")],
    "uv": [(r"^publish\b(?!.*--dry-run)", "pkg.publish", "publishes to PyPI")],
    "tcpdump": [(r"(?:^|\s)-[a-z]*w\s*\S", "net.capture", "records network traffic (passwords and tokens in it) to a file")],
    "tshark": [(r"(?:^|\s)-w\s*\S", "net.capture", "records network traffic to a file")],
    "mount": [(r"(?:^|\s)/dev/(?:sd|nvme|vd|xvd|hd|mmcblk|disk|mapper/)\S*", "disk.mount", "mounts a disk device (host data)")],
    "rake": [(r"^db:(?:drop|reset|purge)\b", "db.drop", "drops the application database")],
    "prisma": [(r"^migrate\s+reset\b", "db.reset", "resets the database")],
}
ACTIONS["ip6tables"] = ACTIONS["iptables"]
ACTIONS.update({k: ACTIONS.get(k, []) + v for k, v in OPS_ACTIONS.items()})
ACTIONS["esptool.py"] = ACTIONS["esptool"]
for _b in ("google-chrome", "google-chrome-stable", "chromium", "chromium-browser", "chrome", "msedge", "brave-browser"):
    ACTIONS[_b] = [(r"--remote-debugging-(?:port|pipe)\b(?=.*--user-data-dir[= ]['\"]?(?:~|\$home|/home/|/users/)\S*"
                    r"(?:google-chrome|chromium|chrome|edge|brave))|--user-data-dir[= ]['\"]?(?:~|\$home|/home/|/users/)\S*"
                    r"(?:google-chrome|chromium|chrome|edge|brave)\S*\s.*--remote-debugging-(?:port|pipe)\b",
                    "cred.browser", "opens the logged-in browser profile to remote control (cookies, sessions)")]
ACTIONS["podman"] = ACTIONS["nerdctl"] = ACTIONS["docker"]
ACTIONS["oc"] = ACTIONS["kubectl"]
ACTIONS["tofu"] = ACTIONS.get("terraform", [])
