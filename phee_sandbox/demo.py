"""Demo "main job": one signed batch through a local PHEE server and back.

``python -m phee_sandbox.demo [--rows N]`` starts ``PheeServer`` on 127.0.0.1
(ops auth on, JWS on with a fresh key pair, import delay of one poll), renders a
sample batch with a couple of failing payees, signs and submits it with
``PheeClient``, polls the summary and the transfer details until the batch
settles, and prints a short summary. Exit code 0 when every row ended paid or
failed as planned.

The demo is a client of the sandbox: it uses the ``phee`` package's public API
like any other client, while the server modules never import ``phee``.
"""

# This module's output is for a person at a terminal.
# pylint: disable=print-used

from __future__ import annotations

import argparse
import sys
import uuid

from phee import (
    PheeClient,
    PheeConfig,
    PheeError,
    build_frame,
    generate_key_pair,
    match_transfers,
    render_csv,
)

from .app import PheeServer

TENANT = "gorilla"
FAIL_SUFFIX = "999"
MAX_POLLS = 20


def sample_frame(rows: int, batch_ref: str):
    """``rows`` payments of 100, 110, ...; rows 3 and 11 go to unknown payees."""
    failing = {3, 11} & set(range(rows)) or {rows - 1}
    payees = [
        f"2771{i:06d}{FAIL_SUFFIX if i in failing else '001'}" for i in range(rows)
    ]
    return build_frame(
        request_ids=[f"{batch_ref}-{i:04d}" for i in range(rows)],
        payee_identifier_types="msisdn",
        payee_identifiers=payees,
        amounts=[100 + 10 * i for i in range(rows)],
        payment_mode="mojaloop",
        payer_identifier_type="msisdn",
        payer_identifier="27710100000",
        currency="USD",
        note="PHEE demo",
    )


def _poll_until_settled(client: PheeClient, batch_id: str, request_ids: list):
    """Poll summary then details; returns (summary, outcomes, polls)."""
    summary, outcomes = None, {}
    for poll in range(1, MAX_POLLS + 1):
        summary = client.get_batch_summary(batch_id)
        if summary is not None and summary.settled:
            outcomes = match_transfers(request_ids, client.iter_transfers(batch_id))
            if len(outcomes) == len(request_ids) and all(
                o.final for o in outcomes.values()
            ):
                return summary, outcomes, poll
    return summary, outcomes, MAX_POLLS


def run(rows: int = 20) -> int:
    """Run the demo end to end, printing a summary; returns the exit code."""
    private_pem, public_pem = generate_key_pair()
    batch_ref = f"demo-{uuid.uuid4().hex[:12]}"
    frame = sample_frame(rows, batch_ref)
    csv_text = render_csv(frame)
    request_ids = list(frame["request_id"])
    server = PheeServer(
        require_auth=True,
        public_key_pem=public_pem,
        import_delay_polls=1,
        fail_payee_suffixes=(FAIL_SUFFIX,),
        tenants=(TENANT,),
    )
    with server:
        config = PheeConfig(
            tenant_id=TENANT,
            username="mifos",
            password="password",
            signature_private_key=private_pem,
            **server.endpoints(),
        )
        with PheeClient(config) as client:
            result = client.submit_batch(
                csv_text,
                correlation_id=batch_ref,
                filename=f"{batch_ref}.csv",
                purpose="PHEE demo",
            )
            summary, outcomes, polls = _poll_until_settled(
                client, result.batch_id, request_ids
            )
        print(f"Local PHEE server: {server.base_url} (tenant {TENANT}, auth, JWS)")
    paid = sum(o.status == "paid" for o in outcomes.values())
    failed = sum(o.status == "failed" for o in outcomes.values())
    print(f"Batch id:        {result.batch_id}")
    print(f"Correlation id:  {batch_ref}")
    print(f"CSV header:      {csv_text.splitlines()[0]}")
    print(f"Rows:            {rows}")
    if summary is None or paid + failed != rows:
        print(f"Not settled after {polls} polls: paid {paid}, failed {failed}")
        return 1
    print(f"Settled after {polls} polls: paid {paid}, failed {failed}")
    for request_id, outcome in sorted(outcomes.items()):
        if outcome.status == "failed":
            print(f"  failed {request_id}: {outcome.reason}")
    return 0


def main(argv=None) -> int:
    """CLI entry point: ``python -m phee_sandbox.demo [--rows N]``."""
    parser = argparse.ArgumentParser(
        prog="python -m phee_sandbox.demo",
        description="Submit a sample batch to a local PHEE server and track it.",
    )
    parser.add_argument("--rows", type=int, default=20, help="rows (default 20)")
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    try:
        return run(args.rows)
    except PheeError as exc:
        print(f"PHEE demo failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
