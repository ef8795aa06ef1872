"""``RecoveryConfig`` (``[recovery]``), documented here; the model lives beside
:class:`~teragent.reliability.RecoveryManager`, in the reliability layer.

When the reliability layer leaves the kernel, this module goes and
:data:`teragent.moved.MOVED` serves the name from the plugin instead.
"""

from teragent.reliability.recovery_config import RecoveryConfig

__all__ = ["RecoveryConfig"]
