/** @odoo-module **/

import { registry } from "@web/core/registry";
import { check, checkAbsent } from "./phee_tour_utils";

const SECRET_FIELDS = [
    "username",
    "password",
    "grant_type",
    "authorization",
    "auth_token_expires_at",
    "signature_private_key",
    "phee_new_signing_key",
    "callback_enabled",
];

/** A program validator or manager opens a manager: no credential is shown. */
registry.category("web_tour.tours").add("g2p_payment_phee_no_secrets_tour", {
    test: true,
    steps: () => [
        check('.o_form_view div[name="tenant_id"]', "The manager form is open"),
        check('div[name="payment_endpoint_url"]', "Endpoints are visible"),
        ...SECRET_FIELDS.map((name) => checkAbsent(`[name="${name}"]`, `No ${name}`)),
        checkAbsent(
            '.o_horizontal_separator:contains("Credentials")',
            "No credentials group",
        ),
    ],
});
