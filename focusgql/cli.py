"""Command line: `focusgql serve | token | export-schema`."""

import argparse
import asyncio
import logging
import logging.config
import os
import signal
import sys
from types import FrameType

from focusgql import __version__


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from focusgql.essentials import open_essentials
    from focusgql.logs import log_config
    from focusgql.settings import Settings
    from focusgql.store.dblock import DatabaseInUse

    settings = Settings()
    config = log_config(settings.log_level, settings.log_format)
    logging.config.dictConfig(config)
    log = logging.getLogger("focusgql.cli")
    # Everything every worker must share is settled here, once, and handed to
    # the workers through the environment: the database and the signing key.
    # The embedded database (if any) is supervised here, in the process that
    # owns the child, whatever the workers.
    try:
        essentials = open_essentials(settings)
    except DatabaseInUse as error:
        log.error("%s", error)  # one line, not a traceback: the cause is elsewhere
        return 1
    if essentials.embedded is not None:
        os.environ["FOCUSGQL_MONGODB_URI"] = essentials.uri
    if settings.jwt_secret is None:
        os.environ["FOCUSGQL_JWT_SECRET"] = essentials.secret
    # uvicorn re-raises a SIGTERM after its graceful shutdown; with the default
    # disposition that ends the process before the `finally` below stops the
    # database, whose child would then hold its files for seconds more.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        uvicorn.run(
            "focusgql.app:create_app",
            factory=True,
            host=args.host or settings.host,
            port=args.port or settings.port,
            workers=args.workers,
            reload=args.reload,
            log_level=settings.log_level,
            log_config=config,
            ws="focusgql.corked:CorkedWebSocketProtocol",  # one write per loop turn
            ws_per_message_deflate=False,  # no compression: no decompression bombs
            ws_max_size=settings.ws_max_message_bytes,  # larger messages close with 1009
        )
    finally:
        essentials.close()
    return 0


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)  # a requested, graceful stop


def _export_schema(args: argparse.Namespace) -> int:
    from focusgql.api.schema import build_schema

    sys.stdout.write(build_schema().as_str() + "\n")
    return 0


async def _mint(email: str) -> str:
    from focusgql.auth import TokenIssuer
    from focusgql.clock import SystemClock
    from focusgql.domain.errors import BadUserInput
    from focusgql.domain.user import normalize_email
    from focusgql.essentials import open_essentials
    from focusgql.settings import Settings
    from focusgql.store.mongo import init_database, make_client
    from focusgql.store.users import MongoUserRepository

    settings = Settings()
    try:
        address = normalize_email(email)
    except BadUserInput:
        raise SystemExit(f"no user with email {email}") from None  # none can have it
    essentials = open_essentials(settings, serving=False)
    client = make_client(essentials.uri, settings.database_timeout_ms)
    try:
        await init_database(client, settings.database)
        found = await MongoUserRepository().credentials(address)
        if found is None:
            raise SystemExit(f"no user with email {email}")
        issuer = TokenIssuer.from_settings(settings, essentials.secret)
        return issuer.issue(found[0].id, SystemClock().now(), found[0].token_generation)
    finally:
        await client.close()
        essentials.close()


def _token(args: argparse.Namespace) -> int:
    print(asyncio.run(_mint(args.email)))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="focusgql", description=__doc__)
    parser.add_argument("--version", action="version", version=f"focusgql {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API server")
    serve.add_argument("--host", default=None, help="default FOCUSGQL_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default FOCUSGQL_PORT or 8000")
    serve.add_argument(
        "--workers", type=int, default=None, help="worker processes sharing the port (default 1)"
    )
    serve.add_argument("--reload", action="store_true", help="restart on code changes (dev)")
    serve.set_defaults(run=_serve)

    token = commands.add_parser("token", help="mint a development token for a user")
    token.add_argument("--email", required=True)
    token.set_defaults(run=_token)

    export = commands.add_parser("export-schema", help="print the GraphQL SDL")
    export.set_defaults(run=_export_schema)

    args = parser.parse_args(argv)
    from pydantic import ValidationError

    try:
        result: int = args.run(args)
    except ValidationError as error:
        # A mistyped FOCUSGQL_* variable: say which and why, not a traceback.
        problems = "; ".join(
            dict.fromkeys(
                f"FOCUSGQL_{str(problem['loc'][0]).upper()}: {problem['msg']}"
                for problem in error.errors()
            )
        )
        print(f"focusgql: invalid configuration: {problems}", file=sys.stderr)
        return 2
    return result
