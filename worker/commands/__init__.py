"""The commands of ``invoice-worker``, one function each (the parser is ``worker/cli.py``),
by what they serve: ``operations`` (the schema, payments in, the pass and what goes out),
``tax`` (the tax platform), ``staff`` (accounts, status, reports, the console) and
``offline`` (without a database: check-config, the blank form, the demo).

Adding a command is one decorated function in its module::

    @command("staff list", "list the console accounts",
             example="invoice-worker --config my.toml staff list",
             args=[arg("--all", action="store_true", help="include disabled accounts")])
    def staff_list(app: App, args: Namespace) -> int:
        ...
        return 0

where each module has ``COMMANDS = CommandTable()`` and ``command = COMMANDS.command``
(``worker/commands/table.py``); a new module is one more entry in ``COMMANDS`` below.
A name with a space (``"staff list"``, ``"tax export"``) is an action of a command
group; give the group's help once in ``GROUPS``. ``uses_app=False`` for a command that
must work without a database (the function then takes ``args`` only). The function
returns the exit code (``worker/cli.py`` lists them); raising a ``WorkerError`` maps to
its code there. Heavy modules are imported inside the functions, so ``--help`` stays fast.
"""

from __future__ import annotations

from worker.commands import offline, operations, staff, tax
from worker.commands.table import Command

# The order of ``--help``: with the database first, then without.
COMMANDS: list[Command] = [*operations.COMMANDS, *tax.COMMANDS, *staff.COMMANDS, *offline.COMMANDS]
GROUPS: dict[str, str] = {
    "staff": "console accounts",
    "tax": "the tax platform (电子发票服务平台): hand over planned invoices, bring issued ones back",
}
