"""Command line of the local PHEE server (``python -m phee_sandbox``)."""

# This module's output is for a person at a terminal.
# pylint: disable=print-used

from __future__ import annotations

import argparse
import time

from .app import PheeServer


def main(argv=None) -> int:
    """CLI: serve until Ctrl-C, printing the endpoint URLs."""
    parser = argparse.ArgumentParser(
        prog="python -m phee_sandbox", description="Local PHEE-compatible server."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--require-auth", action="store_true")
    parser.add_argument(
        "--public-key",
        metavar="FILE",
        help="public key or certificate (PEM or bare Base64); enables JWS checks",
    )
    parser.add_argument("--import-delay", type=int, default=0, metavar="N")
    parser.add_argument("--settle-polls", type=int, default=1, metavar="N")
    parser.add_argument("--tenant", action="append", dest="tenants", metavar="T")
    parser.add_argument(
        "--id-field", choices=("client", "transaction", "alternate"), default="client"
    )
    args = parser.parse_args(argv)
    public_key = None
    if args.public_key:
        with open(args.public_key, encoding="ascii") as handle:
            public_key = handle.read()
    server = PheeServer(
        args.host,
        args.port,
        tenants=tuple(args.tenants or ("gorilla",)),
        require_auth=args.require_auth,
        public_key_pem=public_key,
        import_delay_polls=args.import_delay,
        settle_polls=args.settle_polls,
        id_field=args.id_field,
    ).start()
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
