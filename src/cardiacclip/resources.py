"""Files shipped inside the package (configs, prompt sets, the toy backbone), found by kind and name.

Tested by tests/test_config.py (packaged configs) and tests/model/test_backbone.py (the packaged toy backbone).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

# kind -> (folder inside the package, file suffix)
PACKAGED = {
    "run_config": ("configs", ".yaml"),
    "open_clip_config": ("model/configs", ".json"),
    "prompts": ("model/prompts", ".yaml"),
}


def packaged_file(kind: str, name: str) -> Path | None:
    """The packaged file of `kind` ("run_config", "open_clip_config", "prompts") called `name`, or None."""
    folder, suffix = PACKAGED[kind]
    path = resources.files("cardiacclip").joinpath(*folder.split("/"), f"{name}{suffix}")
    return Path(str(path)) if path.is_file() else None


def packaged_names(kind: str) -> list[str]:
    """Names of the packaged files of `kind`, for error messages and --help."""
    folder, suffix = PACKAGED[kind]
    base = resources.files("cardiacclip").joinpath(*folder.split("/"))
    return sorted(p.name[: -len(suffix)] for p in base.iterdir() if p.name.endswith(suffix))


def asset_dir(name: str) -> Path:
    """A folder under `cardiacclip/assets` (e.g. "synthetic_echoclip")."""
    return Path(str(resources.files("cardiacclip") / "assets" / name))
