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
