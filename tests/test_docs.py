"""The README and the manual say what the code does: every command line parses, the Python examples run, the
reference pages are generated from the code (a new option or config field appears without editing a page)."""

from __future__ import annotations

import dataclasses
import os
import re
import runpy
import shlex
import shutil
from pathlib import Path
from typing import Annotated, Literal

import pytest
import typer

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").rglob("*.md"))
GENERATOR = runpy.run_path(str(ROOT / "scripts" / "gen_reference.py"), run_name="gen_reference")


def blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", path.read_text(), re.S)


def command_lines(path: Path) -> list[list[str]]:
    """Every `cardiacclip ...` (or `torchrun ... -m cardiacclip ...`) line of a file's shell blocks, as the
    arguments after `cardiacclip` (continuation lines joined, comments dropped)."""
    commands = []
    for block in blocks(path, "bash"):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if "-m" in words and "cardiacclip" in words:
                words = words[words.index("-m") + 1 :]
            if words and words[0] == "cardiacclip":
                commands.append(words[1:])
    return commands


def check_parses(group, words: list[str], where: str) -> None:
    from typer.exceptions import TyperException

    assert words[0] in group.commands, f"{where}: no command {words[0]!r}"
    command = group.commands[words[0]]
    while hasattr(command, "commands"):  # a command group (`pacs`): its subcommand
        words = words[1:]
        command = command.commands[words[0]]
    try:
        context = command.make_context(words[0], list(words[1:]), resilient_parsing=False)
    except typer.Exit:  # --help and the like
        return
    except TyperException as exc:  # a usage error: unknown option, bad value, missing argument
        raise AssertionError(f"{where}: cardiacclip {' '.join(words)}: {exc}") from None
    stray = [word for word in context.args if "=" not in word]  # extras may only be key=value overrides
    assert not stray, f"{where}: cardiacclip {' '.join(words)}: unexpected {stray}"


def test_every_command_line_of_the_readme_and_the_manual_parses():
    from cardiacclip.cli import app

    group = typer.main.get_command(app)
    checked = 0
    for path in [README, *PAGES]:
        for words in command_lines(path):
            check_parses(group, words, str(path.relative_to(ROOT)))
            checked += 1
    assert checked >= 40


def test_a_misspelt_option_fails_the_check():
    from cardiacclip.cli import app

    with pytest.raises(AssertionError, match="--shot"):
        check_parses(typer.main.get_command(app), ["train", "--data", "d", "--shot", "1"], "here")


def test_readme_is_a_landing_page():
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    assert text.splitlines()[0] == "# cardiacclip"
    for needed in ("make demo", "make test", "pip install -e", "## Quick start", "## Commands", "## Citing", "LICENSE"):
        assert needed in text
    from cardiacclip.cli import app

    listed = set(re.findall(r"^\| `cardiacclip ([a-z-]+)`", text, re.M))
    assert listed == set(typer.main.get_command(app).commands), "the README's command table lists every command"


def test_nothing_speaks_of_how_the_project_was_developed():
    for path in [README, *PAGES, ROOT / "CHANGELOG.md"]:
        words = re.findall(r"\bsessions?\b", path.read_text(), re.I)
        assert not words, f"{path.relative_to(ROOT)} speaks of a session"


def run_example(code: str, where: str) -> dict:
    namespace: dict = {}
    exec(compile(code, where, "exec"), namespace)
    return namespace


@pytest.fixture
def demo_layout(tiny_run, synthetic_root, tmp_path, monkeypatch):
    """A folder laid out like `make demo`'s output (a tiny run and small synthetic data), as the working folder."""
    run_dir, _, _ = tiny_run
    shutil.copytree(run_dir, tmp_path / "demo_out" / "run")
    (tmp_path / "demo_out" / "data").symlink_to(synthetic_root)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("page", ["README.md", "docs/getting-started/first-prediction.md"])
def test_the_prediction_examples_run(page, demo_layout, capsys):
    (code,) = blocks(ROOT / page, "python")
    namespace = run_example(code, page)
    assert re.search(r"EF \d+\.\d %", capsys.readouterr().out)
    result = namespace["result"]
    assert 0 <= result.ef <= 100 and result.category in namespace["model"].categories
    assert isinstance(namespace["results"][1], FileNotFoundError)


@pytest.mark.slow
def test_the_local_orthanc_example_runs(tmp_path, monkeypatch, capsys):
    from cardiacclip.synthetic.dicoms import write_pacs_export
    from cardiacclip.testing import orthanc_available

    if not orthanc_available():
        if os.environ.get("CARDIACCLIP_REQUIRE_ORTHANC"):
            raise RuntimeError("CARDIACCLIP_REQUIRE_ORTHANC is set but Orthanc is not installed")
        pytest.skip("apt-get install orthanc orthanc-dicomweb")
    monkeypatch.chdir(tmp_path)
    write_pacs_export(Path("pacs_demo"), n=4, seed=0, n_frames=12)  # what `cardiacclip synth pacs_demo --pacs` does
    (code,) = blocks(ROOT / "docs/how-to/pacs.md", "python")
    namespace = run_example(code, "docs/how-to/pacs.md")
    try:
        server = namespace["server"]
        assert server.url in capsys.readouterr().out
        assert len(namespace["files"]) >= 4
    finally:
        namespace["server"].stop()


# --- the generated reference ----------------------------------------------------------------------------------


def test_a_new_option_appears_in_the_generated_commands_page():
    from cardiacclip.cli import app

    extended = typer.Typer()
    extended.registered_commands = list(app.registered_commands)
    extended.registered_groups = list(app.registered_groups)

    @extended.command("new-job")
    def new_job(
        frames: Annotated[int, typer.Option("--brand-new-option", help="An option added by this test.")] = 3,
    ) -> None:
        """A command added by this test."""

    page = GENERATOR["cli_page"](extended)
    assert "## `cardiacclip new-job`" in page
    assert "`--brand-new-option <int>`" in page and "An option added by this test." in page
    assert "## `cardiacclip pacs pull`" in page and "--password-file" in page


def test_every_command_and_option_is_in_the_generated_commands_page():
    from cardiacclip.cli import app

    page = GENERATOR["cli_page"](app)
    for full, command in GENERATOR["walk_commands"](typer.main.get_command(app)):
        assert f"## `{full}`" in page
        for param in command.params:
            for name in param.opts:
                assert name in page, f"{full}: {name}"


def test_a_new_config_field_appears_with_its_type_default_and_meaning():
    from cardiacclip.config import DataConfig

    @dataclasses.dataclass
    class Extended(DataConfig):
        brand_new: Literal["one", "two"] = "two"  # a field added by this test

    section = GENERATOR["settings_section"](Extended, "data.")
    row = next(line for line in section.splitlines() if "`data.brand_new`" in line)
    assert "`one` \\| `two`" in row and "`two`" in row and "a field added by this test" in row


def test_every_run_config_field_is_described_in_the_generated_page():
    page = GENERATOR["config_page"]()
    for cls, prefix in GENERATOR["run_config_sections"]():
        comments = GENERATOR["field_comments"](cls)
        for field in dataclasses.fields(cls):
            assert f"`{prefix}{field.name}`" in page
            assert comments.get(field.name), f"{cls.__name__}.{field.name} has no comment to describe it"
    assert "`--config reference`" in page and "`bidirectional`" in page


def test_every_output_column_is_described():
    from cardiacclip.data.filelist import FILELIST_COLUMNS
    from cardiacclip.jobs.predict.rows import BASE_COLUMNS, DETAIL_COLUMNS

    page = GENERATOR["outputs_page"]()
    for column, meaning in {**BASE_COLUMNS, **DETAIL_COLUMNS, **FILELIST_COLUMNS}.items():
        assert meaning and f"`{column}`" in page


def test_the_exit_status_page_lists_every_status():
    from cardiacclip.cli import EXIT_STATUSES

    page = GENERATOR["exit_status_page"]()
    for code in EXIT_STATUSES:
        assert f"| `{code}` |" in page
    assert "ConfigError" in page and "unsupported pixel encoding" in page


def test_every_generated_page_is_in_the_navigation():
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("", lambda loader, suffix, node: None)  # mkdocs' !!python tags, if any
    nav = str(yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=Loader)["nav"])
    for path in GENERATOR["pages"]():
        assert path in nav, f"{path} is generated but not in mkdocs.yml's nav"
