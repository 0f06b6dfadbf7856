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
EXTENDED_CSV_COLUMNS = CSV_COLUMNS + ("program_shortcode", "cycle", "payee_dfsp_id")

MAX_FILE_BYTES = 100_000  # bulk processor default `csv.size`

# Base64 of "client:" (OAuth client id "client", empty secret).
DEFAULT_BASIC_AUTHORIZATION = "Basic Y2xpZW50Og=="

PAYMENT_MODES = ("mojaloop", "gsma", "slcb", "closedloop")

# Only the identifier types used by the PHEE fixtures. Mojaloop mode ignores the
# type (everything goes out as MSISDN); other types depend on the deployment.
IDENTIFIER_TYPES = ("msisdn", "accountNumber")

TRANSFER_STATUS_COMPLETED = "COMPLETED"
TRANSFER_STATUS_FAILED = "FAILED"
TRANSFER_STATUS_EXCEPTION = "EXCEPTION"
TRANSFER_STATUS_IN_PROGRESS = "IN_PROGRESS"
TRANSFER_STATUS_UNKNOWN = "UNKNOWN"

# PHEE transfer status -> payment state ("paid", "failed", or None = not final).
# EXCEPTION is a stuck workflow: treated as failed until PHEE operators resolve it.
TRANSFER_STATUS_MAPPING = {
    TRANSFER_STATUS_COMPLETED: "paid",
    TRANSFER_STATUS_FAILED: "failed",
    TRANSFER_STATUS_EXCEPTION: "failed",
    TRANSFER_STATUS_IN_PROGRESS: None,
    TRANSFER_STATUS_UNKNOWN: None,
}

# In-cluster service names of a stock PHEE helm deployment.
_OPS = "http://ph-ee-operations-app:80"
DEFAULT_ENDPOINTS = {
    "payment": "https://ph-ee-connector-bulk:8443/batchtransactions",
    "status": f"{_OPS}/api/v1/batch",
    "details": f"{_OPS}/api/v1/batch/detail",
    "batches": f"{_OPS}/api/v1/batches",
    "auth": f"{_OPS}/oauth/token",
}
