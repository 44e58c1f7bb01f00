"""The README's Python API example runs as written (on a tiny run laid out like `make demo`'s output)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def api_example() -> str:
    text = README.read_text()
    section = text[text.index("## Python API") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_api_example_runs(tiny_run, synthetic_root, tmp_path, monkeypatch, capsys):
    run_dir, _, _ = tiny_run
    shutil.copytree(run_dir, tmp_path / "demo_out" / "run")
    (tmp_path / "demo_out" / "data").symlink_to(synthetic_root)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(api_example(), "README.md", "exec"), namespace)
    printed = capsys.readouterr().out
    assert re.search(r"EF \d+\.\d %", printed)
    result = namespace["result"]
    assert 0 <= result.ef <= 100 and result.category in namespace["model"].categories
    assert isinstance(namespace["results"][1], FileNotFoundError)


def readme_commands() -> list[list[str]]:
    """Every `cardiacclip ...` (or `torchrun ... -m cardiacclip ...`) command line of the README's shell blocks, as
    arguments after `cardiacclip` (continuation lines joined, comments dropped)."""
    import shlex

    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if "-m" in words and "cardiacclip" in words:
                words = words[words.index("-m") + 1 :]
            if words and words[0] == "cardiacclip":
                commands.append(words[1:])
    return commands


def test_every_readme_command_parses_with_this_command_line():
    import typer
    from typer.exceptions import TyperException

    from cardiacclip.cli import app

    group = typer.main.get_command(app)
    commands = readme_commands()
    assert len(commands) >= 15
    for words in commands:
        command, words = group.commands[words[0]], list(words)
        while hasattr(command, "commands"):  # a command group (`pacs`): its subcommand
            words = words[1:]
            command = command.commands[words[0]]
        try:
            context = command.make_context(words[0], list(words[1:]), resilient_parsing=False)
        except typer.Exit:  # --help and the like
            continue
        except TyperException as exc:  # a usage error: unknown option, bad value, missing argument
            raise AssertionError(f"README: cardiacclip {' '.join(words)}: {exc}") from None
        stray = [word for word in context.args if "=" not in word]  # extras may only be key=value overrides
        assert not stray, f"README: cardiacclip {' '.join(words)}: unexpected {stray}"
