"""Command line of the local PHEE server (``python -m phee_sandbox``).

Serves until Ctrl-C. At start it prints what a client needs: the URLs, the
tenants, the ops user and password, the OAuth client header, whether JWS is on
and where the private key to sign with is (without ``--public-key`` it makes a
demo key pair, trusts the public half and writes the private half to a file),
the PHEE quirks in force, and a copy-paste ``curl`` walkthrough.
"""

# This module's output is for a person at a terminal.
# pylint: disable=print-used

from __future__ import annotations

import argparse
import errno
import os
import shlex
import sys
import tempfile
import time

from .app import LENIENT, PheeServer
from .keys import generate_key_pair

OAUTH_CLIENT_HEADER = "Basic Y2xpZW50Og=="  # Base64 of "client:"
SAMPLE_CSV_LINES = (
    "id,request_id,payment_mode,payer_identifier_type,payer_identifier,"
    "payee_identifier_type,payee_identifier,amount,currency,note",
    "0,trial-0001,mojaloop,msisdn,27710100000,msisdn,27710200001,100,USD,Trial",
    "1,trial-0002,mojaloop,msisdn,27710100000,msisdn,27710200999,250,USD,Trial",
)
_JSON = "python -c 'import json,sys; print(json.load(sys.stdin)[\"{}\"])'"


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: ...)`` for options that take a value; on/off flags
    and options without a default say what they do instead."""

    def _get_help_string(self, action):
        if action.nargs == 0 or action.default in (None, []):
            return action.help
        return super()._get_help_string(action)


def _nested(values: list, flag: str) -> dict:
    """``A:B:C:D`` values as ``{A: {B: (C, D)}}``."""
    result = {}
    for value in values:
        parts = value.split(":")
        if len(parts) != 4 or not all(parts):
            raise SystemExit(f"{flag}: expected four values separated by colons")
        result.setdefault(parts[0], {})[parts[1]] = (parts[2], parts[3])
    return result


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
        formatter_class=HelpFormatter,
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
        "verifies X-SIGNATURE; without it a demo key pair is made at start",
    )
    add(
        "--private-key-out",
        metavar="FILE",
        help="without --public-key: where to write the private key of the demo "
        "key pair made at start; default: a new temporary directory",
    )
    add(
        "--no-jws",
        dest="jws",
        action="store_false",
        help="accept submissions without checking X-SIGNATURE (stock PHEE checks it)",
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
        "then COMPLETED; none by default",
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
        help="payees ending so stay IN_PROGRESS forever; none by default",
    )
    add(
        "--never-start",
        metavar="N|IDS",
        help="answer 202 but never start these batches: a number N (the Nth "
        "submission) or comma-separated X-CorrelationIDs",
    )
    add(
        "--budget-account",
        action="append",
        default=[],
        metavar="INST:PROGRAM:TYPE:VALUE",
        help="a budget account: rows sent with both headers matching get this "
        "payer; none by default",
    )
    add(
        "--lookup-tenant",
        action="append",
        default=[],
        metavar="T",
        help="a tenant on the account-lookup workflow; none by default",
    )
    add(
        "--mapper-payee",
        action="append",
        default=[],
        metavar="INST:ID:ADDRESS:DFSP",
        help="a functional id the identity account mapper knows; none by default",
    )
    add(
        "--reject-budget",
        metavar="N|IDS",
        help="refuse the budget of these batches (approved 0, nothing paid): a "
        "number N (the Nth submission) or comma-separated X-CorrelationIDs; "
        "none by default",
    )
    add(
        "--approvals-in-view",
        action="store_true",
        help="/api/v1/batches/{id} reports the batch's approvals (a stock PHEE "
        "reports 0)",
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
        "budget_accounts": _nested(args.budget_account, "--budget-account"),
        "lookup_tenants": tuple(args.lookup_tenant),
        "mapper_payees": _nested(args.mapper_payee, "--mapper-payee"),
        "reject_budget": _never_start(args.reject_budget),
        "approvals_in_view": args.approvals_in_view,
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


def walkthrough(base: str, tenant: str, key: str | None, user: str, password: str):
    """The ``curl`` session the banner and the README show, as shell lines."""
    q = shlex.quote
    auth = '-H "Platform-TenantId: $TENANT" -H "Authorization: Bearer $TOKEN"'
    lines = [
        f"BASE={q(base)} TENANT={q(tenant)}" + (f" KEY={q(key)}" if key else ""),
        "# 1. a token from the operations app (needed with --require-auth)",
        f'TOKEN=$(curl -s -X POST "$BASE/oauth/token?username={user}'
        f'&password={password}&grant_type=password" -H "Platform-TenantId: $TENANT"'
        f' -H "Authorization: {OAUTH_CLIENT_HEADER}" | {_JSON.format("access_token")})',
        "# 2. a batch file: two payments, the second payee is unknown (ends in 999)",
        "printf '%s\\n' "
        + " ".join(f"'{line}'" for line in SAMPLE_CSV_LINES)
        + " > sandbox-batch.csv",
        "# 3. sign it and submit it; PHEE answers 202 with the batch id at the end "
        "of PollingPath",
    ]
    if key:
        lines.append(
            'SIG=$(python -m phee_sandbox.sign --key "$KEY" --tenant "$TENANT" '
            "--correlation-id trial-1 sandbox-batch.csv)"
        )
    signature = ' -H "X-SIGNATURE: $SIG"' if key else ""
    lines += [
        'ANSWER=$(curl -s -X POST "$BASE/batchtransactions" -H "Platform-TenantId: '
        '$TENANT" -H "X-CorrelationID: trial-1" -H "Purpose: Trial" -H "Type: csv" '
        f'-H "filename: sandbox-batch.csv"{signature} -F "data=@sandbox-batch.csv"); '
        'echo "$ANSWER"',
        'BATCH=$(echo "$ANSWER" | python -c \'import json,sys; '
        'print(json.load(sys.stdin)["PollingPath"].rsplit("/", 1)[1])\')',
        "# 4. poll the summary (each call recomputes it) and the payments, until "
        '"ongoing" is 0',
        f'curl -s "$BASE/api/v1/batch/$BATCH" {auth}; echo',
        f'curl -s "$BASE/api/v1/batch/detail?batchId=$BATCH&pageNo=0&pageSize=100'
        f'&status=ALL" {auth}; echo',
        f'curl -s "$BASE/api/v1/batch/$BATCH" {auth}; echo',
    ]
    return lines


def _quirks(options: dict) -> list[str]:
    """The stock PHEE behaviours in force, in a few words each."""
    quirks = [
        "ops calls without Platform-TenantId get HTTP 500 with no body",
        "the 202's PollingPath is not a served route: poll /api/v1/batch/{batchId}",
        'a summary reads "Failed" while payments are still ongoing',
    ]
    if not options["keep_correlation_id"]:
        quirks.append(
            "once imported, a batch's correlationId is a job key, not your "
            "X-CorrelationID"
        )
    if options["sub_batch_size"]:
        quirks.append(
            f"more than {options['sub_batch_size']} rows run as sub-batches; "
            "/batch/detail?status=ALL lists their payments"
        )
    if options["error_format"] == "mojaloop":
        quirks.append("a failed payment's errorInformation is Mojaloop JSON text")
    return quirks


def _key_file(path: str | None) -> str:
    if path:
        return os.path.abspath(path)
    folder = tempfile.mkdtemp(prefix="phee-sandbox-")
    return os.path.join(folder, "private-key.pem")


def _write_private_key(path: str, private_pem: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(private_pem)


def banner(
    server: PheeServer, options: dict, key_path: str | None = None, lenient=False
) -> str:
    """What the server prints at start; ``key_path``: the demo private key
    written at start, if any."""
    base = server.base_url
    tenants = ", ".join(sorted(server.tenants))
    user, password = options["username"], options["password"]
    if not options["jws"]:
        jws = "off: X-SIGNATURE is not checked"
    elif key_path:
        jws = f"on: sign with the demo private key written to {key_path}"
    elif options["public_key_pem"]:
        jws = "on: verified with --public-key; sign with its private key"
    else:
        jws = "on, but no key: every submission is refused"
    auth = "required (Bearer token)" if options["require_auth"] else "off"
    lines = [
        f"PHEE sandbox on {base} ("
        + ("lenient options" if lenient else "stock PHEE behaviour")
        + "). Ctrl-C stops it.",
        "",
        f"  Bulk processor   POST {base}/batchtransactions",
        f"  Operations app   {base}/api/v1/...   token: POST {base}/oauth/token",
        f"  Tenants          {tenants}   (header Platform-TenantId)",
        f"  User, password   {user} / {password}   ops auth: {auth}",
        f"  OAuth client     header Authorization: {OAUTH_CLIENT_HEADER}",
        f"  JWS              {jws}",
        "  PHEE quirks      " + ";\n                   ".join(_quirks(options)),
        "",
        "Try it in bash, from the repository root (files sandbox-*.* are ignored "
        "by git):",
        "",
    ]
    signing_key = key_path if options["jws"] else None
    if options["jws"] and options["public_key_pem"] and not key_path:
        signing_key = "<your private key file>"
    first = options["tenants"][0] if options["tenants"] else "gorilla"
    lines += [
        "  " + line for line in walkthrough(base, first, signing_key, user, password)
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    """CLI: serve until Ctrl-C; a busy port or bad option is one line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        options = server_options(args)
    except OSError as exc:
        parser.error(f"cannot read {exc.filename}: {exc.strerror}")
    key_path = None
    if options["jws"] and not options["public_key_pem"]:
        key_path = _key_file(args.private_key_out)
        private_pem, options["public_key_pem"] = generate_key_pair()
        try:
            _write_private_key(key_path, private_pem)
        except OSError as exc:
            parser.error(f"cannot write the private key to {key_path}: {exc.strerror}")
    try:
        server = PheeServer(
            args.host,
            args.port,
            **options,
        ).start()
    except (ValueError, OSError) as exc:
        if key_path and not args.private_key_out:
            os.remove(key_path)
            os.rmdir(os.path.dirname(key_path))
        if isinstance(exc, ValueError):
            parser.error(str(exc))
        if exc.errno == errno.EADDRINUSE:
            message = (
                f"port {args.port} on {args.host} is already in use: stop what "
                "uses it or pick another with --port (0 picks a free one)"
            )
        else:
            message = f"cannot listen on {args.host}:{args.port}: {exc.strerror}"
        print(f"{parser.prog}: {message}", file=sys.stderr)
        return 1
    print(banner(server, options, key_path, args.lenient), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopping")
    finally:
        server.stop()
    return 0
