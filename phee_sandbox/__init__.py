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

``python -m phee_sandbox`` serves on its own; ``python -m phee_sandbox.demo``
runs one signed batch through it.
"""

from .app import LENIENT, PheeServer
from .bulk import form_data_text, has_file_part
from .cli import main
from .http import Reply, Request
from .jws import load_tenant_key, recover_signed_digest
