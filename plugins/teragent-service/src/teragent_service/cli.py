"""``teragent serve``: run the agent service with uvicorn."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from teragent.errors import UserError

__all__ = ["cmd_serve", "args_serve", "settings_from_args"]


def args_serve(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="Interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="Port (default 8000)")
    parser.add_argument("--workspace-root", default="./service-workspaces",
                        help="Folder under which each user's conversations get a workspace")
    parser.add_argument("--database-url", default=None,
                        help="sqlite:///PATH.db (default: service.db in the workspace root)")
    parser.add_argument("--tokens-file", default=None,
                        help="File of 'user:token' lines (default: $TERAGENT_SERVICE_TOKENS)")
    parser.add_argument("--open", action="store_true",
                        help="No tokens: one local user (only for a service on 127.0.0.1)")
    parser.add_argument("-m", "--model", default=None,
                        help="Model for every conversation (default: agent.toml, else the "
                             "local model)")
    parser.add_argument("--allow-shell", action="store_true",
                        help="Conversations without approval may run shell commands")
    parser.add_argument("--approval-timeout", type=float, default=300.0,
                        help="Seconds before an unanswered approval is denied (default 300)")
    parser.add_argument("--max-upload-mb", type=float, default=10.0,
                        help="Per-file upload limit in MB (default 10)")
    parser.add_argument("--skills-dir", default=None, help="Folder of SKILL.md skills")


def settings_from_args(args: argparse.Namespace) -> "object":
    from teragent.config.loader import load_full_config

    from teragent_service.settings import TOKENS_ENV, ServiceSettings, database_path, \
        parse_tokens

    root = Path(args.workspace_root)
    tokens: dict[str, str] = {}
    if args.tokens_file:
        path = Path(args.tokens_file)
        if not path.is_file():
            raise UserError(f"--tokens-file {path}: no such file; write one 'user:token' "
                            "line per user.")
        tokens = parse_tokens(path.read_text(encoding="utf-8"), where=str(path))
    elif os.environ.get(TOKENS_ENV):
        tokens = parse_tokens(os.environ[TOKENS_ENV])
    if args.open and args.host not in ("127.0.0.1", "localhost", "::1"):
        raise UserError("--open serves everyone as one user; bind it to 127.0.0.1 or give "
                        f"tokens ({TOKENS_ENV} or --tokens-file) instead.")
    db = database_path(args.database_url) if args.database_url else root / "service.db"
    return ServiceSettings(
        workspace_root=root, database=db, tokens=tokens, open_access=bool(args.open),
        model=args.model, config=load_full_config(), allow_shell=args.allow_shell,
        approval_timeout=args.approval_timeout,
        max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
        skills_dir=Path(args.skills_dir) if args.skills_dir else None)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from teragent_service.app import create_app

    settings = settings_from_args(args)
    app = create_app(settings)  # type: ignore[arg-type]
    print(f"TerAgent service on http://{args.host}:{args.port}/ (workspaces in "
          f"{Path(args.workspace_root).resolve()})", flush=True)
    # No access log: request lines are noise here, and the UI's WebSocket path is logged
    # by the service itself when something fails.
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="info")
    return 0
