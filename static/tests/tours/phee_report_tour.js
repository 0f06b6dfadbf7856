/** @odoo-module **/

import { registry } from "@web/core/registry";
import { jsonrpc } from "@web/core/network/rpc_service";
import { check } from "./phee_tour_utils";

const HEADER = ".o_form_view .o_statusbar_buttons";
const RECONCILIATION = ".o_form_view .o_phee_reconciliation";
const REPORT = "iframe .o_phee_disbursement_report";

/** The row of `label` in a pivot table's body. */
function pivotRow(label) {
    return `.o_pivot tbody tr:has(th:contains("${label}"))`;
}

function back() {
    return { content: "Back to the cycle", trigger: ".o_back_button" };
}

function cycleId() {
    return Number(new URLSearchParams(window.location.hash.slice(1)).get("id"));
}

/**
 * Wait until the cycle's chatter notes `count` exports as `kind` (CSV, XLSX):
 * the download was served, and who took the data is on record.
 */
function waitForExportNotes(kind, count) {
    return {
        content: `The cycle notes ${count} ${kind} export(s)`,
        trigger: HEADER,
        run: async () => {
            const domain = [
                ["model", "=", "g2p.cycle"],
                ["res_id", "=", cycleId()],
                ["body", "ilike", `payments (${kind})`],
            ];
            for (let attempt = 0; attempt < 50; attempt++) {
                const found = await jsonrpc(
                    "/web/dataset/call_kw/mail.message/search_count",
                    {
                        model: "mail.message",
                        method: "search_count",
                        args: [domain],
                        kwargs: {},
                    },
                );
                if (found >= count) {
                    return;
                }
                await new Promise((resolve) => setTimeout(resolve, 200));
            }
            throw new Error(`The ${kind} export was not served`);
        },
    };
}

/**
 * Fetch the CSV export of the cycle on screen as the user: a header line with
 * the PHEE ids, then one line per payment.
 */
function checkCsvExport(payments) {
    return {
        content: `The CSV export lists the ${payments} payments with their PHEE ids`,
        trigger: `${RECONCILIATION} button[name="action_phee_export_payments_csv"]`,
        run: async () => {
            const response = await fetch(
                `/g2p_payment_phee/cycle/${cycleId()}/payments/csv`,
            );
            const lines = (await response.text()).trim().split(/\r?\n/);
            if (
                response.status !== 200 ||
                lines.length !== payments + 1 ||
                !lines[0].includes("PHEE Reference")
            ) {
                throw new Error(`Unexpected export: ${response.status} ${lines[0]}`);
            }
        },
    };
}

/**
 * A finance officer reconciles a paid cycle of 6 payments (4 paid, 1 refused by
 * PHEE, 1 held back): the dashboard, the timeline, the report on screen, and
 * the exports.
 */
registry.category("web_tour.tours").add("g2p_payment_phee_report_tour", {
    test: true,
    steps: () => [
        check(
            `${HEADER} button[name="action_phee_print_disbursement_report"]`,
            "The disbursement report can be printed",
        ),
        // The payment dashboard: a chart, then a pivot table by PHEE state.
        {
            content: "Open the payment dashboard",
            trigger: 'button[name="action_phee_open_payment_dashboard"]',
        },
        check(".o_graph_view .o_graph_renderer canvas", "Payments by PHEE state"),
        { content: "Switch to the pivot table", trigger: ".o_switch_view.o_pivot" },
        check(`${pivotRow("Paid")} td:eq(0):contains("4")`, "4 paid"),
        check(`${pivotRow("Failed")} td:eq(0):contains("1")`, "1 refused by PHEE"),
        check(`${pivotRow("Held back")} td:eq(0):contains("1")`, "1 held back"),
        check('.o_pivot thead:contains("Amount Paid")', "Amounts issued and paid"),
        back(),
        // The timeline: paid, failed and pending over time.
        {
            content: "Open the payment timeline",
            trigger: `${RECONCILIATION} button[name="action_phee_open_payment_timeline"]`,
        },
        check(".o_graph_view .o_graph_renderer canvas", "Payments over time"),
        { content: "Switch to the pivot table", trigger: ".o_switch_view.o_pivot" },
        check(`${pivotRow("Paid")} td:nth-last-child(2):contains("4")`, "4 paid"),
        check(
            `${pivotRow("Pending")} td:nth-last-child(2):contains("0")`,
            "none pending",
        ),
        back(),
        // The report on screen.
        {
            content: "Show the disbursement report",
            trigger: `${RECONCILIATION} button[name="action_phee_preview_disbursement_report"]`,
        },
        check(
            `${REPORT} tr[data-key="paid"] td[name="count"]:contains("4")`,
            "The report counts 4 paid",
        ),
        check(
            `${REPORT} tr[data-key="failed"] td[name="count"]:contains("1")`,
            "and 1 refused by PHEE",
        ),
        check(`${REPORT} .o_phee_reasons:contains("not found")`, "with PHEE's reason"),
        check(
            `${REPORT} .o_phee_checks:contains("Agrees"):not(:contains("Differs"))`,
            "PHEE's counters agree with the payments",
        ),
        check(
            `${REPORT} .o_phee_signatures:contains("Verified by (finance)")`,
            "A signature block",
        ),
        back(),
        // The exports.
        checkCsvExport(6),
        waitForExportNotes("CSV", 1),
        {
            content: "Download the CSV export",
            trigger: `${RECONCILIATION} button[name="action_phee_export_payments_csv"]`,
        },
        waitForExportNotes("CSV", 2),
        {
            content: "Download the Excel export",
            trigger: `${RECONCILIATION} button[name="action_phee_export_payments_xlsx"]`,
        },
        waitForExportNotes("XLSX", 1),
        check(HEADER, "Still on the cycle"),
    ],
});
