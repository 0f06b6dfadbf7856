"""Budget accounts, the account-lookup workflow and budget refusals.

- Budget account (bulk-processor ProcessorStartRouteService
  ``updateIncomingData``, BudgetAccountConfig): when a submission carries both
  ``X-Registering-Institution-ID`` and ``X-Program-ID`` and
  ``budget-account.registeringInstitutions[id].programs[id]`` lists them, every
  row's payer identifier type and value become the program's; the file is then
  rewritten from the Transaction schema (``direct:update-file-v2``), 15
  columns, so its lines are re-read whole after splitting.
- Positional re-read (utility/TransactionParser.java): a split batch's lines
  are parsed by position and ``payee_dfsp_id`` is taken only from a line of
  more than 13 fields.
- Account look-up (tenants whose workflow is ``bulk_processor_account_lookup``,
  application.yaml ``bpmns``): the identity account mapper answers only for
  functional ids registered under the batch's registering institution
  (AccountLookupService.batchAccountLookup); the processor then fails the others
  with code 404 "Payee Identifier not found" and puts the financial address and
  the bank's institution code in the others' rows
  (AccountLookupCallbackRoute.updateTransactionStatus). The importer records the
  found rows' count and amount as the batch's approved count and amount (flow
  ``bulk_processor_account_lookup``: ``totalApprovedAmount``).
- Budget refusal (bulk-processor AuthorizationWorker, CallbackController): a
  batch whose authorization is refused gets approved amount 0 and runs no
  payment.

Mixed into ``ServerState``: uses its ``budget_accounts``, ``lookup_tenants``,
``mapper_payees`` and ``_reject_budget``.
"""

from __future__ import annotations

from .records import amount_of

LOOKUP_FAILURE = "Payee Identifier not found"
TRANSACTION_FIELDS = 15  # Transaction's @JsonPropertyOrder


def budget_account_rule(config) -> dict:
    """``{institution: {program: (identifier type, identifier value)}}`` from
    the ``budget_accounts`` option (the same shape, pairs or mappings with
    ``identifierType``/``identifierValue``)."""
    rules = {}
    for institution, programs in (config or {}).items():
        rules[str(institution)] = {}
        for program, account in dict(programs).items():
            if isinstance(account, dict):
                account = (account["identifierType"], account["identifierValue"])
            kind, value = account
            rules[str(institution)][str(program)] = (str(kind), str(value))
    return rules


class BudgetFlow:
    """What the bulk processor makes of budget accounts and look-ups."""

    def _budget_account(self, headers: dict):
        """The (type, value) the submission's payer becomes, or None."""
        institution = headers.get("x-registering-institution-id")
        program = headers.get("x-program-id")
        if not (institution and program):
            return None
        return self.budget_accounts.get(institution, {}).get(program)

    def _replace_payer(self, record, field_counts: list) -> None:
        """updateIncomingData: every row gets the program's budget account."""
        account = self._budget_account(record.headers)
        if account is None:
            return
        for row in record.rows:
            row["payer_identifier_type"], row["payer_identifier"] = account
        field_counts[:] = [TRANSACTION_FIELDS] * len(field_counts)

    @staticmethod
    def _reread(row: dict, field_count: int) -> dict:
        """TransactionParser's view of a line with ``field_count`` fields."""
        if field_count > 13:
            return row
        return {**row, "payee_dfsp_id": None}

    def _look_up(self, record) -> set:
        """Rows' payees resolved through the mapper; returns the indexes of the
        rows whose functional id it does not know."""
        if record.tenant not in self.lookup_tenants:
            return set()
        institution = record.headers.get("x-registering-institution-id")
        known = self.mapper_payees.get(institution, {})
        unknown = set()
        for index, row in enumerate(record.rows):
            found = known.get(row["payee_identifier"])
            if found is None:
                unknown.add(index)
            else:
                row["payee_identifier"], row["payee_dfsp_id"] = found
        return unknown

    def _approve(self, record, unknown: set, kept: list) -> bool:
        """Record what PHEE approved; False when the budget was refused."""
        parent = record.parent
        if self._reject_budget(record.correlation_id, self._accepted):
            parent.approved_amount = parent.approved_count = 0
            parent.status = "FAILED"
            return False
        approved = [r for i, r in kept if i not in unknown]
        parent.approved_count = len(approved)
        parent.approved_amount = sum(int(amount_of(r["amount"])) for r in approved)
        return True
