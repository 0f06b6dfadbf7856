# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""The PHEE life of batches and payments: the tables the state machine reads.

A batch's ``phee_state`` moves only along these edges, one method per edge in
``models/payment_batch.py`` (``_phee_<edge>``). Each line is ``from --edge--> to``;
a test reads these lines and checks that they are exactly ``BATCH_TRANSITIONS``::

    draft        --send-->    submitting    an attempt is recorded before the POST
    error        --send-->    submitting
    queued       --send-->    submitting    PHEE has room for it now
    draft        --queue-->   queued        the pacing limits are reached
    error        --queue-->   queued
    submitting   --send-->    submitting    re-sent: PHEE does not have it
    submitting   --accept-->  submitted     PHEE answered 202 with its batch id
    submitting   --adopt-->   submitted     PHEE already had it: not sent again
    error        --adopt-->   submitted
    submitting   --lose-->    submitting    the answer was lost: ask PHEE first
    submitting   --reject-->  error         PHEE refused it, or was not reached
    draft        --refuse-->  error         the file cannot be built: not sent
    error        --refuse-->  error
    submitting   --refuse-->  error
    submitting   --give_up--> error         not accepted after the automatic attempts
    submitting   --doubt-->   uncertain     PHEE may have it: a person decides
    uncertain    --doubt-->   uncertain     checked again, still unsure
    uncertain    --adopt-->   submitted
    draft        --inherit--> legacy        the upgrade found it sent by the old module
    legacy       --adopt-->   submitted     found at PHEE
    uncertain    --resend-->  submitting    an administrator confirmed PHEE lacks it
    legacy       --resend-->  submitting
    submitted    --start-->   in_progress   PHEE reports the batch
    submitted    --stall-->   needs_attention   not imported by its deadline
    in_progress  --stall-->   needs_attention   payments unsettled past their deadline
    in_progress  --finish-->  completed     every payment is final
    in_progress  --finish-->  completed_failures
    needs_attention --finish-->  completed
    needs_attention --finish-->  completed_failures

A batch with no ``phee_state`` (made outside this addon, e.g. by the *Assign
Payments to Batch* wizard) is a draft. ``legacy`` is only set by the upgrade
from OpenG2P's original module, for batches it may have sent.
"""

from odoo import _lt

BATCH_STATES = [
    ("draft", "Draft"),
    ("queued", "Waiting to Be Sent"),
    ("submitting", "Submitting"),
    ("submitted", "Sent"),
    ("in_progress", "In Progress"),
    ("completed", "Completed"),
    ("completed_failures", "Completed with Failures"),
    ("error", "Error"),
    ("uncertain", "PHEE May Already Have It"),
    ("needs_attention", "Needs Attention"),
    ("legacy", "Sent by a Previous Version"),
]

# edge: its (from, to) pairs
BATCH_TRANSITIONS = {
    "send": (
        ("draft", "submitting"),
        ("error", "submitting"),
        ("queued", "submitting"),
        ("submitting", "submitting"),
    ),
    "queue": (("draft", "queued"), ("error", "queued")),
    "accept": (("submitting", "submitted"),),
    "adopt": (
        ("submitting", "submitted"),
        ("error", "submitted"),
        ("uncertain", "submitted"),
        ("legacy", "submitted"),
    ),
    "lose": (("submitting", "submitting"),),
    "reject": (("submitting", "error"),),
    "refuse": (
        ("draft", "error"),
        ("error", "error"),
        ("submitting", "error"),
    ),
    "give_up": (("submitting", "error"),),
    "doubt": (("submitting", "uncertain"), ("uncertain", "uncertain")),
    "resend": (("uncertain", "submitting"), ("legacy", "submitting")),
    "inherit": (("draft", "legacy"),),
    "start": (("submitted", "in_progress"),),
    "stall": (("submitted", "needs_attention"), ("in_progress", "needs_attention")),
    "finish": (
        ("in_progress", "completed"),
        ("in_progress", "completed_failures"),
        ("needs_attention", "completed"),
        ("needs_attention", "completed_failures"),
    ),
}


def sources(edge):
    """The states ``edge`` leaves."""
    return tuple(dict.fromkeys(a for a, _b in BATCH_TRANSITIONS[edge]))


SENDABLE_STATES = sources("send")
# Followed by the status sync: PHEE has the batch.
OPEN_STATES = ("submitted", "in_progress", "needs_attention")
FINAL_STATES = ("completed", "completed_failures")
# Visited by the status cron: open, or PHEE may have it.
SYNCED_STATES = ("submitting", "uncertain", "legacy") + OPEN_STATES

# The last attempt's outcome (``phee_attempt_outcome``).
ATTEMPT_OUTCOMES = [
    ("pending", "In flight"),
    ("accepted", "Accepted"),
    ("not_delivered", "Not delivered"),
    ("rejected", "Rejected"),
    ("unknown", "Unknown"),
]


class SendOutcome:
    """What one send call did with one batch."""

    SENT = "sent"
    ADOPTED = "adopted"
    SKIPPED = "skipped"
    BUSY = "busy"
    WAITING = "waiting"
    INVALID = "invalid"
    NOT_DELIVERED = "not_delivered"
    REJECTED = "rejected"
    UNKNOWN = "unknown"
    CHECK_FAILED = "check_failed"
    UNCERTAIN = "uncertain"
    QUEUED = "queued"


# outcome: (label in the officer's summary, notification level: None = fine)
SEND_OUTCOMES = {
    SendOutcome.SENT: (_lt("Sent"), None),
    SendOutcome.ADOPTED: (_lt("Already at PHEE (not sent again)"), None),
    SendOutcome.SKIPPED: (_lt("Sent earlier"), None),
    SendOutcome.BUSY: (_lt("Being sent by another process"), "warning"),
    SendOutcome.WAITING: (_lt("Waiting for PHEE"), "warning"),
    SendOutcome.QUEUED: (_lt("Waiting for room at PHEE (sent automatically)"), "info"),
    SendOutcome.UNKNOWN: (_lt("Answer lost, will check PHEE"), "warning"),
    SendOutcome.INVALID: (_lt("Not sent: invalid"), "danger"),
    SendOutcome.NOT_DELIVERED: (_lt("PHEE unreachable"), "danger"),
    SendOutcome.REJECTED: (_lt("Rejected by PHEE"), "danger"),
    SendOutcome.CHECK_FAILED: (_lt("Could not check PHEE"), "danger"),
    SendOutcome.UNCERTAIN: (
        _lt("PHEE may already have it: a person decides"),
        "danger",
    ),
}

# A payment's PHEE state (``g2p.payment.phee_payment_state``) and the upstream
# fields it decides: (state, status, status_is_final). A PHEE transfer status
# gives the state named in ``phee.const.TRANSFER_STATUS_MAPPING``.
PAYMENT_STATES = [
    ("issued", "Issued"),
    ("held_back", "Held back"),
    ("sent", "Sent"),
    ("on_hold", "On hold at PHEE"),
    ("needs_attention", "Needs attention"),
    ("paid", "Paid"),
    ("failed", "Failed"),
]
PAYMENT_STATE_FIELDS = {
    "issued": ("issued", False, False),
    "held_back": ("issued", "failed", True),
    "sent": ("sent", False, False),
    "on_hold": ("sent", False, False),
    "needs_attention": ("sent", False, False),
    "paid": ("reconciled", "paid", True),
    "failed": ("reconciled", "failed", True),
}
FINAL_PAYMENT_STATES = tuple(
    state for state, (_s, _st, final) in PAYMENT_STATE_FIELDS.items() if final
)
