"""``teragent mcp ...``: ``serve`` (TerAgent's guarded tools as an MCP server) and
``tools`` (what the configured ``[mcp.servers.NAME]`` offer, with the safety level each
tool gets)."""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["args_mcp", "cmd_mcp"]


def args_mcp(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="mcp_command", metavar="SUBCOMMAND")
    s = sub.add_parser("serve", help="expose the installed tools over MCP (stdio or "
                                     "streamable HTTP), through TerAgent's guards")
    s.add_argument("--transport", choices=("stdio", "http"), default="stdio",
                   help="stdio (default; for clients that start the server) or http "
                        "(streamable HTTP)")
    s.add_argument("--host", default="127.0.0.1", help="HTTP: address to bind "
                   "(default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8931, help="HTTP: port (default 8931; 0 "
                   "picks a free one and prints it)")
    s.add_argument("--path", default="/mcp", help="HTTP: endpoint path (default /mcp)")
    s.add_argument("--allow-remote", action="store_true", help="HTTP: allow binding a "
                   "non-loopback address (the server has no authentication of its own)")
    s.add_argument("--workspace", default=None, help="directory the tools work in "
                   "(default: the current one)")
    s.add_argument("--tools", default=None, help="comma-separated tool names to expose "
                   "(default: [tools] in agent.toml, else every tool the guards may allow)")
    s.add_argument("--all-tools", action="store_true", help="also list tools the guards "
                   "will refuse")
    s.add_argument("--allow-writes", action="store_true", help="allow tools that write files")
    s.add_argument("--allow-shell", action="store_true", help="allow shell commands "
                   "(still checked by the command checks)")
    s.add_argument("--allow-destructive", action="store_true",
                   help="allow destructive tools")
    t = sub.add_parser("tools", help="list the tools of the [mcp.servers] in agent.toml")
    t.add_argument("server", nargs="?", default=None, help="only this server")
    t.add_argument("--json", action="store_true", help="print JSON")


def cmd_mcp(args: argparse.Namespace) -> int:
    if getattr(args, "mcp_command", None) == "serve":
        return _serve(args)
    if getattr(args, "mcp_command", None) == "tools":
        return _tools(args)
    print("usage: teragent mcp {serve,tools} ...  (teragent mcp serve --help)",
          file=sys.stderr)
    return 2


def _serve(args: argparse.Namespace) -> int:
    import anyio

    if args.transport == "http":
        _check_host(args)
    from teragent_mcp.server import build_server

    names = [n.strip() for n in args.tools.split(",") if n.strip()] if args.tools else None
    flags = {k: True for k in ("allow_writes", "allow_shell", "allow_destructive")
             if getattr(args, k)}
    server = build_server(None, workspace=args.workspace, tool_names=names,
                          offer_all_tools=args.all_tools, **flags)
    if args.transport == "stdio":
        anyio.run(server.serve_stdio)
        return 0
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(128)  # connections queue from now on: the printed address is usable
    port = sock.getsockname()[1]
    print(f"teragent mcp: serving {len(server.tools)} tools on "
          f"http://{args.host if ':' not in args.host else '[' + args.host + ']'}:{port}"
          f"{args.path}", file=sys.stderr, flush=True)
    app = server.http_app(host=args.host, path=args.path)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def _tools(args: argparse.Namespace) -> int:
    from teragent.config.loader import load_full_config
    from teragent.errors import UserError

    from teragent_mcp.config import MCPConfig
    from teragent_mcp.toolset import MCPToolset

    cfg = MCPConfig(**(load_full_config().get("mcp") or {}))
    servers = {n: c for n, c in cfg.servers.items()
               if args.server is None or n == args.server}
    if args.server is not None and not servers:
        raise UserError(f"no [mcp.servers.{args.server}] in agent.toml (have: "
                        f"{', '.join(cfg.servers) or 'none'})")
    rows = []
    for name, scfg in servers.items():
        for tool in MCPToolset(name, scfg).get_tools():
            rows.append({"server": name, "tool": tool.name, "safety": tool.safety.value,
                         "description": tool.description})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['server']:<12} {r['tool']:<36} {r['safety']}")
    return 0


def _check_host(args: argparse.Namespace) -> None:
    import ipaddress

    from teragent.errors import UserError

    try:
        loopback = args.host == "localhost" or ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not args.allow_remote:
        raise UserError(f"--host {args.host} is not a loopback address, and the MCP server "
                        "has no authentication: anyone who reaches it runs your tools. Put "
                        "it behind an authenticating proxy and pass --allow-remote, or keep "
                        "the default 127.0.0.1.")
