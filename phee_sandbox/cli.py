"""Command line of the local PHEE server (``python -m phee_sandbox``)."""

# This module's output is for a person at a terminal.
# pylint: disable=print-used

from __future__ import annotations

import argparse
import time

from .app import LENIENT, PheeServer


def _never_start(text: str | None):
    """``--never-start``: a number (the Nth submission) or correlation ids."""
    if not text:
        return None
    if text.isdigit():
        return int(text)
    return frozenset(t.strip() for t in text.split(",") if t.strip())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m phee_sandbox",
        description="Local PHEE-compatible server (bulk processor and operations "
        "app on one port), behaving like a stock PHEE unless told otherwise.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to listen on")
    add("--port", type=int, default=8089, help="port to listen on (0: any free)")
    add(
        "--tenant",
        action="append",
        dest="tenants",
        metavar="T",
        help="tenant whose workflow is deployed (repeat for more); default: gorilla",
    )
    add(
        "--require-auth",
        action="store_true",
        help="ops /api/v1/** calls need a Bearer token from /oauth/token",
    )
    add("--username", default="mifos", help="ops app user")
    add("--password", default="password", help="ops app password")
    add(
        "--public-key",
        metavar="FILE",
        help="tenant public key or certificate (PEM or bare Base64) that "
        "verifies X-SIGNATURE",
    )
    add(
        "--no-jws",
        dest="jws",
        action="store_false",
        help="accept submissions without checking X-SIGNATURE",
    )
    add(
        "--keep-correlation-id",
        action="store_true",
        help="list batches with the client's X-CorrelationID instead of the "
        "authorization job key stock PHEE puts there",
    )
    add(
        "--sub-batch-size",
        type=int,
        default=5,
        metavar="N",
        help="rows per sub-batch; 0 never splits",
    )
    add(
        "--error-format",
        choices=("mojaloop", "text"),
        default="mojaloop",
        help="failed rows' errorInformation: nested Mojaloop JSON text or a "
        "plain reason",
    )
    add(
        "--fail-payee-suffix",
        action="append",
        metavar="S",
        help="payees ending so fail with party not found; default: 999",
    )
    add(
        "--exception-payee-suffix",
        action="append",
        default=[],
        metavar="S",
        help="payees ending so show EXCEPTION for --exception-polls ops calls, "
        "then COMPLETED",
    )
    add(
        "--exception-polls",
        type=int,
        default=3,
        metavar="N",
        help="ops calls that see EXCEPTION",
    )
    add(
        "--stuck-payee-suffix",
        action="append",
        default=[],
        metavar="S",
        help="payees ending so stay IN_PROGRESS forever",
    )
    add(
        "--never-start",
        metavar="N|IDS",
        help="answer 202 but never start these batches: a number N (the Nth "
        "submission) or comma-separated X-CorrelationIDs",
    )
    add(
        "--interface-timezone",
        default="Asia/Kolkata",
        metavar="ZONE",
        help="time zone in which /api/v1/batches reads dateFrom and dateTo",
    )
    add(
        "--import-delay",
        type=int,
        default=0,
        metavar="N",
        help="ops calls answered 404 before a batch is imported",
    )
    add(
        "--settle-polls",
        type=int,
        default=1,
        metavar="N",
        help="ops calls after the import that still see IN_PROGRESS",
    )
    add(
        "--id-field",
        choices=("client", "transaction", "alternate"),
        default="client",
        help="where transfers carry the row's request_id",
    )
    add(
        "--send-callbacks",
        action="store_true",
        help="POST the progress callback to loopback X-CallbackURLs",
    )
    add(
        "--lenient",
        action="store_true",
        help="the sandbox's forgiving mode: "
        + ", ".join(f"{k}={v}" for k, v in LENIENT.items())
        + ", JWS only with --public-key",
    )
    return parser


def server_options(args) -> dict:
    """``PheeServer`` keyword arguments from parsed arguments."""
    public_key = None
    if args.public_key:
        with open(args.public_key, encoding="ascii") as handle:
            public_key = handle.read()
    options = {
        "tenants": tuple(args.tenants or ("gorilla",)),
        "require_auth": args.require_auth,
        "username": args.username,
        "password": args.password,
        "jws": args.jws,
        "public_key_pem": public_key,
        "keep_correlation_id": args.keep_correlation_id,
        "sub_batch_size": args.sub_batch_size,
        "error_format": args.error_format,
        "fail_payee_suffixes": tuple(args.fail_payee_suffix or ("999",)),
        "exception_payee_suffixes": tuple(args.exception_payee_suffix),
        "exception_polls": args.exception_polls,
        "stuck_payee_suffixes": tuple(args.stuck_payee_suffix),
        "never_start": _never_start(args.never_start),
        "interface_timezone": args.interface_timezone,
        "import_delay_polls": args.import_delay,
        "settle_polls": args.settle_polls,
        "id_field": args.id_field,
        "send_callbacks": args.send_callbacks,
    }
    if args.lenient:
        options.update(LENIENT)
        options["jws"] = args.jws and public_key is not None
    return options


def main(argv=None) -> int:
    """CLI: serve until Ctrl-C, printing the endpoint URLs."""
    args = build_parser().parse_args(argv)
    server = PheeServer(args.host, args.port, **server_options(args)).start()
    print(
        f"PHEE local server on {server.base_url} (tenants: "
        f"{', '.join(sorted(server.tenants))}); Ctrl-C to stop"
    )
    for name, url in server.endpoints().items():
        print(f"  {name} = {url}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopping")
    finally:
        server.stop()
    return 0
