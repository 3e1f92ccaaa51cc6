"""The ``duet`` command: ``serve``, ``apikey create NAME [--admin]`` / ``list`` / ``revoke NAME|PREFIX``,
``join URL``, ``check URL``."""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from collections.abc import Sequence

__all__ = ["main"]


GC_THRESHOLDS = (50_000, 20, 1_000)
"""Python's collector thresholds for ``duet serve`` (the default is 700, 10, 10).

Each stats report's objects live about 2 s, long enough to be promoted out of the young generation
with the default thresholds, so full collections grew to 0.5-0.9 s at 2,000 sessions and held up
every socket; with these the young generation is collected every 50,000 net allocations and steady
state ran without a collection (bench/signaling_load.py, 1,000 sessions: ping p99 37 → 26 ms)."""


def _tune_gc() -> None:
    """Move everything start-up made into the permanent generation, then raise the thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn
    from pydantic import ValidationError

    from app.bootstrap import prepare_development
    from app.config import Settings
    from app.logs import configure_logging
    from app.main import create_app
    from app.server import uvicorn_config
    from app.services import Services

    overrides = {k: v for k, v in {"host": args.host, "port": args.port}.items() if v is not None}
    try:
        settings = Settings(**overrides)
    except ValidationError as error:  # settings it must not or cannot run with: say why, no traceback
        print("duet serve: " + "; ".join(str(e["msg"]) for e in error.errors()), file=sys.stderr)
        return 2
    # duet's own loggers (duet.*) never carry tokens, keys, SDP or phone numbers.
    log_config = configure_logging(settings.log_format, access_log=settings.access_log)
    if settings.env == "development":

        async def welcome() -> str:
            services = Services.build(settings)
            try:
                await services.db.migrate()
                return (await prepare_development(services)).render(f"http://{settings.host}:{settings.port}")
            finally:
                await services.db.dispose()

        print(asyncio.run(welcome()), flush=True)
    app = create_app(settings)
    _tune_gc()
    uvicorn.Server(uvicorn_config(app, settings, log_config=log_config)).run()
    return 0


def _apikey_create(args: argparse.Namespace) -> int:
    from app.apikeys import create_key
    from app.config import Settings

    key = asyncio.run(create_key(Settings(), name=args.name, admin=args.admin))
    print(key)
    sees = "every room (admin)" if args.admin else "only the rooms it creates"
    print(
        f"API key {args.name!r} created; it sees {sees}. "
        "It is shown only this once; duet keeps only its hash.",
        file=sys.stderr,
    )
    return 0


def _apikey_list(args: argparse.Namespace) -> int:
    from app.apikeys import format_keys, list_keys
    from app.config import Settings

    keys = asyncio.run(list_keys(Settings()))
    if not keys:
        print("No API keys yet; make one with `duet apikey create NAME`.", file=sys.stderr)
        return 0
    print("\n".join(format_keys(keys)))
    return 0


def _apikey_revoke(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from app.apikeys import KeyChoiceError, revoke_key
    from app.config import Settings

    try:
        done = asyncio.run(revoke_key(Settings(), query=args.key, now=datetime.now(UTC)))
    except KeyChoiceError as error:
        print(error, file=sys.stderr)
        return 1
    print(done.message())
    return 0


def _join(args: argparse.Namespace) -> int:
    from media.participant import format_report, run_join

    report = asyncio.run(
        run_join(args.url, duration=args.duration, on_suggest=args.on_suggest, relay_only=args.relay_only)
    )
    print(format_report(report, as_json=args.json))
    return 0 if report.ok else 1


def _check(args: argparse.Namespace) -> int:
    from media.precall import format_check, run_check

    report = asyncio.run(run_check(args.url, duration_s=args.duration))
    print(format_check(report, as_json=args.json))
    return 0 if report.connected else 1


def _key_name(value: str) -> str:
    name = value.strip()
    if not 1 <= len(name) <= 100:
        raise argparse.ArgumentTypeError("a key name has 1 to 100 characters")
    return name


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="duet", description="One-to-one video sessions.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server (settings from DUET_* variables)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(run=_serve)

    apikey = commands.add_parser("apikey", help="manage API keys").add_subparsers(
        dest="action", required=True
    )
    create = apikey.add_parser("create", help="make a key and print it once")
    create.add_argument("name", type=_key_name, help="what the key is for (1-100 characters)")
    create.add_argument(
        "--admin",
        action="store_true",
        help="a key that sees and manages every room (others see only the rooms they create)",
    )
    create.set_defaults(run=_apikey_create)
    listing = apikey.add_parser(
        "list", help="show every key: prefix, creation, status, scope, name (never the key)"
    )
    listing.set_defaults(run=_apikey_list)
    revoke = apikey.add_parser("revoke", help="revoke a key: the API refuses it from its next request")
    revoke.add_argument("key", type=_key_name, metavar="NAME|PREFIX", help="the key's name or its prefix")
    revoke.set_defaults(run=_apikey_revoke)

    join = commands.add_parser("join", help="join a room as a headless participant and report what arrived")
    join.add_argument("url", help="a join link, https://…/s/ROOM#t=TOKEN")
    join.add_argument("--duration", type=float, default=10.0, help="seconds to stay in the call (default 10)")
    join.add_argument("--json", action="store_true", help="print the report as JSON")
    join.add_argument(
        "--on-suggest",
        choices=["accept", "decline", "ignore"],
        default="ignore",
        help="answer fallback suggestions (audio only, phone, video back) this way (default: ignore)",
    )
    join.add_argument(
        "--relay-only",
        action="store_true",
        help="connect through the TURN relay only (iceTransportPolicy relay), to test a deployment's relay",
    )
    join.set_defaults(run=_join)

    check = commands.add_parser("check", help="test the connection to a room's server before a call")
    check.add_argument("url", help="a join link, https://…/s/ROOM#t=TOKEN")
    check.add_argument(
        "--duration", type=float, help="seconds the test runs, connecting included (default: the server's, 8)"
    )
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(run=_check)

    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
