"""The ``hokusai`` command. ``hokusai auth --help`` lists the key commands, ``hokusai org --help`` the
organization commands; ``--install-completion`` sets up shell completion."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Annotated, ClassVar

import typer

from hokusai._version import __version__
from hokusai.cli import _admin as admin
from hokusai.cli import _auth as auth
from hokusai.cli import _output as output
from hokusai.cli._usage import HokusaiGroup

__all__ = ["app", "main"]


class _Hokusai(HokusaiGroup):
    # `hokusai org` is built when it is used: typer reads every command's signature at each start, and building
    # the organization commands too would double that for every other command.
    lazy_groups: ClassVar[Mapping[str, str]] = {"org": "hokusai.cli._org"}


app = typer.Typer(
    cls=_Hokusai,  # a usage error is one `error:` line too
    help="Hokusai: API keys and the ML platform from the command line.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: long flags stay whole at 80 columns, examples keep their lines
    pretty_exceptions_enable=False,  # failures are one line (hokusai.cli._failures), never a traceback
)
app.add_typer(auth.app, name="auth")
app.add_typer(admin.app, name="admin")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hokusai {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    """Hokusai: API keys and the ML platform from the command line."""


def _show_warning(message: Warning | str, category: type[Warning], *_args: object, **_kwargs: object) -> None:
    output.warn(str(message))  # one line, not Python's file:line report


def main() -> None:
    warnings.showwarning = _show_warning
    app(prog_name="hokusai")
