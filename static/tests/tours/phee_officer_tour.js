/** @odoo-module **/

import { registry } from "@web/core/registry";
import {
    check,
    checkAbsent,
    clickHeaderButton,
    closeNotification,
    confirmDialog,
} from "./phee_tour_utils";

const BATCHES = '.o_field_widget[name="payment_batch_ids"]';
const HEADER = ".o_statusbar_buttons";
// Rows of the cycle's batch list, told apart by their number of payments.
const BATCH_OF_3 = `${BATCHES} .o_data_row:has(td[name="payment_ids"]:contains("3 records"))`;
const BATCH_OF_1 = `${BATCHES} .o_data_row:has(td[name="payment_ids"]:contains("1 record"))`;

/**
 * A program manager pays a cycle of 5 registrants: 3 are paid, 1 fails at PHEE
 * (unknown payee), 1 has no phone and is held back when payments are prepared.
 * With at most 3 payments per batch, the 4 payable payments make 2 batches.
 */
registry.category("web_tour.tours").add("g2p_payment_phee_officer_tour", {
    test: true,
    steps: () => [
        check(
            `${HEADER} button[name="prepare_payment"]`,
            "Prepare Payments is offered",
        ),
        checkAbsent(`${HEADER} button[name="send_payment"]`, "Nothing to send yet"),
        checkAbsent(
            'button[name="action_phee_check_status"]',
            "No status to check before sending",
        ),
        checkAbsent('button[name="action_phee_retry_failed"]', "Nothing failed yet"),
        clickHeaderButton("prepare_payment", "Prepare the cycle's payments"),
        closeNotification(
            "warning",
            "4 payments prepared in 2 batches",
            "No Phone Beneficiary: registrant has no Phone",
        ),
        check(`${BATCH_OF_3} .o_field_badge:contains("Draft")`, "A draft batch of 3"),
        check(`${BATCH_OF_1} .o_field_badge:contains("Draft")`, "A draft batch of 1"),
        check(
            `${BATCH_OF_3} td[name="stats_issued_amount"]:contains("1,500.00")`,
            "The batch of 3 pays 1,500",
        ),
        check(
            `${BATCH_OF_3} button[name="action_phee_download_csv"]`,
            "Each batch's CSV can be downloaded",
        ),
        check(`${HEADER} button[name="send_payment"]`, "Send Payments is offered"),
        // Send one batch from its row.
        {
            content: "Send the batch of 3 only",
            trigger: `${BATCH_OF_3} button[name="send_payment"]`,
        },
        confirmDialog("Send this batch for payment?"),
        closeNotification("success", "Sent: 1"),
        check(
            `${BATCH_OF_3} .o_field_badge:contains("Sent")`,
            "The batch of 3 is sent",
        ),
        check(
            `${BATCH_OF_3}:not(:has(button[name="send_payment"]))`,
            "A sent batch cannot be sent again from its row",
        ),
        check(
            `${BATCH_OF_1} .o_field_badge:contains("Draft")`,
            "The batch of 1 is still a draft",
        ),
        check(
            'button[name="action_phee_check_status"]',
            "Its status can be checked now",
        ),
        // Send the rest of the cycle from the header.
        clickHeaderButton("send_payment", "Send the cycle's payments"),
        confirmDialog("Send the cycle's payment batches for payment?"),
        closeNotification("success", "Sent: 1", "Sent earlier: 1"),
        check(`${BATCH_OF_1} .o_field_badge:contains("Sent")`, "Both batches are sent"),
        // Ask PHEE for the outcome.
        clickHeaderButton("action_phee_check_status", "Check the payment status"),
        closeNotification("warning", "3 paid", "2 failed", "0 pending"),
        check(
            `${BATCH_OF_3} .o_field_badge:contains("Completed")`,
            "The batch of 3 is completed",
        ),
        check(
            `${BATCH_OF_1} .o_field_badge:contains("Completed with Failures")`,
            "The batch with the unknown payee completed with failures",
        ),
        check(
            `${BATCH_OF_1} td[name="stats_failed_transactions"]:contains("1")`,
            "Its failed payment is counted",
        ),
        check('div[name="phee_paid_count"]:contains("3")', "3 payments paid"),
        check('div[name="phee_paid_amount"]:contains("1,500.00")', "1,500 paid"),
        check('div[name="phee_failed_count"]:contains("2")', "2 payments failed"),
        check('div[name="phee_failed_amount"]:contains("1,000.00")', "1,000 failed"),
        checkAbsent(
            'button[name="action_phee_check_status"]',
            "Nothing left to check at PHEE",
        ),
        // The failed payments and their reasons are one click away.
        {
            content: "See why payments failed",
            trigger: 'button[name="action_phee_open_failed_payments"]',
        },
        check(
            '.o_list_view .o_group_name:contains("registrant has no Phone (1)")',
            "Held-back payment, grouped under its reason",
        ),
        check(
            '.o_list_view .o_group_name:contains("Party not found (1)")',
            "Payment refused by PHEE, grouped under its reason",
        ),
        check(
            ".o_list_view .o_group_header:eq(1):not(:has(~ .o_group_header))",
            "Exactly two reasons",
        ),
        {
            content: "Open the group of the payment refused by PHEE",
            trigger: '.o_list_view .o_group_name:contains("Party not found (1)")',
        },
        check(
            '.o_list_view .o_data_row td[name="phee_next_step"]:contains("ask the beneficiary to register it")',
            "The refused payment says what to do next",
        ),
        {
            content: "Open the registrant of the refused payment",
            trigger: '.o_list_view .o_data_row button[name="action_phee_open_registrant"]',
        },
        check(
            '.o_breadcrumb .active:contains("Unknown Payee")',
            "The registrant's form opens, to correct the number",
        ),
        {
            content: "Back to the cycle",
            trigger: '.o_breadcrumb .breadcrumb-item a:contains("Cycle 1")',
        },
        check('div[name="phee_paid_count"]', "The cycle's form is back"),
        // Both failures would fail again unchanged: nothing to retry yet.
        checkAbsent(
            `${HEADER} button[name="action_phee_retry_failed"]`,
            "No retry offered while every failure would fail again unchanged",
        ),
        check(
            '.o_form_view div:contains("Nothing to retry yet")',
            "and the cycle says why, and what to do",
        ),
        check(
            '.o_form_view button[name="action_phee_retry_failed"]:contains("registered their numbers since")',
            "Retrying the unknown payee stays possible, on purpose",
        ),
    ],
});

/**
 * The officer corrected the registrant held back for its missing phone: Retry
 * says how many payments it will issue and why, then issues them.
 */
registry.category("web_tour.tours").add("g2p_payment_phee_officer_retry_tour", {
    test: true,
    steps: () => [
        clickHeaderButton("action_phee_retry_failed", "Retry the failed payments"),
        check(
            '.modal-body:contains("1 payment will be issued"):contains("their registrant corrected")',
            "The retry says how many payments it issues, and why",
        ),
        check(
            '.modal-body:contains("1 payment not retried"):contains("Party not found")',
            "and which it leaves, with the reason",
        ),
        {
            content: "Issue the payments",
            trigger: '.modal-footer button[name="action_retry"]',
        },
        closeNotification(
            "warning",
            "1 payment prepared in 1 batch.",
            "1 payment that failed not issued again",
        ),
        check(
            `${BATCHES} .o_data_row:has(.o_field_badge:contains("Draft")) button[name="send_payment"]`,
            "The retry is a new draft batch, ready to send",
        ),
    ],
});

/**
 * A program manager sends a cycle whose batches go to queue jobs: the cycle is
 * locked with the reason shown, its actions hidden, and the chatter tells.
 */
registry.category("web_tour.tours").add("g2p_payment_phee_officer_async_tour", {
    test: true,
    steps: () => [
        clickHeaderButton("send_payment", "Send the cycle's payments"),
        confirmDialog("Send the cycle's payment batches for payment?"),
        closeNotification("success", "Sending Payments Asynchronously"),
        check(
            '.o_form_view .alert-warning:contains("Sending payment batches to PHEE.")',
            "The cycle is locked while the batches are being sent",
        ),
        checkAbsent(`${HEADER} button[name="send_payment"]`, "No second send"),
        checkAbsent(`${HEADER} button[name="prepare_payment"]`, "No prepare either"),
        checkAbsent(`${BATCHES} button[name="send_payment"]`, "No batch sent twice"),
        {
            content: "Refresh the page",
            trigger: '.o_form_view .alert-warning button[name="refresh_page"]',
        },
        check(
            '.o-mail-Message:contains("Sending 2 batches to PHEE started.")',
            "The chatter tells that sending started",
        ),
    ],
});
