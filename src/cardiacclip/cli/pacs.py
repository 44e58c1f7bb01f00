"""`cardiacclip pacs`: a PACS by DICOMweb: `pull`, `push` and the round trip `run`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cardiacclip.about import RESEARCH_NOTICE
from cardiacclip.cli.app import EXIT_STATUS, app, console, usage_errors
from cardiacclip.cli.options import (
    Device,
    Insecure,
    ModelPath,
    PacsUrl,
    PasswordFile,
    Since,
    Study,
    TokenFile,
    User,
)

pacs_app = typer.Typer(
    help="A PACS by DICOMweb: pull studies, push our SRs, or the whole round trip (run). Credentials come from "
    "--user with --password-file, or a bearer token in CARDIACCLIP_PACS_TOKEN or --token-file; never from "
    "the command line. Pulled studies and SRs hold patient data: keep them inside the hospital.",
    no_args_is_help=True,
)
app.add_typer(pacs_app, name="pacs")


def pacs_settings(url: str, user: str | None, password_file: Path | None, token_file: Path | None, insecure: bool):
    from cardiacclip.dicom.dicomweb import PacsSettings

    return PacsSettings(
        url=url,
        user=user,
        password_file=str(password_file) if password_file else None,
        token_file=str(token_file) if token_file else None,
        insecure=insecure,
    )


@pacs_app.command("pull", epilog=EXIT_STATUS)
def pacs_pull(
    url: PacsUrl,
    out: Annotated[Path, typer.Argument(help="Folder for the studies (OUT/<StudyInstanceUID>/...): patient data.")],
    study: Study = None,
    since: Since = None,
    modality: Annotated[str, typer.Option("--modality", help="Modality in study to search for.")] = "US",
    user: User = None,
    password_file: PasswordFile = None,
    token_file: TokenFile = None,
    insecure: Insecure = False,
) -> None:
    """Fetch the ultrasound cine loops and echo SRs of the PACS's studies; resumable (what is there is kept)."""
    from cardiacclip.dicom.dicomweb import connect
    from cardiacclip.jobs.pacs.pull import pull

    with usage_errors():
        client = connect(pacs_settings(url, user, password_file, token_file, insecure))
        summary = pull(client, out, study, since, modality)
    console.print(
        f"{summary.studies} stud(ies): {summary.fetched} instance(s) fetched, {summary.present} already there, "
        f"{summary.skipped} other object(s) skipped, {len(summary.unreadable)} unreadable, "
        f"{len(summary.failed)} stud(ies) left for the next run, {len(summary.refused)} refused"
    )
    if summary.failed or summary.unreadable or summary.refused:
        raise typer.Exit(1)


@pacs_app.command("push", epilog=EXIT_STATUS)
def pacs_push(
    url: PacsUrl,
    folder: Annotated[Path, typer.Argument(help="Folder of SRs written by --write-sr or pacs run.")],
    user: User = None,
    password_file: PasswordFile = None,
    token_file: TokenFile = None,
    insecure: Insecure = False,
) -> None:
    """Store our SRs in the PACS (STOW-RS); pushing twice leaves one SR per study."""
    from cardiacclip.dicom.dicomweb import connect
    from cardiacclip.jobs.pacs.push import push

    files = sorted(folder.glob("*.dcm")) if folder.is_dir() else []
    if not files:
        raise typer.BadParameter(f"{folder}: no .dcm files to store", param_hint="FOLDER")
    with usage_errors():
        summary = push(connect(pacs_settings(url, user, password_file, token_file, insecure)), files)
    console.print(f"{summary.stored} SR(s) stored, {len(summary.failed)} refused")
    if summary.failed:
        raise typer.Exit(1)


@pacs_app.command("run", epilog=EXIT_STATUS)
def pacs_run(
    model: ModelPath,
    url: PacsUrl,
    out: Annotated[Path, typer.Argument(help="Work folder: pulled/, predictions.csv, sr/ (patient data).")],
    study: Study = None,
    since: Since = None,
    store: Annotated[bool, typer.Option("--store/--no-store", help="Store the SRs in the PACS.")] = True,
    user: User = None,
    password_file: PasswordFile = None,
    token_file: TokenFile = None,
    insecure: Insecure = False,
    device: Device = "auto",
) -> None:
    """Pull, predict by study, write one SR per study and store it: one resumable command."""
    from cardiacclip.jobs.pacs.run import run_pacs

    with usage_errors():
        settings = pacs_settings(url, user, password_file, token_file, insecure)
        result = run_pacs(model, settings, out, studies=study, since=since, store=store, device=device)
    pulled, predicted = result.pulled, result.predicted
    stored = f", {result.pushed.stored} stored in the PACS" if result.pushed is not None else " (not stored)"
    console.print(
        f"{pulled.studies} stud(ies), {pulled.fetched} instance(s) fetched ({pulled.present} already there); "
        f"{predicted.done} loop(s) predicted ({predicted.skipped} already); {len(result.reports)} SR(s) in "
        f"{out / 'sr'}{stored}. {RESEARCH_NOTICE}"
    )
    pushed_failed = result.pushed is not None and result.pushed.failed
    if pulled.failed or pulled.unreadable or pulled.refused or predicted.failed or pushed_failed:
        raise typer.Exit(1)
