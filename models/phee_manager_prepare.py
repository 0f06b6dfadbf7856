# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Set-based preparation of PHEE payments and batches from approved entitlements."""

import logging

import pandas as pd
from psycopg2 import errors as pg_errors

from odoo import _, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.queue_job.delay import group

from ..phee import PheeFileTooBigError, csv_render
from .phee_bulk import (
    BulkUnsupported,
    PaymentBulkInsert,
    analyze_grown_tables,
    array_literal,
    link_many2many,
    uuid4_texts,
    write_columns,
)
from .phee_guard import by_state_machine
from .phee_payee import PayeeResolver
from .phee_states import PAYMENT_STATE_FIELDS
from .phee_utils import PHEE_JOB_CHANNEL, job_identity_key, payable_entitlement

_logger = logging.getLogger(__name__)

# First key of the transaction locks held while a cycle's payments are prepared.
PREPARE_LOCK_NAMESPACE = 0x50484550  # "PHEP"
HELD_BACK_SHOWN = 10  # in the notification
HELD_BACK_LOGGED = 500  # in the cycle chatter


class G2PPaymentHubEEManagerPrepare(models.Model):
    _inherit = "g2p.program.payment.manager.phee"

    PHEE_SYNC_PREPARE_LIMIT = 10_000
    PHEE_PREPARE_JOB_SIZE = 10_000

    def prepare_payments(self, cycle, entitlements=None):
        """Override of `g2p_programs`: issue payments for the cycle's approved
        entitlements that have no payment yet (or only failed ones), grouped in
        batches; large cycles are prepared by queue jobs."""
        self.ensure_one()
        if cycle.state != "approved":
            raise UserError(_("Payments can only be prepared for an approved cycle."))
        self._phee_check_ready()
        self._phee_lock_cycle(cycle)
        entitlement_ids = self._phee_payable_entitlement_ids(cycle, entitlements)
        if not entitlement_ids:
            return self._phee_notify(
                _(
                    "No new payment to issue: every approved entitlement of this "
                    "cycle already has a payment that did not fail."
                ),
                "warning",
            )
        if len(entitlement_ids) > self.PHEE_SYNC_PREPARE_LIMIT:
            self._phee_prepare_async(cycle, entitlement_ids)
            return self._phee_notify(
                _(
                    "Preparing %(count)s payments in the background; the cycle "
                    "chatter will tell when it is done.",
                    count=len(entitlement_ids),
                ),
                "success",
                sticky=True,
            )
        payments, batches, held, unchanged = self._phee_prepare(cycle, entitlement_ids)
        return self._phee_prepare_notification(payments, batches, held, unchanged)

    def _prepare_payments(self, cycle, entitlements):
        """Override of `g2p_programs` (used by cash entitlements and the default
        async path): same set-based preparation, returning (payments, batches)."""
        self.ensure_one()
        self._phee_lock_cycle(cycle)
        ids = self._phee_payable_entitlement_ids(cycle, entitlements)
        payments, batches, _held, _unchanged = self._phee_prepare(cycle, ids)
        return payments, batches

    def _phee_prepare_async(self, cycle, entitlement_ids):
        """Prepare in queue jobs of bounded size, then unlock the cycle."""
        cycle.message_post(
            body=_(
                "Preparing payments for %(count)s entitlements started.",
                count=len(entitlement_ids),
            )
        )
        cycle.write({"locked": True, "locked_reason": _("Preparing PHEE payments.")})
        size = self.PHEE_PREPARE_JOB_SIZE
        jobs = [
            self.delayable(
                channel=PHEE_JOB_CHANNEL,
                identity_key=job_identity_key("prepare", cycle.id, chunk[0]),
                description=_("PHEE: prepare payments of %(cycle)s", cycle=cycle.name),
            )._phee_prepare_job(cycle, chunk)
            for chunk in (
                entitlement_ids[i : i + size]
                for i in range(0, len(entitlement_ids), size)
            )
        ]
        main_job = group(*jobs)
        main_job.on_done(
            self.delayable().mark_job_as_done(cycle, _("PHEE payments prepared."))
        )
        main_job.delay()

    def _phee_prepare_job(self, cycle, entitlement_ids):
        """Queue job: prepare one chunk (idempotent: paid entitlements are skipped)."""
        self._phee_lock_cycle(cycle, wait=True)
        ids = self._phee_payable_entitlement_ids(
            cycle, self.env["g2p.entitlement"].browse(entitlement_ids)
        )
        payments, batches, held, unchanged = self._phee_prepare(cycle, ids)
        return (
            f"{len(payments)} payments, {len(batches)} batches, {len(held)} held, "
            f"{len(unchanged)} not retried"
        )

    # ------------------------------------------------------------
    # SET-BASED PREPARATION
    # ------------------------------------------------------------

    def _phee_lock_cycle(self, cycle, wait=False):
        """Hold the cycle's prepare lock until the end of the transaction; raise
        when another officer or job holds it (or wait for it).

        The database also refuses a second live PHEE payment for an
        entitlement (see ``g2p.payment.init``); the lock turns a race into a
        clear message.
        """
        key = (PREPARE_LOCK_NAMESPACE, cycle.id)
        if wait:
            self.env.cr.execute(SQL("SELECT pg_advisory_xact_lock(%s, %s)", *key))
            return
        self.env.cr.execute(SQL("SELECT pg_try_advisory_xact_lock(%s, %s)", *key))
        if not self.env.cr.fetchone()[0]:
            raise UserError(
                _(
                    "Payments of cycle %(cycle)s are being prepared right now by "
                    "someone else. Reload the cycle in a moment.",
                    cycle=cycle.name,
                )
            )

    def _phee_payable_entitlement_ids(self, cycle, entitlements=None):
        """Ids of approved entitlements whose payments all failed (or that have none),
        in one query."""
        self.env["g2p.entitlement"].check_access_rights("read")
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """SELECT array_agg(e.id ORDER BY e.id) FROM g2p_entitlement e
                    WHERE e.cycle_id = %s AND %s AND %s""",
                cycle.id,
                payable_entitlement(),
                SQL("e.id = ANY(%s)", list(entitlements.ids))
                if entitlements
                else SQL("TRUE"),
            )
        )
        return self.env.cr.fetchone()[0] or []

    def _phee_prepare(self, cycle, entitlement_ids):
        """Create payments and batches for these entitlements.

        The number of queries does not depend on the number of entitlements:
        payments are inserted in one statement (see `phee_bulk`), batches with
        one create() and their links and CSV attachments in bulk.

        :return: (payments, batches, held, unchanged): held lists (entitlement,
            reason) for the payments held back and marked failed; unchanged the
            (entitlement, reason) of failed payments not issued again because
            they would fail again unchanged (see ``_phee_unchanged_failures``).
        """
        self.ensure_one()
        Payment = self.env["g2p.payment"]
        if not entitlement_ids:
            return Payment, self.env["g2p.payment.batch"], [], []
        frame = self._phee_entitlement_frame(entitlement_ids)
        csv_frame = self._phee_csv_frame(
            frame["name"],
            frame["payee_identifier"],
            self._phee_read_back_amounts(frame["amount"]),
            self._phee_note(cycle),
            payee_dfsp_ids=frame["payee_dfsp_id"],
        )
        reasons = self._phee_hold_back_reasons(frame, csv_frame)
        frame, csv_frame, reasons, unchanged = self._phee_skip_unchanged_failures(
            frame, csv_frame, reasons
        )
        if frame.empty:
            batches = self.env["g2p.payment.batch"]
            self._phee_post_prepare_summary(cycle, Payment, batches, [], unchanged)
            return Payment, batches, [], unchanged
        batch_rows = self._phee_batch_rows(frame, csv_frame, reasons)
        batches = self._phee_create_batches(cycle, frame, batch_rows)
        payments = self._phee_create_payments(
            self._phee_payment_values(cycle, frame, reasons, batch_rows, batches)
        )
        payment_ids = payments.ids
        batch_ids, linked_ids = [], []
        for batch, (_tag, rows, _csv) in zip(batches, batch_rows, strict=True):
            batch_ids += [batch.id] * len(rows)
            linked_ids += [payment_ids[row] for row in rows]
        link_many2many(batches, "payment_ids", batch_ids, linked_ids, fresh=True)
        analyze_grown_tables(
            self.env.cr,
            {
                Payment._table: len(payments),
                batches._table: len(batches),
                batches._fields["payment_ids"].relation: len(linked_ids),
            },
        )
        if self.make_csv_at_prepare:
            self._phee_attach_csvs(batches, [csv for _tag, _rows, csv in batch_rows])
        held_entitlements = self.env["g2p.entitlement"].browse(
            frame["entitlement_id"].iloc[list(reasons)].tolist()
        )
        held = list(zip(held_entitlements, reasons.values(), strict=True))
        self._phee_post_prepare_summary(cycle, payments, batches, held, unchanged)
        _logger.info(
            "PHEE prepare cycle %s: %s payments, %s batches, %s held back",
            cycle.id,
            len(payments),
            len(batches),
            len(held),
        )
        return payments, batches, held, unchanged

    def _phee_entitlement_frame(self, entitlement_ids):
        """Read the entitlements' amounts and payees' identifiers into a frame,
        with a new payment reference (``name``) per row."""
        # One row of arrays: no tuple per entitlement to allocate.
        self.env.cr.execute(
            SQL(
                """SELECT array_agg(id ORDER BY id), array_agg(partner_id ORDER BY id),
                          array_agg(initial_amount::float8 ORDER BY id),
                          array_agg(coalesce(transfer_fee, 0)::float8 ORDER BY id)
                     FROM g2p_entitlement WHERE id = ANY(%s::int4[])""",
                array_literal(entitlement_ids),
            )
        )
        columns = ("entitlement_id", "partner_id", "amount", "fee")
        frame = pd.DataFrame(
            {
                column: pd.Series(values or [], dtype=dtype)
                for column, values, dtype in zip(
                    columns,
                    self.env.cr.fetchone(),
                    ("int64", "int64", "float64", "float64"),
                    strict=True,
                )
            }
        )
        identifiers = PayeeResolver(self).resolve(frame["partner_id"].unique().tolist())
        frame["payee_identifier"] = frame["partner_id"].map(identifiers)
        frame["tag_id"] = self._phee_tag_of(frame["entitlement_id"].tolist())
        frame["name"] = uuid4_texts(len(frame))
        return frame

    def _phee_read_back_amounts(self, amounts):
        """Amounts as the ORM reads them back from the payments (rounded to the
        currency), so the files rendered now and at sending time are the same."""
        currency = self.currency_id
        amounts = amounts.tolist()
        if not currency:
            return amounts
        rounded = {a: currency.round(a) if a else a for a in set(amounts)}
        return [rounded[a] for a in amounts]

    def _phee_tag_of(self, entitlement_ids):
        """Batch tag id (or 0) of each entitlement, first matching tag by order."""
        tags = self.batch_tag_ids.sorted("order")
        if not tags:
            return [0] * len(entitlement_ids)
        remaining = set(entitlement_ids)
        tag_of = {}
        for tag in tags:
            domain = self._safe_eval(tag.domain or "[]")
            matched = self.env["g2p.entitlement"].search(
                domain + [("id", "in", list(remaining))]
            )
            for ent_id in matched.ids:
                tag_of[ent_id] = tag.id
            remaining -= set(matched.ids)
        return [tag_of.get(ent_id, 0) for ent_id in entitlement_ids]

    def _phee_csv_frame(self, request_ids, identifiers, amounts, note=""):
        """Build the PHEE CSV frame for rows of this manager."""
        return csv_render.build_frame(
            request_ids=request_ids,
            payee_identifier_types=self._phee_payee_identifier_type(),
            payee_identifiers=identifiers,
            amounts=amounts,
            payment_mode=self.payment_mode,
            payer_identifier_type=self.payer_id_type,
            payer_identifier=self.payer_id,
            currency=self.currency_id.name or "",
            note=note,
        )

    def _phee_note(self, cycle):
        """Note written on every row of the cycle's files."""
        return f"{cycle.program_id.name} {cycle.name}"

    def _phee_hold_back_reasons(self, frame, csv_frame):
        """Map row position → reason for rows that cannot be paid through PHEE.

        :raise UserError: when a batch-wide value (payment mode, payer, currency)
            makes every row unpayable.
        """
        reasons = {}
        batch_wide = []
        missing = _("registrant has no %(kind)s", kind=self._phee_payee_kind_label())
        for problem in csv_render.find_problems(
            csv_frame, allow_decimal=self.allow_decimal_amounts
        ):
            if problem.row < 0:
                batch_wide.append(f"{problem.field} {problem.reason}")
            elif problem.row in reasons:
                continue
            elif problem.field == "payee_identifier" and not isinstance(
                frame.at[problem.row, "payee_identifier"], str
            ):
                reasons[problem.row] = missing
            else:
                reasons[problem.row] = problem.reason
        if batch_wide:
            self._phee_refuse(batch_wide)
        return reasons

    def _phee_payee_kind_label(self):
        self.ensure_one()
        if self.payee_id_type == "reg_id":
            return _("ID of type %(type)s", type=self.reg_id_type_for_payee_id.name)
        return dict(self._fields["payee_id_type"]._description_selection(self.env))[
            self.payee_id_type
        ]

    def _phee_batch_rows(self, frame, csv_frame, reasons):
        """Split payable rows into batches: per tag, at most max_batch_size rows
        and a CSV file under PHEE's size limit.

        PHEE fails every row of a file after the first with the same payee,
        identifier type, amount and currency ("Duplicate transaction.", e.g. a
        household sharing one phone): such rows go to different batches, the
        n-th of each kind into the n-th round of batches.

        :return: [(tag_id, row positions, rendered CSV)] in batch order
        """
        if not self.create_batch:
            return []
        good = frame.drop(index=list(reasons))
        tag_sizes = {tag.id: tag.max_batch_size for tag in self.batch_tag_ids}
        result = []
        for tag_id, rows in good.groupby("tag_id", sort=False):
            size = min(
                self.max_batch_size, tag_sizes.get(tag_id) or self.max_batch_size
            )
            positions = rows.index.to_numpy()
            rounds = csv_render.duplicate_rounds(
                csv_frame.iloc[positions], allow_decimal=self.allow_decimal_amounts
            )
            for round_ in range(int(rounds.max(initial=0)) + 1):
                in_round = positions[rounds == round_]
                for start in range(0, len(in_round), size):
                    chunk = in_round[start : start + size]
                    result.extend(
                        (int(tag_id), rows_, csv)
                        for rows_, csv in self._phee_render_rows(csv_frame, chunk)
                    )
        return result

    def _phee_render_rows(self, csv_frame, positions):
        """Render these rows as one file, or as several when one would exceed
        PHEE's size limit. Returns [(row positions, CSV text)].

        The rows are payable ones: ``_phee_hold_back_reasons`` found no
        problem in them, so they are not validated again.
        """
        decimal = self.allow_decimal_amounts
        rows = csv_frame.iloc[positions]
        try:
            return [
                (
                    positions.tolist(),
                    csv_render.render_csv(rows, allow_decimal=decimal, validated=True),
                )
            ]
        except PheeFileTooBigError:
            return [
                (
                    positions[lo:hi].tolist(),
                    csv_render.render_csv(
                        rows.iloc[lo:hi], allow_decimal=decimal, validated=True
                    ),
                )
                for lo, hi in csv_render.split_to_fit(rows, allow_decimal=decimal)
            ]

    def _phee_create_batches(self, cycle, frame, batch_rows):
        now = fields.Datetime.now()
        amounts = frame["amount"].to_numpy()
        first = len(cycle.payment_batch_ids) + 1
        return self.env["g2p.payment.batch"]._phee_create_drafts(
            [
                {
                    "name": _(
                        "%(cycle)s – batch %(number)s",
                        cycle=cycle.name,
                        number=first + index,
                    ),
                    "cycle_id": cycle.id,
                    "tag_id": tag_id or False,
                    "stats_datetime": now,
                    "stats_issued_transactions": len(rows),
                    "stats_issued_amount": float(amounts[rows].sum()),
                }
                for index, (tag_id, rows, _csv) in enumerate(batch_rows)
            ]
        )

    def _phee_payment_values(self, cycle, frame, reasons, batch_rows, batches):
        """create() values of the payments, one list per field (a row each)."""
        count = len(frame)
        batch_of = [False] * count
        for batch_id, (_tag, rows, _csv) in zip(batches.ids, batch_rows, strict=True):
            for row in rows:
                batch_of[row] = batch_id
        now = fields.Datetime.now()
        held = [row in reasons for row in range(count)]
        states = ["held_back" if h else "issued" for h in held]
        return {
            "name": frame["name"].tolist(),
            "entitlement_id": frame["entitlement_id"].tolist(),
            "cycle_id": [cycle.id] * count,
            "amount_issued": frame["amount"].tolist(),
            "payment_fee": frame["fee"].tolist(),
            "phee_payment_state": states,
            "state": [PAYMENT_STATE_FIELDS[s][0] for s in states],
            "account_number": [
                value if isinstance(value, str) else False
                for value in frame["payee_identifier"].tolist()
            ],
            "phee_payee_id_type": [self._phee_payee_identifier_type()] * count,
            "batch_id": batch_of,
            "status": [PAYMENT_STATE_FIELDS[s][1] for s in states],
            "status_is_final": [PAYMENT_STATE_FIELDS[s][2] for s in states],
            "status_datetime": [now if h else False for h in held],
            "phee_failure_reason": [reasons.get(row, False) for row in range(count)],
        }

    def _phee_create_payments(self, values):
        """Create the payments: in one statement, or with create() when the bulk
        path does not know the payment model as installed."""
        try:
            with self.env.cr.savepoint():
                try:
                    return PaymentBulkInsert(self.env).insert(values)
                except BulkUnsupported as reason:
                    _logger.warning(
                        "PHEE prepare: payments created one by one by the ORM: %s",
                        reason,
                    )
                names = list(values)
                return by_state_machine(self.env["g2p.payment"]).create(
                    [
                        dict(zip(names, row, strict=True))
                        for row in zip(*values.values(), strict=True)
                    ]
                )
        except pg_errors.UniqueViolation:
            raise UserError(
                _(
                    "Some of these entitlements were given a payment by someone "
                    "else a moment ago: nothing was prepared. Reload the cycle to "
                    "see them."
                )
            ) from None

    def _phee_attach_csvs(self, batches, texts):
        """Attach each batch's rendered CSV (one create for all files)."""
        attachments = (
            self.env["ir.attachment"]
            .sudo()
            .create(
                [
                    batch._phee_csv_attachment_vals(self, text)
                    for batch, text in zip(batches, texts, strict=True)
                ]
            )
        )
        write_columns(batches, {"phee_csv_attachment_id": attachments.ids})

    def _phee_render_batch(self, batch):
        """Render the batch's CSV from its payments, attach it and return the text.

        :raise PheeValidationError: when a row cannot be sent.
        """
        self.ensure_one()
        payments = batch.payment_ids.sorted("id")
        rows = payments.read(
            ["name", "account_number", "amount_issued", "phee_payee_dfsp_id"]
        )
        frame = self._phee_csv_frame(
            [r["name"] for r in rows],
            [r["account_number"] or None for r in rows],
            [r["amount_issued"] for r in rows],
            self._phee_note(batch.cycle_id),
            payee_dfsp_ids=[r["phee_payee_dfsp_id"] or None for r in rows],
        )
        csv_text = csv_render.render_csv(
            frame, allow_decimal=self.allow_decimal_amounts
        )
        batch._phee_store_csv(self, csv_text)
        return csv_text

    # ------------------------------------------------------------
    # FEEDBACK
    # ------------------------------------------------------------

    def _phee_held_back_lines(self, held):
        return [
            _("%(name)s: %(reason)s", name=ent.partner_id.name, reason=reason)
            for ent, reason in held
        ]

    def _phee_post_prepare_summary(self, cycle, payments, batches, held, unchanged):
        body = _(
            "PHEE payments prepared: %(payments)s in %(batches)s.",
            payments=self._phee_n_payments(len(payments) - len(held)),
            batches=self._phee_n_batches(len(batches)),
        )
        for title, rows in (
            (self._phee_held_back_title(held), held),
            (self._phee_unchanged_title(unchanged), unchanged),
        ):
            if not rows:
                continue
            body += "\n" + title
            body += "\n" + "\n".join(
                self._phee_held_back_lines(rows[:HELD_BACK_LOGGED])
            )
            if len(rows) > HELD_BACK_LOGGED:
                body += "\n" + _(
                    "… and %(count)s more: see the cycle's failed payments.",
                    count=len(rows) - HELD_BACK_LOGGED,
                )
        cycle.message_post(body=self._phee_chatter_body(body))

    def _phee_held_back_title(self, held):
        if len(held) == 1:
            return _("1 registrant held back (payment marked failed, not sent):")
        return _(
            "%(count)s registrants held back (payments marked failed, not sent):",
            count=len(held),
        )

    def _phee_unchanged_title(self, unchanged):
        return _(
            "%(payments)s that failed not issued again: they would fail again "
            "unchanged (correct the registrant, or ask the beneficiary to "
            "register the number, then retry):",
            payments=self._phee_n_payments(len(unchanged)),
        )

    def _phee_n_payments(self, count):
        if count == 1:
            return _("1 payment")
        return _("%(count)s payments", count=count)

    def _phee_n_batches(self, count):
        if count == 1:
            return _("1 batch")
        return _("%(count)s batches", count=count)

    def _phee_prepare_notification(self, payments, batches, held, unchanged=()):
        message = _(
            "%(payments)s prepared in %(batches)s.",
            payments=self._phee_n_payments(len(payments) - len(held)),
            batches=self._phee_n_batches(len(batches)),
        )
        if not self.create_batch:
            message += " " + _(
                "Batches are not created automatically: assign the payments to "
                "batches before sending."
            )
        for title, rows in (
            (self._phee_held_back_title(held), held),
            (self._phee_unchanged_title(unchanged), unchanged),
        ):
            if not rows:
                continue
            lines = self._phee_held_back_lines(rows[:HELD_BACK_SHOWN])
            message += "\n" + title + "\n" + "\n".join(lines)
            if len(rows) > HELD_BACK_SHOWN:
                message += "\n" + _("… and more: see the cycle chatter.")
        kind = "warning" if held or unchanged else "success"
        return self._phee_notify(message, kind, sticky=bool(held or unchanged))
