/** @odoo-module **/

/**
 * Step helpers shared by the Payment Hub EE tours.
 */

/** Click a button of the form's status bar (header). */
export function clickHeaderButton(name, content) {
    return {
        content,
        trigger: `.o_form_view .o_statusbar_buttons button[name="${name}"]`,
    };
}

/** Accept the confirmation dialog showing `text`. */
export function confirmDialog(text) {
    return {
        content: `Confirm: ${text}`,
        extra_trigger: `.modal-body:contains("${text}")`,
        trigger: ".modal-footer .btn-primary",
    };
}

/**
 * Wait for a notification of `type` (success, warning, danger) containing every
 * text of `texts`, then close it so that later steps never see it again.
 */
export function closeNotification(type, ...texts) {
    const contains = texts.map((text) => `:contains("${text}")`).join("");
    return {
        content: `Notification (${type}): ${texts.join(" / ")}`,
        trigger: `.o_notification.border-${type}${contains} .o_notification_close`,
    };
}

/** Assert that a notification of `type` containing every text of `texts` shows. */
export function checkNotification(type, ...texts) {
    const contains = texts.map((text) => `:contains("${text}")`).join("");
    return check(
        `.o_notification.border-${type}${contains}`,
        `Notification (${type}): ${texts.join(" / ")}`,
    );
}

/** Assert that `selector` is in the page (no action). */
export function check(selector, content) {
    return { content, trigger: selector, isCheck: true };
}

/** Assert that the form view has no element matching `selector`. */
export function checkAbsent(selector, content) {
    return check(`.o_form_view:not(:has(${selector}))`, content);
}
