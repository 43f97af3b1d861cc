"""Bridge settings, split by concern. Values that vary per machine come from ``config.env``."""

from .base import *  # noqa: F403
from .database import *  # noqa: F403
from .i18n import *  # noqa: F403
from .security import *  # noqa: F403
from .tasks import *  # noqa: F403
