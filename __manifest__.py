# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
{
    "name": "G2P Payment: Payment Hub EE",
    "summary": "Pay program beneficiaries through Mifos Payment Hub EE bulk "
    "transfers, with status tracking and reconciliation.",
    "category": "G2P",
    "version": "17.0.1.1.0",
    "author": "OpenG2P",
    "website": "https://github.com/OpenG2P/openg2p-program",
    "license": "LGPL-3",
    "depends": [
        "base",
        "mail",
        "queue_job",
        "g2p_registry_base",
        "g2p_programs",
    ],
    "external_dependencies": {"python": ["requests", "pandas"]},
    "data": [
        "security/ir.model.access.csv",
        "security/phee_security.xml",
        "security/phee_report_security.xml",
        "data/queue_job_data.xml",
        "data/ir_cron_data.xml",
        "views/phee_payment_manager_views.xml",
        "views/phee_payment_manager_budget_views.xml",
        "views/payment_batch_views.xml",
        "views/payment_batch_phee_view_views.xml",
        "views/payment_views.xml",
        "views/cycle_retry_wizard_views.xml",
        "views/cycle_views.xml",
        "views/cycle_report_views.xml",
        "report/disbursement_report.xml",
        "views/res_config_settings_views.xml",
        "views/menus.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "g2p_payment_phee/static/tests/tours/*.js",
        ],
    },
}
