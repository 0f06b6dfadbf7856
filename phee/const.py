"""Constants of the PHEE bulk API (see the PHEE API reference)."""

# The 10 standard columns, in the canonical order PHEE parses positionally.
CSV_COLUMNS = (
    "id",
    "request_id",
    "payment_mode",
    "payer_identifier_type",
    "payer_identifier",
    "payee_identifier_type",
    "payee_identifier",
    "amount",
    "currency",
    "note",
)

# The layout with a payee DFSP: after splitting, PHEE re-reads each line by
# position and takes ``payee_dfsp_id`` (13th) only from a line of more than 13
# fields (bulk processor utility/TransactionParser.java), so a trailing column
# (``batch_id``, left empty) follows it. ``program_shortcode`` and ``cycle``
# stay empty.
DFSP_CSV_COLUMNS = CSV_COLUMNS + (
    "program_shortcode",
    "cycle",
    "payee_dfsp_id",
    "batch_id",
)
# Payer columns, left empty for a budget account (PHEE fills them in).
PAYER_COLUMNS = ("payer_identifier_type", "payer_identifier")

MAX_FILE_BYTES = 100_000  # bulk processor default `csv.size`

# Largest amount written, counted in the unit it is written in (whole units, or
# cents with decimal amounts): an exact integer in a float (below 2**53) and far
# below the Long PHEE stores amounts in.
MAX_AMOUNT = 10**15

# Base64 of "client:" (OAuth client id "client", empty secret).
DEFAULT_BASIC_AUTHORIZATION = "Basic Y2xpZW50Og=="

PAYMENT_MODES = ("mojaloop", "gsma", "slcb", "closedloop")

TRANSFER_STATUS_COMPLETED = "COMPLETED"
TRANSFER_STATUS_FAILED = "FAILED"
TRANSFER_STATUS_EXCEPTION = "EXCEPTION"
TRANSFER_STATUS_IN_PROGRESS = "IN_PROGRESS"
TRANSFER_STATUS_UNKNOWN = "UNKNOWN"

# PHEE transfer status -> what it means for the payment: "paid" and "failed"
# are final; "on_hold" (EXCEPTION, a workflow incident PHEE's operators can
# resolve, after which the same transfer completes) and "sent" are not.
TRANSFER_STATUS_MAPPING = {
    TRANSFER_STATUS_COMPLETED: "paid",
    TRANSFER_STATUS_FAILED: "failed",
    TRANSFER_STATUS_EXCEPTION: "on_hold",
    TRANSFER_STATUS_IN_PROGRESS: "sent",
    TRANSFER_STATUS_UNKNOWN: "sent",
}
FINAL_TRANSFER_OUTCOMES = ("paid", "failed")

# In-cluster service names of a stock PHEE helm deployment.
_OPS = "http://ph-ee-operations-app:80"
DEFAULT_ENDPOINTS = {
    "payment": "https://ph-ee-connector-bulk:8443/batchtransactions",
    "status": f"{_OPS}/api/v1/batch",
    "details": f"{_OPS}/api/v1/batch/detail",
    "batches": f"{_OPS}/api/v1/batches",
    "auth": f"{_OPS}/oauth/token",
}
