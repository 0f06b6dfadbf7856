from . import test_prepare
from . import test_send
from . import test_faults
from . import test_sync
from . import test_security
from . import test_callback
