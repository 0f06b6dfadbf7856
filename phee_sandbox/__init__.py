"""PHEE-compatible local server (sandbox) for tests, the demo and manual trials.

An implementation of its own of the PHEE API reference, sharing no code with
the addon's ``phee`` protocol package (only the demo, a client, uses it). One
stdlib HTTP server plays the bulk processor (``POST /batchtransactions``) and
the operations app (``/oauth/token``, ``/api/v1/...``). It validates like the
PHEE sources described in the API reference (same order, same odd error
bodies), keeps no batch-level dedup, and moves batches through import and
settlement as the ops app is polled. Faults can be injected per route.

By default it behaves like a stock PHEE deployment (JWS required, the batch's
correlationId replaced by a job key once imported, sub-batches of 5 rows,
Mojaloop error JSON, ...; see ``PheeServer``); ``PheeServer.lenient()`` gives
the sandbox's earlier, forgiving behaviour.

The addon never imports it (the root ``__init__.py`` leaves it out, so a
production Odoo never loads it); only tests and benchmarks do.

Usage::

    with PheeServer(require_auth=True, public_key_pem=public_pem) as server:
        config = PheeConfig(tenant_id="gorilla", **server.endpoints())

``python -m phee_sandbox`` serves on its own (and prints how to use it with
``curl``), ``python -m phee_sandbox.sign`` prints the X-SIGNATURE of a CSV file
and ``python -m phee_sandbox.demo`` runs a signed batch through it, explaining
each step.
"""

import sys

# Checked before anything else is imported, in syntax old interpreters parse,
# so an old Python gets one line instead of a traceback.
if sys.version_info < (3, 10):  # noqa: UP036
    raise SystemExit(
        "phee_sandbox needs Python 3.10 or newer; this is Python %d.%d"  # noqa: UP031
        % tuple(sys.version_info[:2])
    )

from .app import LENIENT, PheeServer, endpoint_urls  # noqa: E402
from .bulk import form_data_text, has_file_part  # noqa: E402
from .cli import main  # noqa: E402
from .http import Reply, Request  # noqa: E402
from .jws import load_tenant_key, recover_signed_digest  # noqa: E402
