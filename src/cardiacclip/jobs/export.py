"""`cardiacclip export` and `cardiacclip import-prompts`: a trained model into a shareable package (optionally
uploaded to the Hugging Face Hub), and the released code's category sentences into a prompt file.

Tested by tests/model/test_package.py and tests/test_cli.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cardiacclip.config import ConfigError
from cardiacclip.model.package import export_package, push_to_hub
from cardiacclip.model.prompts import PromptSet, import_released_prompts, write_prompts


class UploadError(RuntimeError):
    """An upload to the Hub that failed (network, credentials, permissions); the package on disk is complete."""


@dataclass
class ExportResult:
    folder: Path
    files: list[str]
    url: str | None = None  # the Hub repository, when uploaded


def export_model(run: Path, out: Path, hub_repo: str | None = None, public: bool = False) -> ExportResult:
    """Write the package of a run folder or checkpoint to `out`; with `hub_repo` (user/name) also upload it."""
    folder = export_package(run, out)
    result = ExportResult(folder, sorted(p.name for p in folder.iterdir()))
    if hub_repo:
        try:
            result.url = push_to_hub(folder, hub_repo, private=not public)
        except Exception as exc:  # network, credentials, permissions: one message naming which
            raise UploadError(f"upload to {hub_repo} failed: {type(exc).__name__}: {exc}") from None
    return result


def import_prompts(reference_dir: Path, out: Path) -> PromptSet:
    """Read the released code's five category sentences and anchors from a user's checkout (parsed, never run)
    into the prompt file `out`; a checkout that does not hold them is a `ConfigError`."""
    try:
        prompts = import_released_prompts(reference_dir)
    except (FileNotFoundError, ValueError, SyntaxError) as exc:
        raise ConfigError(str(exc)) from None
    write_prompts(prompts, out, header=f"Imported by `cardiacclip import-prompts` from {prompts.source}.")
    return prompts
