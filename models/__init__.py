from . import (
    cycle,
    payment,
    payment_batch,
    payment_manager,
    phee_bulk,
    phee_guard,
    phee_manager,
    phee_manager_prepare,
    phee_manager_recovery,
    phee_manager_send,
    phee_manager_sync,
    res_config_settings,
)
