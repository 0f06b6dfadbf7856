"""Demo "main job": pay a sample batch through a local PHEE and explain it.

``python -m phee_sandbox.demo [--rows N] [--json]`` starts ``PheeServer`` on
127.0.0.1 with stock PHEE behaviour (ops login required, JWS required with a
key pair made for the run, sub-batches, correlationId replaced, Mojaloop
errors), renders the payments with the addon's CSV renderer, splits them into
files under PHEE's 100,000-byte limit as the addon does
(``phee.csv_render.split_to_fit``), signs and submits each file with
``PheeClient``, polls until every payment is paid or failed, and prints a
table of counts and amounts. Each step is printed as it happens; ``--json``
prints only one JSON document at the end, for scripts. Exit code 0 when every
payment ended paid or failed as planned.

The sample fails two payees (unknown party, identifiers ending in 999) and puts
one on hold for a moment (a Zeebe incident, identifier ending in 777, which
PHEE reports as EXCEPTION before the payment completes).

The demo is a client of the sandbox: it uses the ``phee`` package's public API
like any other client, while the server modules never import ``phee``.
"""

# This module's output is for a person at a terminal.
# pylint: disable=print-used

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
import uuid
from decimal import Decimal

from phee import (
    PheeClient,
    PheeConfig,
    PheeError,
    build_frame,
    generate_key_pair,
    match_transfers,
    render_csv,
    split_to_fit,
)

from .app import PheeServer
from .cli import HelpFormatter

TENANT = "gorilla"
CURRENCY = "USD"
FAIL_SUFFIX = "999"
HOLD_SUFFIX = "777"
MAX_BYTES = 100_000
MAX_ROUNDS = 60
PAUSE = 0.05  # seconds between rounds of checks


def plan(rows: int) -> tuple[set, set]:
    """Rows that fail (3 and 11, else the last) and the row put on hold (7)."""
    failing = {3, 11} & set(range(rows)) or {rows - 1}
    on_hold = {7} & set(range(rows)) - failing
    return failing, on_hold


def sample_frame(rows: int, batch_ref: str):
    """``rows`` payments of 100, 110, ...; see ``plan`` for the odd ones."""
    failing, on_hold = plan(rows)

    def payee(i):
        suffix = FAIL_SUFFIX if i in failing else HOLD_SUFFIX if i in on_hold else "001"
        return f"2771{i:06d}{suffix}"

    return build_frame(
        request_ids=[f"{batch_ref}-{i:06d}" for i in range(rows)],
        payee_identifier_types="msisdn",
        payee_identifiers=[payee(i) for i in range(rows)],
        amounts=[100 + 10 * (i % 50) for i in range(rows)],
        payment_mode="mojaloop",
        payer_identifier_type="msisdn",
        payer_identifier="27710100000",
        currency=CURRENCY,
        note="PHEE demo",
    )


def _n(value) -> str:
    return f"{value:,}"


def _money(value) -> str:
    return f"{_n(int(value))} {CURRENCY}"


class _Say:
    """Step lines for a person, or nothing with ``--json``."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.step = 0

    def __call__(self, text: str, *, numbered: bool = True) -> None:
        if self.quiet:
            return
        if numbered:
            self.step += 1
            text = f"{self.step}. {text}"
        print(text, flush=True)


def _server(public_pem: str) -> PheeServer:
    return PheeServer(
        tenants=(TENANT,),
        require_auth=True,
        public_key_pem=public_pem,
        import_delay_polls=1,
        fail_payee_suffixes=(FAIL_SUFFIX,),
        exception_payee_suffixes=(HOLD_SUFFIX,),
        exception_polls=2,
    )


def _submit_all(client, say, frame, slices, batch_ref):
    """Render, sign (inside the client) and submit each file; the batches."""
    batches = []
    for number, (start, stop) in enumerate(slices, 1):
        part = frame.iloc[start:stop]
        csv_text = render_csv(part, max_bytes=MAX_BYTES)
        size = len(csv_text.encode("utf-8"))
        which = f"file {number} of {len(slices)}" if len(slices) > 1 else "the file"
        reference = f"{batch_ref}-{number}"
        say(
            f"Wrote {which}: {_n(stop - start)} payments, {_n(size)} bytes "
            f"(PHEE takes at most {_n(MAX_BYTES)} bytes per file)."
        )
        say(
            f"Signed {which}: X-SIGNATURE is RSA over the SHA3-256 of the "
            "tenant, our reference and the file."
        )
        result = client.submit_batch(
            csv_text,
            correlation_id=reference,
            filename=f"{reference}.csv",
            purpose="PHEE demo",
        )
        say(f"Sent {which}: PHEE accepted it as batch {result.batch_id} ({reference}).")
        batches.append(
            {
                "batch_id": result.batch_id,
                "correlation_id": reference,
                "request_ids": list(part["request_id"]),
                "rows": stop - start,
                "bytes": size,
                "summary": None,
            }
        )
    return batches


def _progress(batches) -> tuple[int, int, int]:
    """``(settled, on hold, total)`` over the latest summaries."""
    settled = hold = total = 0
    for batch in batches:
        total += batch["rows"]
        summary = batch["summary"]
        if summary is not None:
            settled += summary.successful + summary.failed
            hold += max(
                summary.total - summary.successful - summary.failed - summary.ongoing,
                0,
            )
    return settled, hold, total


def _poll(client, say, batches) -> int:
    """Check every batch in rounds until all are settled; the checks made."""
    checks, imported, last = 0, set(), None
    what = "the batch" if len(batches) == 1 else f"the {len(batches)} batches"
    say(f"Waiting for PHEE to import {what} (its importer lags behind).")
    for _round in range(MAX_ROUNDS):
        for batch in batches:
            if batch["summary"] is not None and batch["summary"].settled:
                continue
            checks += 1
            batch["summary"] = client.get_batch_summary(batch["batch_id"])
            if batch["summary"] is not None and batch["batch_id"] not in imported:
                imported.add(batch["batch_id"])
                if len(imported) == len(batches):
                    job_key = batch["summary"].correlation_id
                    what = "the batch" if len(batches) == 1 else "every batch"
                    its = "Its" if len(batches) == 1 else "The last one's"
                    say(
                        f"PHEE has imported {what} ({checks} checks so far). {its} "
                        f"correlationId is now {job_key}, a job key, not our "
                        "reference: batches are tracked by the id PHEE gave when "
                        "it accepted them."
                    )
        settled, hold, total = _progress(batches)
        if imported and (settled, hold) != last:
            extra = ""
            if hold:
                extra = f"; {_n(hold)} on hold: PHEE reports an incident (EXCEPTION)"
            if last is None and settled < total:
                extra += '; PHEE\'s summary says "Failed" until all are done'
            last = (settled, hold)
            say(
                f"Progress: {settled * 100 // total}% ({_n(settled)} of "
                f"{_n(total)} payments paid or failed{extra}).",
                numbered=False,
            )
        if all(b["summary"] is not None and b["summary"].settled for b in batches):
            return checks
        time.sleep(PAUSE)
    return checks


def _totals(client, batches, amounts: dict) -> dict:
    """Counts and amounts per outcome, from the payments PHEE lists."""
    outcomes = {}
    for batch in batches:
        outcomes.update(
            match_transfers(
                batch["request_ids"], client.iter_transfers(batch["batch_id"])
            )
        )
    totals = {
        key: {"payments": 0, "amount": Decimal(0)}
        for key in ("sent", "paid", "failed", "on_hold")
    }
    reasons = collections.defaultdict(lambda: {"payments": 0, "amount": Decimal(0)})
    for request_id, amount in amounts.items():
        totals["sent"]["payments"] += 1
        totals["sent"]["amount"] += amount
        outcome = outcomes.get(request_id)
        status = outcome.status if outcome else None
        key = {"paid": "paid", "failed": "failed"}.get(status, "on_hold")
        totals[key]["payments"] += 1
        totals[key]["amount"] += amount
        if key == "failed":
            reason = reasons[outcome.reason or "no reason given"]
            reason["payments"] += 1
            reason["amount"] += amount
    totals["failed"]["reasons"] = [
        {"reason": reason, **values} for reason, values in sorted(reasons.items())
    ]
    return {"totals": totals, "outcomes": outcomes}


def _table(totals: dict) -> str:
    lines = [f"{'':26}{'Payments':>10}{'Amount':>16}"]

    def row(label, values):
        lines.append(
            f"{label:26}{_n(values['payments']):>10}{_money(values['amount']):>16}"
        )

    row("Sent", totals["sent"])
    row("Paid", totals["paid"])
    row("Failed", totals["failed"])
    for reason in totals["failed"]["reasons"]:
        row(f"  {reason['reason'][:24]}", reason)
    row("On hold or unfinished", totals["on_hold"])
    return "\n".join(lines)


def _as_json(values: dict) -> dict:
    """Decimals as integers (the demo's amounts are whole)."""
    result = {}
    for key, value in values.items():
        if isinstance(value, dict):
            result[key] = _as_json(value)
        elif isinstance(value, list):
            result[key] = [_as_json(v) if isinstance(v, dict) else v for v in value]
        elif isinstance(value, Decimal):
            result[key] = int(value)
        else:
            result[key] = value
    return result


def run(rows: int = 20, *, json_output: bool = False) -> int:
    """Run the demo end to end; returns the exit code."""
    began = time.monotonic()
    say = _Say(json_output)
    private_pem, public_pem = generate_key_pair()
    batch_ref = f"demo-{uuid.uuid4().hex[:8]}"
    frame = sample_frame(rows, batch_ref)
    amounts = dict(zip(frame["request_id"], map(Decimal, frame["amount"]), strict=True))
    slices = split_to_fit(frame, MAX_BYTES)
    with _server(public_pem) as server:
        say(
            f"Started a local PHEE at {server.base_url} for tenant {TENANT}, "
            "behaving like a stock one: the operations app wants a login and "
            "every file must be signed (JWS). Made a key pair for this run and "
            "gave the server its public half."
        )
        config = PheeConfig(
            tenant_id=TENANT,
            username="mifos",
            password="password",
            signature_private_key=private_pem,
            **server.endpoints(),
        )
        with PheeClient(config) as client:
            token = client.fetch_token()
            valid = max(int(token.expires_at - time.time()), 0)
            say(
                f"Logged in to the operations app as mifos: got an access token, "
                f"valid for {valid} s."
            )
            if len(slices) > 1:
                say(
                    f"{_n(rows)} payments do not fit in one file: split into "
                    f"{len(slices)} files, each a PHEE batch.",
                )
            batches = _submit_all(client, say, frame, slices, batch_ref)
            checks = _poll(client, say, batches)
            result = _totals(client, batches, amounts)
    seconds = time.monotonic() - began
    totals, outcomes = result["totals"], result["outcomes"]
    failing, _hold = plan(rows)
    expected_failed = {frame["request_id"].iloc[i] for i in failing}
    failed = {r for r, o in outcomes.items() if o.status == "failed"}
    paid = {r for r, o in outcomes.items() if o.status == "paid"}
    ok = failed == expected_failed and len(paid) + len(failed) == rows
    if json_output:
        document = {
            "server": server.base_url,
            "tenant": TENANT,
            "jws": True,
            "ops_login": True,
            "currency": CURRENCY,
            "files": [
                {k: b[k] for k in ("batch_id", "correlation_id", "rows", "bytes")}
                for b in batches
            ],
            **totals,
            "checks": checks,
            "seconds": round(seconds, 2),
            "settled": ok,
        }
        print(json.dumps(_as_json(document), indent=2))
        return 0 if ok else 1
    if ok:
        say(
            f"Settled after {checks} checks in {seconds:.1f} s: every payment is "
            "paid or failed.",
        )
    else:
        say(f"Not settled after {checks} checks: see the table.")
    print(flush=True)
    print(_table(totals), flush=True)
    return 0 if ok else 1


def main(argv=None) -> int:
    """CLI entry point: ``python -m phee_sandbox.demo [--rows N] [--json]``."""
    parser = argparse.ArgumentParser(
        prog="python -m phee_sandbox.demo",
        description="Pay a sample batch through a local PHEE (stock behaviour) "
        "and explain each step.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--rows",
        type=int,
        default=20,
        help="payments to send; more than fit in 100,000 bytes go in several files",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document, for scripts"
    )
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    try:
        return run(args.rows, json_output=args.json)
    except PheeError as exc:
        print(f"PHEE demo failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
