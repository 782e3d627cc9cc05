"""Usage errors (a missing flag, a bad value, a mistyped command) as the one ``error:`` line every other failure
is, with exit code 2, instead of click's usage text and boxed panel.

``HokusaiGroup`` is the root command's class, so both the installed ``hokusai`` and ``CliRunner`` go through it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from typer import Abort
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


class HokusaiGroup(TyperGroup):
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
