"""The chrooted Asterisk the demo, the integration tests and CI run against."""

from robot.devtools.asterisk.runtime import (
    AsteriskError,
    AsteriskNotInstalled,
    AsteriskRuntime,
    environment_problem,
)

__all__ = ["AsteriskError", "AsteriskNotInstalled", "AsteriskRuntime", "environment_problem"]
