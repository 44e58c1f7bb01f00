"""The `cardiacclip` application: the Typer app, the consoles, the exit statuses and the turning of the errors
that stop a command into one line (exit status 2). The commands live in the modules beside it, one per group.

A user mistake never ends in a Python traceback (tests/test_cli_mistakes.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from cardiacclip.about import RESEARCH_NOTICE, __version__
from cardiacclip.logging_setup import configure_logging

if TYPE_CHECKING:
    from cardiacclip.config import RunConfig

# What each exit status means, for every command (the manual's reference is generated from this table).
EXIT_STATUSES = {
    0: "every input processed",
    1: "some inputs failed (their rows or the list of problems are still written)",
    2: "the command cannot start (bad options, config, checkpoint, backbone, output path, a PACS that cannot be "
    "reached or refuses the credentials, or missing, unreadable or flagged videos found before the first epoch), "
    "with one line saying what to do",
    130: "interrupted (Ctrl-C)",
}
EXIT_STATUS = "Exit status: " + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_STATUSES.items()) + "."
app = typer.Typer(
    help=f"CardiacCLIP: few-shot LVEF prediction from echocardiogram videos. {RESEARCH_NOTICE}",
    epilog=EXIT_STATUS,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click output: a usage error is one "Error: ..." line, also in log files
)
console = Console(soft_wrap=True)  # results for a person (stdout); long lines are not broken
err = Console(stderr=True, soft_wrap=True)



@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging (to stderr).")] = False) -> None:
    configure_logging(verbose)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def stopping_errors() -> tuple[type[Exception], ...]:
    """The errors that stop a command before it can work: exit status 2 and one line."""
    from cardiacclip.config import ConfigError
    from cardiacclip.data.errors import DatasetError
    from cardiacclip.dicom.dicomweb import PacsError
    from cardiacclip.jobs.output import OutputError
    from cardiacclip.model.backbone import BackboneError
    from cardiacclip.model.checkpoint import CheckpointError

    return (ConfigError, CheckpointError, BackboneError, OutputError, DatasetError, PacsError, FileNotFoundError)


@contextmanager
def usage_errors() -> Iterator[None]:
    """Turn the errors that stop a command before it can work (a config, checkpoint, backbone, output path or
    dataset that cannot be used) into one red line and exit status 2; Ctrl-C into status 130."""
    try:
        yield
    except stopping_errors() as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/yellow]")
        raise typer.Exit(130) from None


def run_config(
    ctx: typer.Context,
    config: str | None,
    backbone: str | None,
    options: dict[str, object],
    overrides: list[str] | None,
) -> RunConfig:
    """The run config: --config (else the default for the backbone), then the command's options, then --set.

    Extra arguments of the form key=value count as --set values (`--set a=1 b=2`)."""
    from cardiacclip.config import RunConfig, apply_overrides

    extras = [a for a in ctx.args if "=" in a]
    cfg = RunConfig.load(config) if config else RunConfig.default_for(backbone)
    given = [f"{key}={json.dumps(value)}" for key, value in options.items() if value is not None]
    if backbone is not None:
        given.append(f"model.backbone={json.dumps(backbone)}")
    return apply_overrides(cfg, given + list(overrides or []) + extras)


def reject_extras(ctx: typer.Context) -> None:
    """Extra arguments are accepted only as key=value overrides."""
    unexpected = [a for a in ctx.args if "=" not in a]
    if unexpected:
        raise typer.BadParameter(f"unexpected arguments {unexpected}")
