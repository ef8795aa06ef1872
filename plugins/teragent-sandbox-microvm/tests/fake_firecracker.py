"""A fake ``firecracker`` executable: the real API wire protocol, no virtual machine.

The tests copy this file as ``firecracker`` (with a ``#!`` line for this interpreter)
into a directory put first on ``PATH``. It is started the way the backend starts the
real binary (``firecracker --api-sock PATH``) and:

* serves HTTP/1.1 on that unix socket, with the paths, methods, bodies and status codes
  of Firecracker's OpenAPI spec (``src/firecracker/swagger/firecracker.yaml`` at commit
  004d935399ba6062240af269638635d54229f5bf): ``204`` with no body on success, ``400``
  with ``{"fault_message": ...}`` on a bad request (unknown path or method, malformed
  JSON, a missing required field, an unknown field, a wrong type or enum value, a
  missing host file, configuration after start);
* appends every request to ``requests.jsonl`` beside itself;
* on ``InstanceStart`` acts out the guest according to ``fake_firecracker.json`` beside
  itself (``mode``): ``ok`` reads the command and nonce from the control drive and edits
  the workspace drive with ``debugfs`` (like the guest's command would), prints the
  console markers with a canned result (``\\r\\n`` line ends and a kernel log line in the
  middle, like a serial console), and exits (as ``reboot -f`` makes Firecracker exit);
  ``hang`` prints boot noise and never finishes. ``early_exit`` fails before the socket
  exists; ``fault`` names a path answered with a 400.
"""

from __future__ import annotations

import base64
import json
import os
import socketserver
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "fake_firecracker.json")) as _fh:
    CONFIG = json.load(_fh)

# Schema fragments copied from the spec's definitions: (required, properties -> type).
STR, INT, BOOL, OBJ = "string", "integer", "boolean", "object"
SCHEMAS = {
    "MachineConfiguration": ({"vcpu_count", "mem_size_mib"}, {
        "cpu_template": STR, "smt": BOOL, "mem_size_mib": INT, "track_dirty_pages": BOOL,
        "vcpu_count": INT, "huge_pages": STR}),
    "BootSource": ({"kernel_image_path"}, {
        "boot_args": STR, "initrd_path": STR, "kernel_image_path": STR}),
    "Drive": ({"drive_id", "is_root_device"}, {
        "drive_id": STR, "partuuid": STR, "is_root_device": BOOL, "cache_type": STR,
        "is_read_only": BOOL, "path_on_host": STR, "rate_limiter": OBJ, "io_engine": STR,
        "socket": STR}),
    "Logger": (set(), {"level": STR, "log_path": STR, "show_level": BOOL,
                       "show_log_origin": BOOL, "module": STR}),
    "Metrics": ({"metrics_path"}, {"metrics_path": STR}),
    "InstanceActionInfo": ({"action_type"}, {"action_type": STR}),
}
ENUMS = {("InstanceActionInfo", "action_type"): {"FlushMetrics", "InstanceStart",
                                                 "SendCtrlAltDel"},
         ("Logger", "level"): {"Error", "Warning", "Info", "Debug", "Trace", "Off"},
         ("Drive", "cache_type"): {"Unsafe", "Writeback"},
         ("Drive", "io_engine"): {"Sync", "Async"}}
PRE_BOOT_ONLY = {"/machine-config", "/boot-source", "/logger", "/metrics"}

state: dict = {"started": False, "drives": {}, "boot": None}


class Fault(Exception):
    pass


def check(schema: str, body: object) -> dict:
    if not isinstance(body, dict):
        raise Fault(f"An error occurred when deserializing the json body of a request: "
                    f"expected a {schema} object.")
    required, props = SCHEMAS[schema]
    for name in sorted(required - body.keys()):
        raise Fault(f"An error occurred when deserializing the json body of a request: "
                    f"missing field `{name}`.")
    for name, value in body.items():
        if name not in props:
            raise Fault(f"An error occurred when deserializing the json body of a request: "
                        f"unknown field `{name}`.")
        kind = props[name]
        ok = {STR: isinstance(value, str), BOOL: isinstance(value, bool),
              INT: isinstance(value, int) and not isinstance(value, bool),
              OBJ: isinstance(value, dict)}[kind]
        if not ok:
            raise Fault(f"An error occurred when deserializing the json body of a request: "
                        f"invalid type for `{name}`, expected {kind}.")
        allowed = ENUMS.get((schema, name))
        if allowed and value not in allowed:
            raise Fault(f"An error occurred when deserializing the json body of a request: "
                        f"unknown variant `{value}` for `{name}`.")
    return body


def debugfs(image: str, *commands: str, write: bool = False) -> str:
    args = ["debugfs"] + (["-w"] if write else [])
    out = ""
    for command in commands:
        out = subprocess.run(args + ["-R", command, image], capture_output=True, text=True,
                             check=True).stdout
    return out


def act_out_guest() -> None:
    """What the guest would print on the console, in ``mode``."""
    mode = CONFIG.get("mode", "ok")
    out = sys.stdout
    out.write("[    0.000000] Linux version 6.1.0 (fake)\r\n")
    out.flush()
    if mode == "hang":
        return
    ctl = state["drives"]["control"]["path_on_host"]
    ws = state["drives"]["workspace"]["path_on_host"]
    nonce = debugfs(ctl, "cat /nonce").strip()
    cmd = debugfs(ctl, "cat /cmd")
    env = debugfs(ctl, "cat /env")
    # The "command" edits the workspace: a new file, a new directory, a deletion.
    made = os.path.join(HERE, "made.txt")
    with open(made, "w") as fh:
        fh.write("written in the guest\n")
    for command in CONFIG.get("debugfs", []):
        debugfs(ws, command.replace("{made}", made), write=True)
    text = CONFIG.get("output", "ran: {cmd}\n").format(cmd=cmd, env=env)
    data = text.encode()
    encoded = base64.encodebytes(data).decode().splitlines()
    lines = [f"TERAGENT-FC {nonce} BEGIN {len(data)}"] + encoded[:1]
    lines.append("[    1.234567] random: crng init done")
    lines += encoded[1:] + [f"TERAGENT-FC {nonce} RC {CONFIG.get('rc', 0)}",
                            f"TERAGENT-FC {nonce} END", "reboot: Restarting system"]
    out.write("".join(line + "\r\n" for line in lines))
    out.flush()
    os._exit(0)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # no stderr noise on the console
        pass

    def reply(self, status: int, body: dict | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def do_GET(self) -> None:
        if self.path == "/":
            self.reply(200, {"app_name": "Firecracker", "id": "anonymous-instance",
                             "state": "Running" if state["started"] else "Not started",
                             "vmm_version": "1.17.0-dev (fake)"})
        else:
            self.reply(400, {"fault_message": f"Invalid request method and/or path: GET "
                                              f"{self.path}."})

    def do_PATCH(self) -> None:
        self.reply(400, {"fault_message": f"Invalid request method and/or path: PATCH "
                                          f"{self.path}."})

    def do_PUT(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        start = False
        try:
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                raise Fault("An error occurred when deserializing the json body of a "
                            "request: invalid JSON.") from None
            with open(os.path.join(HERE, "requests.jsonl"), "a") as fh:
                fh.write(json.dumps({"method": "PUT", "path": self.path, "body": body,
                                     "content_type": self.headers.get("Content-Type")})
                         + "\n")
            if CONFIG.get("fault") == self.path:
                raise Fault(CONFIG.get("fault_message", "Injected fault."))
            start = self.handle_put(self.path, body)
        except Fault as exc:
            self.reply(400, {"fault_message": str(exc)})
            return
        self.reply(204)
        if start:
            threading.Thread(target=act_out_guest, daemon=True).start()

    def handle_put(self, path: str, body: object) -> bool:
        if state["started"] and (path in PRE_BOOT_ONLY or path.startswith("/drives/")):
            raise Fault("The requested operation is not supported after starting the "
                        "microVM.")
        if path == "/machine-config":
            b = check("MachineConfiguration", body)
            if not 1 <= b["vcpu_count"] <= 32:
                raise Fault("The vCPU number is invalid: it must be 1 or an even number "
                            "between 2 and 32.")
        elif path == "/boot-source":
            b = check("BootSource", body)
            if not os.path.isfile(b["kernel_image_path"]):
                raise Fault("Invalid kernel path: No such file or directory (os error 2)")
            state["boot"] = b
        elif path.startswith("/drives/"):
            b = check("Drive", body)
            if b["drive_id"] != path[len("/drives/"):]:
                raise Fault("The id from the path does not match the id from the body!")
            if "socket" not in b and "path_on_host" not in b:
                raise Fault("Unable to create the block device: missing path_on_host.")
            if "path_on_host" in b and not os.path.isfile(b["path_on_host"]):
                raise Fault("Unable to create the block device: No such file or directory "
                            "(os error 2)")
            if b["is_root_device"] and any(d["is_root_device"] for i, d in
                                           state["drives"].items() if i != b["drive_id"]):
                raise Fault("A root block device already exists!")
            state["drives"][b["drive_id"]] = b
        elif path == "/logger":
            check("Logger", body)
        elif path == "/metrics":
            check("Metrics", body)
        elif path == "/actions":
            b = check("InstanceActionInfo", body)
            if b["action_type"] == "InstanceStart":
                if state["started"]:
                    raise Fault("The microVM is already running.")
                if state["boot"] is None:
                    raise Fault("Cannot start microvm without kernel configuration.")
                state["started"] = True
                return True
        else:
            raise Fault(f"Invalid request method and/or path: PUT {path}.")
        return False


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main() -> None:
    args = sys.argv[1:]
    sock = args[args.index("--api-sock") + 1]
    with open(os.path.join(HERE, "pid"), "w") as fh:
        fh.write(str(os.getpid()))
    if CONFIG.get("mode") == "early_exit":
        print("Error: Kvm(Error opening /dev/kvm: Permission denied (os error 13))",
              flush=True)
        sys.exit(1)
    with Server(sock, Handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
