from . import (
    test_admin,
    test_callback,
    test_faults,
    test_performance_paths,
    test_prepare,
    test_security,
    test_send,
    test_state_machine,
    test_sync,
    test_ui_tours,
    test_upgrade,
)
