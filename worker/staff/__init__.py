"""Staff accounts and the console's actions, as plain functions outside the web layer.

The console (and any future CLI or script) calls these; each action runs in one
transaction with its audit entry, so what the audit log says is what happened.
"""

from __future__ import annotations

from worker.staff.accounts import Actor, create_staff, hash_password, set_password, verify_password
from worker.staff.errors import ActionRefused, NotFound

__all__ = ["ActionRefused", "Actor", "NotFound", "create_staff", "hash_password", "set_password",
           "verify_password"]
