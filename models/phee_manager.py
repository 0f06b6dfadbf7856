# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Payment Hub EE payment manager: configuration, credentials and the PHEE client."""

import logging
import secrets
from datetime import datetime, timezone
from urllib.parse import urlparse

from markupsafe import Markup
from psycopg2 import errors as pg_errors

from odoo import _, _lt, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ..phee import PheeClient, PheeConfig, PheeError, Token, const
from ..phee.signer import load_private_key, public_key_fingerprint
from .phee_utils import ADMIN_GROUPS, is_phee_admin

_logger = logging.getLogger(__name__)

# Identifier type written in the CSV when `payee_id_type_to_send` is empty.
PAYEE_ID_TYPE_DEFAULTS = {
    "phone": "msisdn",
    "bank_acc_no": "accountNumber",
    "bank_acc_iban": "accountNumber",
    "email": "email",
    "reg_id": "accountNumber",
}
URL_FIELDS = (
    "auth_endpoint_url",
    "payment_endpoint_url",
    "status_endpoint_url",
    "details_endpoint_url",
    "batches_endpoint_url",
)
# Credentials: administrators only. New managers take them from Settings in
# create(); default_get never returns them.
CREDENTIAL_FIELDS = (
    "username",
    "password",
    "grant_type",
    "authorization",
    "signature_private_key",
)
# What no client receives from default_get: the credentials and the tokens.
SECRET_FIELDS = CREDENTIAL_FIELDS + (
    "auth_token",
    "auth_token_expires_at",
    "callback_token",
)
# Fields that decide where credentials and payment files go, and when a batch
# is posted again: set by administrators only.
ROUTING_FIELDS = URL_FIELDS + (
    "tenant_id",
    "tls_verify",
    "tls_ca_bundle",
    "callback_enabled",
    "resubmit_grace_minutes",
    "payment_mode",
    "payer_id_type",
    "payer_id",
    "import_deadline_minutes",
    "settle_deadline_hours",
    "registering_institution_id",
    "program_id_header",
    "ops_timezone",
)
# Defaults for new managers kept by Settings (fields of g2p.phee.settings).
SETTINGS_DEFAULT_FIELDS = (
    URL_FIELDS
    + ("tenant_id", "tls_verify", "tls_ca_bundle", "callback_enabled")
    + CREDENTIAL_FIELDS
)
# Fields that make the PHEE client configuration.
CONFIG_FIELDS = (
    URL_FIELDS
    + ("tenant_id", "tls_verify", "tls_ca_bundle", "batch_request_timeout")
    + CREDENTIAL_FIELDS
)
NO_SIGNING_KEY_WARNING = _lt(
    "No signing key: PHEE's bulk processor verifies X-SIGNATURE by default; "
    "without a key every batch is rejected."
)


def phee_admin(env):
    """Whether ``env`` acts as a PHEE administrator (or as superuser)."""
    return env.su or is_phee_admin(env.user)


def new_callback_secret():
    """A fresh callback secret: the HMAC key of a manager's callback URLs."""
    return secrets.token_urlsafe(32)


def check_endpoint_urls(record, fnames=URL_FIELDS):
    """Raise a ValidationError unless every URL field of ``record`` is http(s)."""
    for fname in fnames:
        url = record[fname]
        parsed = urlparse(url or "")
        if url and (parsed.scheme not in ("http", "https") or not parsed.netloc):
            raise ValidationError(
                _(
                    "%(field)s must be an http(s) URL, not “%(url)s”.",
                    field=record._fields[fname].string,
                    url=url,
                )
            )


def check_signing_key(key_text):
    """Raise a ValidationError unless ``key_text`` is empty or an RSA private key."""
    if key_text:
        try:
            load_private_key(key_text)
        except PheeError as error:
            raise ValidationError(
                _("Signing key: %(error)s", error=error.message)
            ) from None


def signing_fingerprint(key_text):
    """SHA-256 fingerprint of the public half of a signing key, or False."""
    if not key_text:
        return False
    try:
        return public_key_fingerprint(key_text)
    except PheeError:
        return _("unreadable key")


def transport_warnings(values):
    """(credentials over plain http, TLS verification on with no https endpoint)
    for manager field values (a manager's own, or the defaults of Settings)."""
    urls = [values.get(fname) or "" for fname in URL_FIELDS]
    auth_url = (values.get("auth_endpoint_url") or "").lower()
    credentials_over_http = auth_url.startswith("http://") and bool(
        values.get("password")
    )
    tls_unused = bool(values.get("tls_verify")) and not any(
        url.lower().startswith("https://") for url in urls
    )
    return credentials_over_http, tls_unused


class G2PPaymentHubEEManager(models.Model):
    _name = "g2p.program.payment.manager.phee"
    _inherit = "g2p.program.payment.manager.default"
    _description = "Payment Hub EE Payment Manager"

    # Each payment manager declares its own relation table for tags.
    batch_tag_ids = fields.Many2many(
        "g2p.payment.batch.tag",
        "g2p_pay_batch_tag_pay_manager_phee",
        string="Batch Tags",
        ondelete="cascade",
    )
    create_batch = fields.Boolean("Automatically Create Batch", default=True)
    max_batch_size = fields.Integer(
        default=500,
        help="Most payments in one PHEE batch. Batches are also split so that "
        "each CSV file stays under PHEE's 100,000 byte limit.",
    )

    # Endpoints (in-cluster service names by default)
    auth_endpoint_url = fields.Char(
        "Authentication Endpoint URL",
        default=const.DEFAULT_ENDPOINTS["auth"],
        help="Operations app token endpoint. Leave empty when the operations "
        "app runs with authorization off.",
    )
    payment_endpoint_url = fields.Char(
        "Payment Endpoint URL",
        required=True,
        default=const.DEFAULT_ENDPOINTS["payment"],
        help="Bulk processor batch submission endpoint (/batchtransactions).",
    )
    status_endpoint_url = fields.Char(
        "Status Endpoint URL",
        required=True,
        default=const.DEFAULT_ENDPOINTS["status"],
        help="Operations app batch summary endpoint; the batch id is appended.",
    )
    details_endpoint_url = fields.Char(
        "Details Endpoint URL",
        required=True,
        default=const.DEFAULT_ENDPOINTS["details"],
        help="Operations app transfer details endpoint (/api/v1/batch/detail).",
    )
    batches_endpoint_url = fields.Char(
        "Batches Endpoint URL",
        required=True,
        default=const.DEFAULT_ENDPOINTS["batches"],
        help="Operations app batch list (/api/v1/batches), used to find a batch "
        "by its correlation id before sending it again.",
    )

    # Authentication. Empty credentials of a new manager are taken from Settings.
    tenant_id = fields.Char("Tenant ID", help="Sent as Platform-TenantId.")
    username = fields.Char(groups=ADMIN_GROUPS, copy=False)
    password = fields.Char(groups=ADMIN_GROUPS, copy=False)
    grant_type = fields.Char(groups=ADMIN_GROUPS, copy=False)
    authorization = fields.Char(
        groups=ADMIN_GROUPS,
        copy=False,
        help="Authorization header of the token request (the OAuth client).",
    )
    auth_token = fields.Char(
        "Authentication Token", groups=ADMIN_GROUPS, copy=False, readonly=True
    )
    auth_token_expires_at = fields.Datetime(
        "Token Expiry", groups=ADMIN_GROUPS, copy=False, readonly=True
    )
    signature_private_key = fields.Text(
        "Signing Private Key",
        groups=ADMIN_GROUPS,
        copy=False,
        help="RSA private key for the X-SIGNATURE header. Empty: no signature.",
    )
    tls_verify = fields.Boolean(
        "Verify TLS Certificates",
        default=True,
        help="Turn off only for a test deployment with self-signed certificates.",
    )
    tls_ca_bundle = fields.Char(
        "CA Bundle Path",
        help="Path on the Odoo server of a PEM bundle of trusted CAs, e.g. for "
        "PHEE's self-signed in-cluster certificates.",
    )

    # Batch and payment parameters
    payment_mode = fields.Char(required=True, default="mojaloop")
    payer_id_type = fields.Char(required=True, default="msisdn")
    payer_id = fields.Char()
    payee_id_type = fields.Selection(
        [
            ("bank_acc_no", "Bank Account Number"),
            ("bank_acc_iban", "IBAN"),
            ("phone", "Phone"),
            ("email", "Email"),
            ("reg_id", "Registrant ID"),
        ],
        "Payee ID Field",
        required=True,
        default="phone",
    )
    reg_id_type_for_payee_id = fields.Many2one("g2p.id.type", "Payee DFSP ID Type")
    payee_id_type_to_send = fields.Char(
        help="Identifier type written in the CSV. Empty: msisdn for phones, "
        "accountNumber for bank accounts and IDs, email for e-mails."
    )
    file_name_prefix = fields.Char("Filename Prefix", default="ph_ee_")
    batch_type_header = fields.Char(
        "Batch Transaction Type Header", default="csv", required=True
    )
    batch_purpose_header = fields.Char(
        "Batch Transaction Purpose Header", default="G2P Payment"
    )
    batch_request_timeout = fields.Integer(
        "Submission Timeout (seconds)",
        help="Seconds to wait for PHEE's answer to a batch submission.",
        default=60,
    )
    make_csv_at_prepare = fields.Boolean(
        "Attach CSV Files at Prepare",
        help="Render each batch's CSV file as an attachment when payments are "
        "prepared, so it can be reviewed before sending.",
    )
    allow_decimal_amounts = fields.Boolean(
        help="Only for deployments whose PHEE accepts decimal amounts. Real PHEE "
        "parses amounts as whole numbers."
    )
    resubmit_grace_minutes = fields.Integer(
        "Wait Before Re-sending (min)",
        default=10,
        help="After a submission whose outcome is unknown (timeout, server "
        "error), PHEE is searched for the batch; it is sent again only when PHEE "
        "still does not have it this many minutes after the attempt.",
    )

    import_deadline_minutes = fields.Integer(
        "Start Deadline (minutes)",
        default=60,
        help="A batch PHEE accepted but has not started this many minutes later "
        "needs attention: PHEE answers 202 even when its workflow fails to start.",
    )
    settle_deadline_hours = fields.Integer(
        "Settle Deadline (hours)",
        default=24,
        help="A batch with payments still unsettled this many hours after PHEE "
        "started it needs attention (its status is still checked).",
    )

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains(*URL_FIELDS)
    def _check_endpoint_urls(self):
        for rec in self:
            check_endpoint_urls(rec)

    @api.constrains(
        "max_batch_size",
        "batch_request_timeout",
        "batch_type_header",
        "import_deadline_minutes",
        "settle_deadline_hours",
    )
    def _check_batch_parameters(self):
        for rec in self:
            if rec.max_batch_size <= 0:
                raise ValidationError(_("Max batch size must be greater than zero."))
            if rec.batch_request_timeout <= 0:
                raise ValidationError(_("The request timeout must be positive."))
            if rec.import_deadline_minutes <= 0 or rec.settle_deadline_hours <= 0:
                raise ValidationError(_("The deadlines must be positive."))
            if (rec.batch_type_header or "").strip().lower() != "csv":
                raise ValidationError(
                    _("PHEE batches are sent as CSV files: the Type header is “csv”.")
                )

    @api.constrains("signature_private_key")
    def _check_signature_private_key(self):
        for rec in self.sudo():
            check_signing_key(rec.signature_private_key)

    @api.constrains("batch_tag_ids", "create_batch")
    def constrains_batch_tag_ids(self):
        """Override: without tags, every entitlement goes to one group of batches."""
        for rec in self:
            tags = rec.batch_tag_ids.sorted("order")
            if rec.create_batch and tags and tags[-1].domain != "[]":
                raise ValidationError(
                    _("Last tag in the Batch Tags list must contain empty domain.")
                )

    @api.onchange("tls_verify")
    def _onchange_tls_verify(self):
        if not self.tls_verify:
            return {
                "warning": {
                    "title": _("TLS verification off"),
                    "message": _(
                        "Odoo will accept any certificate from PHEE, so anyone on "
                        "the network path can read or change payment files. Prefer "
                        "a CA bundle path for self-signed certificates."
                    ),
                }
            }

    # ------------------------------------------------------------
    # PHEE CLIENT
    # ------------------------------------------------------------

    def _phee_payee_identifier_type(self):
        """Return the identifier type written in the CSV for this manager's payees."""
        self.ensure_one()
        return (self.payee_id_type_to_send or "").strip() or PAYEE_ID_TYPE_DEFAULTS[
            self.payee_id_type
        ]

    @api.model
    def _phee_config_from(self, values):
        """Build the PHEE client configuration from manager field values (a
        manager's own, or the defaults of Settings)."""
        verify = (
            (values.get("tls_ca_bundle") or True)
            if values.get("tls_verify", True)
            else False
        )
        return PheeConfig(
            **{fname: values.get(fname) or "" for fname in URL_FIELDS},
            tenant_id=values.get("tenant_id") or "",
            username=values.get("username") or "",
            password=values.get("password") or "",
            grant_type=values.get("grant_type") or "password",
            authorization=values.get("authorization")
            or const.DEFAULT_BASIC_AUTHORIZATION,
            verify=verify,
            read_timeout=float(values.get("batch_request_timeout") or 60),
            signature_private_key=values.get("signature_private_key") or "",
        )

    def _phee_config(self):
        """Build this manager's PHEE client configuration from what is saved
        (credentials read as superuser)."""
        self.ensure_one()
        rec = self.sudo()
        return self._phee_config_from({fname: rec[fname] for fname in CONFIG_FIELDS})

    def _phee_client(self):
        """Return a PHEE client seeded with the cached token.

        Refreshed tokens are written back to the manager.
        """
        self.ensure_one()
        rec = self.sudo()
        token = None
        if rec.auth_token and rec.auth_token_expires_at:
            expires = rec.auth_token_expires_at.replace(tzinfo=timezone.utc)
            token = Token(rec.auth_token, expires.timestamp())
        config = self._phee_config()
        config.validate()
        return PheeClient(config, token=token, on_token=rec._phee_store_token)

    def _phee_store_token(self, token):
        """Keep a refreshed token for the next runs. It is a cache: when another
        process holds or has just changed the manager's row (two syncs
        refreshing at once), this token is not kept, rather than failing the
        caller's work. Not through the ORM, whose log of a failed query would
        show the token."""
        expires = datetime.fromtimestamp(token.expires_at, tz=timezone.utc)
        cr, table = self.env.cr, SQL.identifier(self._table)
        try:
            with cr.savepoint(flush=False):
                cr.execute(
                    SQL(
                        "SELECT id FROM %s WHERE id = %s FOR NO KEY UPDATE NOWAIT",
                        table,
                        self.id,
                    ),
                    log_exceptions=False,
                )
                cr.execute(
                    SQL(
                        "UPDATE %s SET auth_token = %s, auth_token_expires_at = %s "
                        "WHERE id = %s",
                        table,
                        token.access_token,
                        expires.replace(tzinfo=None),
                        self.id,
                    ),
                    log_exceptions=False,
                )
        except (pg_errors.LockNotAvailable, pg_errors.SerializationFailure):
            _logger.info(
                "PHEE token of manager %s not kept: another process is keeping one",
                self.id,
            )
            return
        self.invalidate_recordset(["auth_token", "auth_token_expires_at"])

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_test_connection(self):
        """Fetch a token and query the operations app with the saved settings
        (set by an administrator); report the outcome."""
        self.ensure_one()
        return self._phee_test_connection(self._phee_config())

    @api.model
    def _phee_test_connection(self, config):
        """Try a PHEE configuration: token, then one operations-app call.

        :return: a notification with the success or PHEE's exact error, and a
            warning when batches would not be signed
        """
        notes = [] if config.signature_private_key else [str(NO_SIGNING_KEY_WARNING)]
        try:
            with PheeClient(config) as client:
                result = client.test_connection()
        except PheeError as error:
            return self._phee_notify(
                "\n".join(
                    [_("Connection failed: %(error)s", error=error.message)] + notes
                ),
                "danger",
                sticky=True,
                close=False,
            )
        message = (
            _("Connected: token obtained and operations app reachable.")
            if result.get("auth")
            else _("Connected: operations app reachable (authorization off).")
        )
        return self._phee_notify(
            "\n".join([message] + notes),
            "warning" if notes else "success",
            sticky=bool(notes),
            close=False,
        )

    @api.model
    def _phee_notify(self, message, kind="info", sticky=False, close=True):
        """Return a display_notification client action (closing any dialog)."""
        params = {
            "title": _("Payment Hub EE"),
            "message": message,
            "sticky": sticky,
            "type": kind,
            "className": "text-prewrap",
        }
        if close:
            params["next"] = {"type": "ir.actions.act_window_close"}
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": params,
        }

    @api.model
    def _phee_chatter_body(self, text):
        """Chatter body keeping the line breaks of a multi-line message."""
        return Markup("<br/>").join(text.split("\n"))

    def _phee_check_ready(self):
        """Raise a UserError listing every cycle-wide problem that blocks payments."""
        self.ensure_one()
        problems = []
        payer = self.payer_id and self.payer_id_type
        if not payer and not self._phee_budget_account():
            problems.append(_("the payer identifier and its type are required"))
        if not self.currency_id:
            problems.append(_("the program's journal has no currency"))
        if self.payee_id_type == "reg_id" and not self.reg_id_type_for_payee_id:
            problems.append(_("choose the ID type used as payee identifier"))
        if not self.tenant_id:
            problems.append(_("the tenant ID is required"))
        if problems:
            self._phee_refuse(problems)

    def _phee_refuse(self, problems):
        """Raise one error listing every cycle-wide problem."""
        raise UserError(
            _(
                "Payment Hub EE manager “%(name)s” cannot pay this cycle: "
                "%(problems)s.",
                name=self.name,
                problems="; ".join(problems),
            )
        )
