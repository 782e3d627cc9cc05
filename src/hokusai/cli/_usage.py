"""Usage errors (a missing flag, a bad value, a mistyped command) as the one ``error:`` line every other failure
is, with exit code 2, instead of click's usage text and boxed panel; and command groups built on first use.

``HokusaiGroup`` is the root command's class, so both the installed ``hokusai`` and ``CliRunner`` go through it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from functools import cache
from importlib import import_module
from typing import Any, ClassVar

from typer import Abort
from typer._click.core import Command
from typer._click.exceptions import BadParameter, ClickException, MissingParameter, NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from hokusai.cli import _output as output

USAGE = 2


def _sentence(text: str) -> str:
    """One line, no trailing period, starting lower-case like every other ``error:`` line."""
    text = " ".join(text.split()).rstrip(".")
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _flag(error: BadParameter) -> str | None:
    param = error.param
    if param is None:
        return error.param_hint if isinstance(error.param_hint, str) else None
    long_names = [name for name in param.opts if name.startswith("--")]
    return long_names[0] if long_names else (param.name or "").upper() or None


def command_path(root: TyperGroup, args: Sequence[str], prog_name: str) -> str:
    """The deepest command ``args`` name ("hokusai auth create-key"): click attaches some parse errors to the
    root's context, which would point the user at the wrong --help."""
    path, command = [prog_name], root
    for arg in args:
        if arg.startswith("-"):
            continue
        found = command.commands.get(arg)
        if found is None:
            break
        path.append(arg)
        if not isinstance(found, TyperGroup):
            break
        command = found
    return " ".join(path)


def usage_message(error: UsageError, command: str) -> str:
    """What went wrong and where to read more, on one line."""
    if isinstance(error, BadParameter) and not isinstance(error, MissingParameter):
        # typer coerces values through pydantic, whose messages start with "Value error, ".
        detail = _sentence(error.message.removeprefix("Value error, "))
        flag = _flag(error)
        message = f"{flag}: {detail}" if flag else detail
    else:
        message = _sentence(error.format_message())
    return f"{message} (see '{command} --help')"


class LazyCommands(MutableMapping[str, Command]):
    """A group's commands, some of them built only when first looked up. Typer builds every command of the tree
    (reading each signature) at every start; a group that only some invocations use is cheaper built on demand.
    Its name is known from the start, so listings, help and "Did you mean" still see it."""

    def __init__(self, built: MutableMapping[str, Command], lazy: Mapping[str, Callable[[], Command]]) -> None:
        self._built = built
        self._lazy = dict(lazy)

    def __getitem__(self, name: str) -> Command:
        if name not in self._built and name in self._lazy:
            self._built[name] = self._lazy.pop(name)()
        return self._built[name]

    def __setitem__(self, name: str, command: Command) -> None:
        self._lazy.pop(name, None)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        if self._lazy.pop(name, None) is None:
            del self._built[name]

    def __iter__(self) -> Iterator[str]:
        yield from self._built
        yield from (name for name in self._lazy if name not in self._built)

    def __len__(self) -> int:
        return len(self._built) + len(self._lazy.keys() - self._built.keys())


@cache
def _built(module: str, name: str) -> Command:
    # Once per process: a click command keeps no state between invocations (each gets its own context), and
    # CliRunner invokes many times in one process.
    from typer.main import get_group

    group = get_group(import_module(module).app)
    group.name = name
    return group


def typer_group(module: str, name: str) -> Callable[[], Command]:
    """A builder of the group ``app`` of ``module`` (a ``typer.Typer``), named ``name``."""
    return lambda: _built(module, name)


class HokusaiGroup(TyperGroup):
    # Subgroups built on first use: name -> where their typer.Typer is (see LazyCommands). Set by a subclass.
    lazy_groups: ClassVar[Mapping[str, str]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lazy = {name: typer_group(module, name) for name, module in self.lazy_groups.items()}
        self.commands = LazyCommands(self.commands, lazy)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # the names only: a listing builds nothing

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = result if isinstance(result, int) else 0
        except NoArgsIsHelpError as error:
            # `hokusai` or `hokusai auth` alone asks what there is: the help, on stdout, and success.
            sys.stdout.write(error.format_message().rstrip("\n") + "\n")
            code = 0
        except UsageError as error:
            given = list(sys.argv[1:] if args is None else args)
            output.error(usage_message(error, command_path(self, given, prog_name or "hokusai")))
            code = USAGE
        except ClickException as error:
            output.error(_sentence(error.format_message()))
            code = error.exit_code
        except Abort:
            output.error("aborted")
            code = 1
        if standalone_mode:
            sys.exit(code)
        return code
