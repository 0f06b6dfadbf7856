"""PHEE-compatible local server for tests, the demo and manual trials.

One stdlib HTTP server plays the bulk processor (``POST /batchtransactions``)
and the operations app (``/oauth/token``, ``/api/v1/...``). It validates like
the PHEE sources described in the API reference (same order, same odd error
bodies), keeps no batch-level dedup, and moves batches through import and
settlement as the ops app is polled. Faults can be injected per route.

Usage::

    with PheeServer(require_auth=True) as server:
        config = PheeConfig(tenant_id="gorilla", **server.endpoints())
"""

from .app import PheeServer
from .bulk import form_data_text, has_file_part, recover_signed_digest
from .cli import main
from .http import Reply, Request
