"""The command table's parts (``worker/commands/__init__.py`` explains how to add a
command): ``arg`` for an option, ``Command`` for one entry, ``CommandTable`` for a
module's commands in their ``--help`` order, ``print_json`` for a command's output."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Func = Callable[..., int]  # (app, args) -> exit code, or (args) -> exit code when not uses_app


@dataclass(frozen=True)
class Arg:
    """One ``add_argument`` call."""

    flags: tuple[str, ...]
    options: dict[str, Any]


def arg(*flags: str, **options: Any) -> Arg:
    return Arg(flags, options)


@dataclass(frozen=True)
class Command:
    name: str                  # "run", or "group action" such as "staff add"
    help: str                  # one line, shown in the command list
    example: str               # shown under the command's --help
    func: Func
    args: tuple[Arg, ...] = ()
    uses_app: bool = True
    details: str = ""          # more text under the command's --help


class CommandTable(list[Command]):
    """One module's commands, in the order they are defined (the order in ``--help``)."""

    def command(self, name: str, help: str, *, example: str, args: list[Arg] | tuple[Arg, ...] = (),
                uses_app: bool = True, details: str = "") -> Callable[[Func], Func]:
        """Register the decorated function as the command ``name``."""
        def register(func: Func) -> Func:
            self.append(Command(name, help, example, func, tuple(args), uses_app, details))
            return func
        return register


def print_json(data: object) -> None:
    """One JSON document on stdout, Chinese kept as it is."""
    print(json.dumps(data, ensure_ascii=False))
