"""Why a staff action did not happen, in words the console shows as they are."""

from __future__ import annotations

from worker.errors import WorkerError


class ActionRefused(WorkerError):
    """The action is not allowed in the application's current state (or its input is
    unusable); nothing was changed. The message is Chinese, for staff."""


class NotFound(ActionRefused):
    """The application (or line, or file) does not exist."""
