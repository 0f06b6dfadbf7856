-- Copied databases must never pay anyone: drop credentials and stop callbacks.
UPDATE g2p_program_payment_manager_phee
   SET password = NULL,
       authorization = NULL,
       auth_token = NULL,
       auth_token_expires_at = NULL,
       signature_private_key = NULL,
       callback_enabled = FALSE;
DELETE FROM ir_config_parameter
 WHERE key IN ('g2p_payment_phee.default_password',
               'g2p_payment_phee.default_authorization');
