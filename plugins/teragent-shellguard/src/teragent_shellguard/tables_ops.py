"""Action table for the command-line tools of data-holding services: message brokers, object
stores, backup repositories, secret stores, schedulers. Same shape as ``tables.ACTIONS``
(program -> [(regex over the lowered arguments, effect, what)]); merged into it."""

from __future__ import annotations

__all__ = ["OPS_ACTIONS", "DOWN_DATA"]

#: retention options given, and every one of them keeps nothing (``--keep-last 0``, ``--keep-within 0d``)
_KEEP_NOTHING = r"(?=.*--keep-)(?!.*--keep-[\w-]+[= ](?!0+[a-z]*(?:\s|$))\S)"
_OBJ_MASS = r"(?:\s|^)(?:-r|--recursive|--force|-f)\b"

#: ``compose down`` is a stop; ``-v``/``--volumes`` also deletes the named volumes, ``--rmi all`` every image it used
#: (group 1: the data flag; the unknown-CLI rule reads ``down`` of any program with it)
DOWN_DATA = r"down(?:\s.*)?\s(-v|--volumes?|--rmi[= ]all)(?:\s|$)"

OPS_ACTIONS: dict[str, list[tuple[str, str, str]]] = {
    "docker": [(r"(?:^|\s)compose\s(?:.*\s)?" + DOWN_DATA, "delete.volumes", "stops the services and deletes their data")],
    "docker-compose": [(r"(?:^|\s)" + DOWN_DATA, "delete.volumes", "stops the services and deletes their data")],
    # message brokers: a topic, queue, vhost or stream holds messages nobody else has
    "kafka-topics": [(r"(?:^|\s)--delete\b", "db.drop", "deletes a topic and its messages")],
    "kafka-delete-records": [(r"\S", "db.drop", "deletes records from topics")],
    "kafka-consumer-groups": [(r"--reset-offsets\b.*--execute|--execute\b.*--reset-offsets|(?:^|\s)--delete\b", "db.reset",
                               "rewinds or deletes consumer positions")],
    "kafka-configs": [(r"--alter\b.*retention\.ms=\d{1,4}\b", "db.drop", "shrinks retention so the broker drops messages")],
    # object stores: a recursive or forced delete empties a bucket; one object warns
    "mc": [(r"^(?:rm|rb)\b" + r"(?=.*" + _OBJ_MASS + r")|^admin\s+bucket\s+remove\b", "cloud.mass_delete",
            "deletes a bucket or every object under a prefix"),
           (r"^rm\b", "net.delete", "deletes an object")],
    "s3cmd": [(r"^(?:del|rm|rb)\b(?=.*" + _OBJ_MASS + r")", "cloud.mass_delete", "deletes a bucket or every object"),
              (r"^(?:del|rm)\b", "net.delete", "deletes an object")],
    "rclone": [(r"^(?:purge|rmdirs)\b|^delete\b\s+\S+:\S*/?\s*$|^delete\b.*--rmdirs\b", "cloud.mass_delete",
                "deletes a remote path and everything under it"),
               (r"^(?:delete|deletefile)\b|^sync\b", "net.delete", "deletes remote files")],
    # backup repositories: removing snapshots removes the way back
    "restic": [(r"(?:^|\s)forget\b" + _KEEP_NOTHING, "disk.erase", "deletes every snapshot"),
               (r"(?:^|\s)forget\b(?!.*--dry-run)|(?:^|\s)prune\b", "db.reset", "deletes snapshots")],
    "borg": [(r"^prune\b" + _KEEP_NOTHING, "disk.erase", "deletes every archive"),
             (r"^(?:prune|compact)\b(?!.*--dry-run)", "db.reset", "deletes archives")],
    "kopia": [(r"^snapshot\s+delete\b|^repository\s+(?:delete|disconnect)\b", "disk.erase", "deletes backups")],
    # secret stores and service catalogues
    "vault": [(r"^kv\s+(?:destroy|metadata\s+delete)\b|^secrets\s+disable\b|^operator\s+(?:seal|raft\s+remove-peer)\b",
               "db.drop", "destroys stored secrets or takes the secret store down"),
              (r"^token\s+create\b.*-policy[= ]root\b|^operator\s+generate-root\b", "cloud.iam_grant", "mints a root token"),
              (r"^kv\s+delete\b|^delete\b", "net.delete", "deletes a secret (recoverable until destroyed)")],
    "consul": [(r"^kv\s+delete\b.*-recurse\b|^snapshot\s+restore\b", "db.drop", "deletes a key tree"),
               (r"^kv\s+delete\b", "net.delete", "deletes a key")],
    "nomad": [(r"^job\s+stop\b.*-purge\b|^(?:namespace|volume)\s+delete\b", "cloud.mass_delete", "stops and purges a job"),
              (r"^system\s+gc\b|^job\s+stop\b", "remote.exec", "stops jobs or collects their state")],
    # alerting, metrics and logs: silencing every alert, deleting series over the admin API
    "amtool": [(r"^silence\s+(?:add|import)\b.*=~\s*['\"]?\.[+*]['\"]?(?:\s|$)", "security.alerts_off", "silences every alert"),
               (r"^silence\s+(?:add|import)\b", "security.log_block", "silences alerts")],
    "curl": [(r"/api/v1/admin/tsdb/(?:delete_series|clean_tombstones)|/loki/api/v1/delete\b", "db.drop",
              "deletes stored metrics or logs")],
    # identity providers and directory accounts: admin roles, deleted realms, other people's passwords
    "kcadm": [(r"^delete\s+realms/", "db.drop", "deletes a realm and every account in it"),
              (r"^add-roles\b.*--rolename[= ](?:admin|realm-admin|manage-\w+)\b", "cloud.iam_grant", "grants an admin role")],
    "az": [(r"^ad\s+user\s+update\b.*--password\b", "priv.escalate", "sets another account's password")],
    "aws": [(r"^iam\s+update-login-profile\b", "priv.escalate", "sets another account's console password")],
    "gcloud": [(r"^identity\s+groups\s+memberships\s+add\b.*--group-email[= ]\S*admin", "cloud.iam_grant",
                "adds a member to an admin group")],
    # machines below the OS: power and the management controller's accounts
    "ipmitool": [(r"\b(?:chassis\s+)?power\s+(?:off|cycle|reset|soft)\b|\bmc\s+reset\b", "system.power",
                  "powers off or resets a server"),
                 (r"\buser\s+(?:set\s+password|enable|priv)\b", "priv.escalate", "changes a management controller account")],
    "racadm": [(r"serveraction\s+(?:powerdown|powercycle|hardreset|graceshutdown)\b|\bracreset\b", "system.power",
                "powers off or resets a server")],
    # links and routing: an interface that drops everything, routing removed, a VPN taken down
    "tc": [(r"\bnetem\b.*\bloss\s+(?:[5-9]\d|100)(?:\.\d+)?%", "system.network", "drops most or all packets")],
    "ip": [(r"link\s+set\b.*\bmtu\s+[1-5]?\d{1,2}\b", "system.network", "sets an MTU too small to carry traffic")],
    "vtysh": [(r"\bno\s+router\b|\bclear\s+ip\s+bgp\s+\*|\binterface\b.*\bshutdown\b", "system.network",
               "removes routing or shuts interfaces on a router")],
    "wg-quick": [(r"^down\b", "service.stop_critical", "takes a VPN tunnel down")],
    "ethtool": [(r"^(?:-s|--change)\b", "service.stop_critical", "changes a network link's speed or negotiation")],
    # editor extensions and artifact signing: code from elsewhere, signatures published in your name
    "code": [(r"--install-extension\b", "package.install", "installs an editor extension")],
    "cosign": [(r"^(?:sign|attest)\b(?!.*--dry-run)", "pkg.publish", "signs an artifact and publishes the signature")],
}
for _n in ("codium", "cursor", "code-insiders"):
    OPS_ACTIONS[_n] = OPS_ACTIONS["code"]
OPS_ACTIONS["kcadm.sh"] = OPS_ACTIONS["kcadm"]
for _n in ("kafka-topics", "kafka-delete-records", "kafka-consumer-groups", "kafka-configs"):
    OPS_ACTIONS[_n + ".sh"] = OPS_ACTIONS[_n]
