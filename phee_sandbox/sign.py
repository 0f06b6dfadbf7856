"""``python -m phee_sandbox.sign``: print the X-SIGNATURE of a batch file.

For people trying the sandbox (or a real PHEE) with ``curl``::

    SIG=$(python -m phee_sandbox.sign --key sandbox-key.pem --tenant gorilla \\
          --correlation-id trial-1 batch.csv)
    curl ... -H "X-CorrelationID: trial-1" -H "X-SIGNATURE: $SIG" -F "data=@batch.csv"

The file is signed as the bulk processor rebuilds it from the multipart part
(LF line ends, up to its first empty line, trimmed), so CRLF files and a final
newline are fine. ``--raw`` signs the file exactly, for ``Type: raw`` JSON
bodies. Signing is ``keys.x_signature`` (API reference §2.3).
"""

from __future__ import annotations

import argparse
import sys

from .cli import HelpFormatter
from .keys import load_private_key, rebuilt_csv, x_signature


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m phee_sandbox.sign",
        description="Print the X-SIGNATURE header value PHEE expects for a batch "
        "file: RSA (PKCS#1 v1.5, private key) over the SHA3-256 of "
        "'[X-BatchID:]X-CorrelationID:Platform-TenantId:<file>'.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--key",
        required=True,
        metavar="FILE",
        help="the tenant's private key: PEM (PKCS#8 or PKCS#1) or bare Base64 "
        "PKCS#8, e.g. the file python -m phee_sandbox wrote",
    )
    parser.add_argument(
        "--tenant", required=True, help="Platform-TenantId header value"
    )
    parser.add_argument(
        "--correlation-id", required=True, help="X-CorrelationID header value"
    )
    parser.add_argument(
        "--batch-id", help="X-BatchID header value, if the request carries one"
    )
    parser.add_argument(
        "--raw",
        action="store_true",
        help="sign the file byte for byte (a Type: raw JSON body), not as a "
        "CSV file part",
    )
    parser.add_argument("file", help="the batch file; - reads standard input")
    return parser


def _read(path: str, mode: str = "r"):
    if path == "-":
        return sys.stdin.buffer.read() if "b" in mode else sys.stdin.read()
    with open(path, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
        return f.read()


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        key = load_private_key(_read(args.key, "rb"))
        raw = _read(args.file, "rb").decode("utf-8")
    except OSError as exc:
        parser.exit(2, f"{parser.prog}: cannot read {exc.filename}: {exc.strerror}\n")
    except (ValueError, UnicodeDecodeError) as exc:
        parser.exit(2, f"{parser.prog}: {exc}\n")
    payload = raw if args.raw else rebuilt_csv(raw)
    signature = x_signature(
        payload,
        key,
        tenant=args.tenant,
        correlation_id=args.correlation_id,
        batch_id=args.batch_id,
    )
    sys.stdout.write(signature + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
