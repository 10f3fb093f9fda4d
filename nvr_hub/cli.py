"""The `nvr-hub` command: serve, db, user and config subcommands."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import signal
import sys
from collections.abc import Sequence

from aiohttp import web

from nvr_hub import __version__, keys
from nvr_hub.config import Config, load_config
from nvr_hub.errors import NvrHubError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nvr-hub", description="Network video recorder hub")
    parser.add_argument("--version", action="version", version=f"nvr-hub {__version__}")
    parser.add_argument("--config", help="YAML config file (default: $NVR_HUB_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the hub")
    serve.add_argument("--host", help="listen address (overrides server.host)")
    serve.add_argument("--port", type=int, help="listen port (overrides server.port)")

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_cmd", required=True)
    db.add_parser("upgrade", help="upgrade the database to the newest schema")
    db.add_parser("current", help="show the schema revision of the database")

    user = sub.add_parser("user", help="accounts").add_subparsers(dest="user_cmd", required=True)
    add = user.add_parser("add", help="create a user (password read from a prompt or stdin)")
    add.add_argument("username")
    add.add_argument("--role", default="user", choices=("admin", "user", "viewer", "api"))
    add.add_argument("--email", default="")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    passwd = user.add_parser("passwd", help="set a user's password")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true")
    user.add_parser("list", help="list users")

    cfg = sub.add_parser("config", help="configuration")
    cfg.add_subparsers(dest="config_cmd", required=True).add_parser(
        "check", help="validate the config file and environment"
    )
    return parser


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise NvrHubError("passwords do not match")
    return first


async def _serve(config: Config) -> bool:
    """Run until a signal or an API stop; True when a restart was asked for."""
    from nvr_hub.app import create_app

    app = create_app(config)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    stop = app[keys.STOP_EVENT]
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        site = web.TCPSite(runner, config.server.host, config.server.port)
        await site.start()
        await stop.wait()
        await asyncio.sleep(0.2)  # let the restart/shutdown response reach the client
    finally:
        await runner.cleanup()
    return bool(app[keys.SYSTEM].stop_request.restart)


async def _with_auth(config: Config) -> tuple[object, object]:
    from nvr_hub.services.auth import AuthService
    from nvr_hub.storage import migrate
    from nvr_hub.storage.db import make_engine, make_sessionmaker

    await asyncio.to_thread(migrate.upgrade, config.database_url)
    engine = make_engine(config.database_url)
    return engine, AuthService(make_sessionmaker(engine), config.auth)


async def _user_command(config: Config, args: argparse.Namespace) -> int:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from nvr_hub.services.auth import AuthService

    engine, auth = await _with_auth(config)
    assert isinstance(engine, AsyncEngine) and isinstance(auth, AuthService)
    try:
        if args.user_cmd == "list":
            for u in await auth.list_users():
                state = "active" if u.is_active else "inactive"
                print(f"{u.id}\t{u.username}\t{u.role}\t{state}\ttotp={u.totp_enabled}")
            return 0
        password = _read_password(args.password_stdin)
        if len(password) < 8:
            raise NvrHubError("the password must be at least 8 characters")
        if args.user_cmd == "add":
            user = await auth.create_user(args.username, password, email=args.email, role=args.role)
            print(f"created user {user.username} (id {user.id}, role {user.role})")
            return 0
        match = [u for u in await auth.list_users() if u.username == args.username]
        if not match:
            raise NvrHubError(f"no user named {args.username}")
        from nvr_hub.services.auth import Principal

        admin = Principal(0, "cli", "admin", "cli")
        await auth.change_password(admin, match[0].id, None, password, keep_token=None)
        print(f"password changed for {args.username}")
        return 0
    finally:
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config)
        if args.command == "config":
            print(f"configuration OK ({config.source or 'defaults'}); database {_safe_url(config)}")
            return 0
        if args.command == "db":
            from nvr_hub.storage import migrate

            if args.db_cmd == "upgrade":
                migrate.upgrade(config.database_url)
            print(
                f"database at revision {migrate.current_revision(config.database_url)} "
                f"(newest {migrate.head_revision(config.database_url)})"
            )
            return 0
        if args.command == "user":
            return asyncio.run(_user_command(config, args))
        if args.host or args.port:
            from dataclasses import replace

            server = replace(
                config.server,
                host=args.host or config.server.host,
                port=args.port or config.server.port,
            )
            config = replace(config, server=server)
        if asyncio.run(_serve(config)):
            # Re-execute in place: same pid, fresh interpreter, config read anew.
            os.execv(sys.executable, [sys.executable, "-m", "nvr_hub", *sys.argv[1:]])
        return 0
    except NvrHubError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _safe_url(config: Config) -> str:
    from nvr_hub.media.logs import redact_url

    return redact_url(config.database_url)
