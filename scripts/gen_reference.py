"""The manual's reference pages, generated from the code at every `mkdocs build` (mkdocs-gen-files runs this file).

Nothing here is written by hand: the commands and options come from the Typer app, the config fields from the
settings dataclasses (their type hints, defaults and the comment beside each field), the allowed values from
`cardiacclip.choices`, the output columns from the tables the writers use, the exit statuses from the command
line's table. `tests/test_docs.py` imports these functions to check that a new option or field appears.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import tokenize
import types
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import yaml

REFERENCE = "reference"


def cell(text: object) -> str:
    """Text fit for one Markdown table cell (pipes escaped, no line breaks)."""
    return " ".join(str(text).split()).replace("|", "\\|")


def table(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# --- commands -------------------------------------------------------------------------------------------------


def _context(command: Any, full: str) -> Any:
    """A parsing context of `command` with no arguments, enough to render its help."""
    return command.make_context(full, [], resilient_parsing=True)


def _parameter_rows(command: Any, full: str) -> list[tuple[str, str]]:
    """(declaration, help) of every argument and option, exactly as `--help` prints them."""
    context, rows = _context(command, full), []
    for param in command.params:
        record = None if getattr(param, "hidden", False) else param.get_help_record(context)
        if record is not None and param.name != "help":
            rows.append((f"`{record[0]}`", record[1]))
    return rows


def walk_commands(group: Any, prefix: str = "cardiacclip") -> Iterable[tuple[str, Any]]:
    """(full name, command) of every command of the app, groups followed by their subcommands."""
    for name, command in group.commands.items():
        if getattr(command, "hidden", False):
            continue
        full = f"{prefix} {name}"
        yield full, command
        if hasattr(command, "commands"):
            yield from walk_commands(command, full)


def command_section(full: str, command: Any) -> str:
    usage = " ".join(command.collect_usage_pieces(_context(command, full)))
    parts = [f"## `{full}`\n", inspect.cleandoc(command.help or ""), f"\n```text\n{full} {usage}\n```\n"]
    rows = _parameter_rows(command, full)
    if rows:
        parts.append(table(("argument or option", "what it does"), rows))
    if (command.context_settings or {}).get("allow_extra_args"):
        parts.append("Extra `key=value` arguments are config overrides, as with `--set`.\n")
    return "\n".join(parts)


def cli_page(app: Any, title: str = "Commands") -> str:
    """Every command of a Typer app, with its usage line and a table of its arguments and options."""
    import typer

    group = typer.main.get_command(app)
    commands = list(walk_commands(group))
    overview = table(
        ("command", "what it does"),
        [(f"[`{full}`](#{anchor(full)})", command.get_short_help_str(200)) for full, command in commands],
    )
    intro = (
        f"# {title}\n\nGenerated from the command line itself (`cardiacclip COMMAND --help` prints the same). "
        f"Global option: `-v` / `--verbose` (debug logging to standard error), before the command. "
        f"Every command's exit status is listed under [exit statuses](exit-status.md).\n\n"
    )
    return intro + overview + "\n" + "\n".join(command_section(full, c) for full, c in commands)


def anchor(full: str) -> str:
    """The id mkdocs' toc gives a heading "`cardiacclip pacs pull`"."""
    return "-".join(full.lower().split())


# --- config fields ---------------------------------------------------------------------------------------------


def type_text(kind: Any) -> str:
    """A type hint in a reader's words: Literal values listed, Optional as "or null"."""
    origin = get_origin(kind)
    if origin is Literal:
        return " | ".join(f"`{value}`" for value in get_args(kind))
    if origin in (Union, types.UnionType):
        return " or ".join(type_text(member) for member in get_args(kind))
    if origin is list:
        (item,) = get_args(kind) or (Any,)
        return f"list of {type_text(item)}"
    if kind is type(None):
        return "null"
    if dataclasses.is_dataclass(kind):
        return f"section [{kind.__name__}](#{kind.__name__.lower()})"
    return getattr(kind, "__name__", str(kind))


def field_comments(cls: type) -> dict[str, str]:
    """The comment beside each field of a dataclass's source (on its line, or on the lines just above it)."""
    source = inspect.cleandoc("\n" + inspect.getsource(cls))
    comments: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string.lstrip("#").strip()
    found = {}
    lines = source.splitlines()
    names = {f.name for f in dataclasses.fields(cls)}
    for number, line in enumerate(lines, start=1):
        name = line.strip().split(":", 1)[0]
        if name not in names or not line.startswith("    ") or line.startswith("     "):
            continue
        above, k = [], number - 1
        while k in comments and lines[k - 1].strip().startswith("#"):
            above.insert(0, comments[k])
            k -= 1
        found[name] = " ".join([*above, comments.get(number, "")]).strip()
    return found


def _default_text(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        return "(required)"
    return "" if dataclasses.is_dataclass(value) else _yaml(value)


def docstring_args(doc: str) -> tuple[str, dict[str, str]]:
    """A docstring's text before its `Args:` section, and that section as {name: text} ("a, b: text" gives both)."""
    text, _, section = doc.partition("\nArgs:\n")
    described: dict[str, str] = {}
    names: list[str] = []
    for line in section.splitlines():
        head, colon, rest = line.strip().partition(": ")
        if line.startswith("    ") and not line.startswith("     ") and colon:
            names = [name.strip() for name in head.split(",")]
            described.update(dict.fromkeys(names, rest.strip()))
        elif line.strip():
            described.update({name: f"{described[name]} {line.strip()}" for name in names})
    return text.strip(), described


def settings_section(cls: type, prefix: str = "") -> str:
    """A table of a settings dataclass's fields: name, type and allowed values, default, what it means (the
    comment beside the field, else the class docstring's `Args:` entry)."""
    doc = inspect.cleandoc(cls.__doc__ or "") if cls.__doc__ and not cls.__doc__.startswith(cls.__name__) else ""
    intro, args = docstring_args(doc)
    hints, comments = get_type_hints(cls), field_comments(cls)
    rows = []
    for f in dataclasses.fields(cls):
        meaning = comments.get(f.name) or args.get(f.name, "")
        rows.append((f"`{prefix}{f.name}`", type_text(hints[f.name]), _default_text(f), meaning))
    return f"## {cls.__name__}\n\n{intro}\n\n" + table(("field", "type and allowed values", "default", "meaning"), rows)


def packaged_configs_table() -> str:
    """The fields each packaged config (`--config NAME`) sets to something other than the code's default."""
    from cardiacclip.config import RunConfig
    from cardiacclip.resources import packaged_names

    default = _flat(RunConfig().to_dict())
    names = packaged_names("run_config")
    configs = {name: _flat(RunConfig.load(name).to_dict()) for name in names}
    keys = sorted({key for values in configs.values() for key, value in values.items() if value != default[key]})
    rows = [(f"`{key}`", _yaml(default[key]), *(_yaml(configs[n][key]) for n in names)) for key in keys]
    return table(("field", "default", *(f"`--config {n}`" for n in names)), rows)


def _yaml(value: Any) -> str:
    """A value as it is written in a config file, in code quotes."""
    text = yaml.safe_dump(value, default_flow_style=True).strip()
    return f"`{text.removesuffix('...').strip()}`"


def _flat(data: dict, prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def run_config_sections() -> list[tuple[type, str]]:
    """(dataclass, dotted prefix) of the run config's sections, nested ones included."""
    from cardiacclip.config import RunConfig

    sections, queue = [(RunConfig, "")], [(RunConfig, "")]
    while queue:
        cls, prefix = queue.pop(0)
        hints = get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if dataclasses.is_dataclass(hints[f.name]):
                sections.append((hints[f.name], f"{prefix}{f.name}."))
                queue.append((hints[f.name], f"{prefix}{f.name}."))
    return sections


def other_settings() -> list[type]:
    """Every other validated settings dataclass of the package (the commands' own settings), by name."""
    import importlib
    import pkgutil

    import cardiacclip
    from cardiacclip.config import Validated

    for module in pkgutil.walk_packages(cardiacclip.__path__, "cardiacclip."):
        if not module.name.startswith("cardiacclip.cli") and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    run_sections = {cls for cls, _ in run_config_sections()}
    found = {cls for cls in _subclasses(Validated) if cls not in run_sections}
    return sorted(found, key=lambda cls: cls.__name__)


def _subclasses(cls: type) -> list[type]:
    direct = cls.__subclasses__()
    return direct + [sub for child in direct for sub in _subclasses(child)]


def config_page() -> str:
    import cardiacclip.choices as choices
    from cardiacclip.choices import values

    run = "\n".join(settings_section(cls, prefix) for cls, prefix in run_config_sections())
    literals = [(f"`{name}`", " ".join(f"`{v}`" for v in values(kind))) for name, kind in vars(choices).items()
                if get_origin(kind) is Literal]
    others = "\n".join(settings_section(cls) for cls in other_settings())
    return (
        "# Configuration\n\nGenerated from the settings dataclasses (`cardiacclip.config` and the commands' own "
        "settings). A run's config is YAML with three sections, `data`, `model` and `train`; every run writes "
        "the whole of it to `config.yaml`. `--config NAME|FILE` picks one, `--set section.field=value` (YAML "
        "values) changes one field; every value is checked against the field's type.\n\n"
        "## Packaged configs\n\nWhat each packaged config sets to something other than the default below.\n\n"
        + packaged_configs_table() + "\n" + run
        + "\n## Allowed values shared by several options\n\nFrom `cardiacclip.choices`: the config fields, the "
        "command line and the server accept these values and refuse any other.\n\n"
        + table(("type", "values"), literals)
        + "\n# Settings of the commands\n\nBuilt from each command's options and checked the same way.\n\n" + others
    )


# --- outputs and exit statuses ---------------------------------------------------------------------------------


def outputs_page() -> str:
    from cardiacclip.data.filelist import BEAT_COLUMNS, FILELIST_COLUMNS, FILELIST_EXTRA_COLUMNS
    from cardiacclip.jobs.predict.rows import BASE_COLUMNS, DETAIL_COLUMNS

    predict = [*BASE_COLUMNS.items(), ("p_<category>", "probability of each LVEF category, one column each"),
               *DETAIL_COLUMNS.items()]
    filelist = [*FILELIST_COLUMNS.items(), *FILELIST_EXTRA_COLUMNS.items()]
    return (
        "# Output files and columns\n\nGenerated from the tables the writers use.\n\n"
        "## `predict` rows\n\nOne row per input, CSV or JSON Lines (`.jsonl`, and standard output), in this "
        "column order; an error row fills `file`, `status`, `error` and `notice`.\n\n"
        + table(("column", "what it holds"), [(f"`{k}`", v) for k, v in predict])
        + "\n## FileList.csv\n\nThe EchoNet-Dynamic table every dataset command reads and `convert` writes.\n\n"
        + table(("column", "what it holds"), [(f"`{k}`", v) for k, v in filelist])
        + "\n## Beats.csv\n\nBeside VolumeTracings.csv in a synthetic dataset (`synth`): every complete beat of "
        "every video, the truth [beat-by-beat](../explanation/beats.md) predictions are measured against.\n\n"
        + table(("column", "what it holds"), [(f"`{k}`", v) for k, v in BEAT_COLUMNS.items()])
        + "\n## Run folders, packages, evaluation and SR\n\n"
        "The files of a run folder and of an exported package are described with the code that names them, "
        "[`cardiacclip.model.layout`](api/model.md#cardiacclip.model.layout); what `evaluate` writes with "
        "[`evaluate_model`](api/jobs.md#cardiacclip.jobs.evaluate.evaluate_model); the content of the SR "
        "`predict --write-sr` writes in [PACS to report](../how-to/pacs.md#the-structured-report).\n"
    )


def exit_status_page() -> str:
    from cardiacclip.cli import EXIT_STATUSES, stopping_errors
    from cardiacclip.data import errors

    stops = [(f"`{cls.__name__}`", _first_sentence(cls)) for cls in stopping_errors()]
    reasons = [
        (f"`{cls.__name__}`", cls.reason)
        for cls in [errors.VideoReadError, *_subclasses(errors.VideoReadError)]
    ]
    return (
        "# Exit statuses and error reasons\n\nGenerated from the command line's table; the same for every "
        "command.\n\n" + table(("status", "meaning"), [(f"`{code}`", text) for code, text in EXIT_STATUSES.items()])
        + "\n## What stops a command (status 2)\n\nOne line on standard error, no traceback.\n\n"
        + table(("error", "when"), stops)
        + "\n## Why one input failed (status 1)\n\nThe reason an error row (`predict`), a list of problems "
        "(`inspect`, `convert`) or the check before the first epoch gives for a file.\n\n"
        + table(("error", "reason written"), reasons)
    )


def _first_sentence(cls: type) -> str:
    doc = inspect.cleandoc(cls.__doc__ or "")
    return " ".join(doc.split("\n\n")[0].split())


# --- the Python API --------------------------------------------------------------------------------------------

# page -> (title, introduction, objects rendered by mkdocstrings)
API_PAGES: dict[str, tuple[str, str, list[str]]] = {
    "predictor": (
        "Predicting: cc.load",
        "`import cardiacclip as cc` exposes `cc.load`, `cc.Predictor` and `cc.Prediction` from this module.",
        ["cardiacclip.model.predictor"],
    ),
    "config": ("Configuration", "The run config and the `--set` mechanism.", ["cardiacclip.config"]),
    "data": (
        "Data: files, clips, datasets",
        "The frame source every reader goes through, the clip recipe, the EchoNet-Dynamic dataset and the "
        "k-shot split; the time limit per file and what the decoding libraries say about a file.",
        ["cardiacclip.data.source", "cardiacclip.data.clips", "cardiacclip.data.echonet",
         "cardiacclip.data.fewshot", "cardiacclip.data.filelist", "cardiacclip.data.region",
         "cardiacclip.data.errors", "cardiacclip.data.deadline", "cardiacclip.data.library_messages"],
    ),
    "dicom": (
        "DICOM interchange",
        "Labels from the echo machines' reports, our SR, what marks an object as ours, the DICOMweb connection.",
        ["cardiacclip.dicom.echo_sr", "cardiacclip.dicom.sr", "cardiacclip.dicom.ours", "cardiacclip.dicom.dicomweb"],
    ),
    "model": (
        "Model",
        "The network (paper Sec. 2), the cardiac phase and beats, the factory that opens a trained model and the "
        "layout of run folders and packages.",
        ["cardiacclip.model.cardiacclip", "cardiacclip.model.echozoom", "cardiacclip.model.mfl",
         "cardiacclip.model.ef_head", "cardiacclip.model.backbone", "cardiacclip.model.factory",
         "cardiacclip.model.layout", "cardiacclip.model.conformal", "cardiacclip.model.phase",
         "cardiacclip.model.beats"],
    ),
    "train": (
        "Training and evaluation",
        "The loop, losses and schedule (paper Sec. 3), and the metrics.",
        [
            "cardiacclip.train.loop",
            "cardiacclip.train.losses",
            "cardiacclip.train.pretrain",
            "cardiacclip.train.phase_fit",
            "cardiacclip.evaluate.metrics",
        ],
    ),
    "jobs": (
        "Jobs",
        "What the commands run, callable from Python.",
        ["cardiacclip.jobs.train", "cardiacclip.jobs.evaluate", "cardiacclip.jobs.convert"],
    ),
    "synthetic": (
        "Synthetic data, a local PACS, the fuzzer",
        "The built-in synthetic default, the local Orthanc the tests and the PACS walk-through start, and the "
        "mutation fuzzer.",
        ["cardiacclip.synthetic.echoes", "cardiacclip.synthetic.rhythm", "cardiacclip.synthetic.dataset",
         "cardiacclip.testing.orthanc",
         "cardiacclip.testing.fuzz"],
    ),
}


def api_page(title: str, intro: str, objects: list[str]) -> str:
    return f"# {title}\n\n{intro}\n\n" + "\n".join(f"::: {name}\n" for name in objects)


def pages(app: Any = None) -> dict[str, str]:
    """Every generated page, path under docs/ -> Markdown."""
    if app is None:
        from cardiacclip.cli import app
    generated = {
        f"{REFERENCE}/cli.md": cli_page(app),
        f"{REFERENCE}/config.md": config_page(),
        f"{REFERENCE}/outputs.md": outputs_page(),
        f"{REFERENCE}/exit-status.md": exit_status_page(),
    }
    for name, (title, intro, objects) in API_PAGES.items():
        generated[f"{REFERENCE}/api/{name}.md"] = api_page(title, intro, objects)
    return generated


def write_pages() -> None:
    import mkdocs_gen_files

    for path, text in pages().items():
        with mkdocs_gen_files.open(path, "w") as handle:
            handle.write(text)
        mkdocs_gen_files.set_edit_path(path, Path(__file__).name)


if __name__ in {"__main__", "<run_path>"}:
    write_pages()
