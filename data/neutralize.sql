-- A neutralized copy must never reach PHEE nor pay anyone: every PHEE secret is
-- blanked, every endpoint points at a host that cannot resolve, callbacks and
-- the status sync stop, and PHEE jobs not run yet are cancelled.
-- ("authorization" is a reserved word: quoted.)
UPDATE g2p_program_payment_manager_phee
   SET username = NULL,
       password = NULL,
       "authorization" = NULL,
       auth_token = NULL,
       auth_token_expires_at = NULL,
       signature_private_key = NULL,
       callback_token = NULL,
       callback_enabled = FALSE,
       auth_endpoint_url = regexp_replace(auth_endpoint_url, '^https?://[^/]*', 'https://phee.invalid', 'i'),
       payment_endpoint_url = regexp_replace(payment_endpoint_url, '^https?://[^/]*', 'https://phee.invalid', 'i'),
       status_endpoint_url = regexp_replace(status_endpoint_url, '^https?://[^/]*', 'https://phee.invalid', 'i'),
       details_endpoint_url = regexp_replace(details_endpoint_url, '^https?://[^/]*', 'https://phee.invalid', 'i'),
       batches_endpoint_url = regexp_replace(batches_endpoint_url, '^https?://[^/]*', 'https://phee.invalid', 'i');

-- The defaults Settings gives new managers.
UPDATE g2p_phee_settings
   SET username = NULL,
       password = NULL,
       "authorization" = NULL,
       signature_private_key = NULL,
       callback_enabled = FALSE,
       auth_endpoint_url = regexp_replace(auth_endpoint_url, '^https?://[^/]*', 'https://phee.invalid', 'i'),
       payment_endpoint_url = regexp_replace(payment_endpoint_url, '^https?://[^/]*', 'https://phee.invalid', 'i'),
       status_endpoint_url = regexp_replace(status_endpoint_url, '^https?://[^/]*', 'https://phee.invalid', 'i'),
       details_endpoint_url = regexp_replace(details_endpoint_url, '^https?://[^/]*', 'https://phee.invalid', 'i'),
       batches_endpoint_url = regexp_replace(batches_endpoint_url, '^https?://[^/]*', 'https://phee.invalid', 'i');

-- Settings pages not yet vacuumed keep what an administrator typed.
UPDATE res_config_settings
   SET phee_default_username = NULL,
       phee_default_password = NULL,
       phee_default_authorization = NULL,
       phee_default_new_signing_key = NULL;

UPDATE ir_cron
   SET active = FALSE
 WHERE id IN (SELECT res_id
                FROM ir_model_data
               WHERE module = 'g2p_payment_phee'
                 AND model = 'ir.cron');

UPDATE queue_job
   SET state = 'cancelled',
       date_cancelled = now() AT TIME ZONE 'UTC'
 WHERE state IN ('wait_dependencies', 'pending', 'enqueued', 'started', 'failed')
   AND (identity_key LIKE 'g2p\_payment\_phee.%'
        OR model_name = 'g2p.program.payment.manager.phee');
