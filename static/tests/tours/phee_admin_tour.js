/** @odoo-module **/

import { registry } from "@web/core/registry";
import {
    check,
    checkNotification,
    clickHeaderButton,
    closeNotification,
} from "./phee_tour_utils";

const WRONG_PASSWORD_ERROR =
    "PHEE answered HTTP 401 (Unauthorized): Invalid credentials";

/** An administrator tests the connection of a manager, then with a wrong password. */
registry.category("web_tour.tours").add("g2p_payment_phee_admin_manager_tour", {
    test: true,
    steps: () => [
        check('div[name="password"] input[type="password"]', "The password is masked"),
        check(
            'div[name="phee_new_signing_key"] textarea',
            "A new signing key can be pasted (the saved one is never shown)",
        ),
        check('div[name="phee_signing_fingerprint"]', "The key's fingerprint is shown"),
        {
            content: "Turn the status callback on",
            trigger: 'div[name="callback_enabled"] input',
        },
        check(
            'div[name="phee_callback_prefix"] .o_clipboard_button',
            "The callback URL prefix is shown, ready to copy",
        ),
        clickHeaderButton("action_test_connection", "Test the connection"),
        closeNotification("success", "Connected: token obtained"),
        {
            content: "Enter a wrong password",
            trigger: 'div[name="password"] input',
            run: "text not-the-password",
        },
        clickHeaderButton("action_test_connection", "Test the connection again"),
        checkNotification("danger", `Connection failed: ${WRONG_PASSWORD_ERROR}`),
    ],
});

/** The same from Settings, with the defaults for new managers (not saved first). */
registry.category("web_tour.tours").add("g2p_payment_phee_admin_settings_tour", {
    test: true,
    steps: () => [
        check(
            '.app_settings_block[data-key="g2p_payment_phee"] div[name="phee_default_tenant_id"]',
            "The Payment Hub EE settings are shown",
        ),
        check(
            'div[name="phee_default_password"] input[type="password"]',
            "The password is masked",
        ),
        check(
            'div[name="phee_status_sync_interval"] input',
            "The status sync interval",
        ),
        {
            content: "Test the connection",
            trigger: 'button[name="action_phee_test_connection"]',
        },
        closeNotification("success", "Connected: token obtained"),
        {
            content: "Enter a wrong password",
            trigger: 'div[name="phee_default_password"] input',
            run: "text not-the-password",
        },
        {
            content: "Test the connection again, without saving the settings",
            trigger: 'button[name="action_phee_test_connection"]',
        },
        checkNotification("danger", `Connection failed: ${WRONG_PASSWORD_ERROR}`),
    ],
});
