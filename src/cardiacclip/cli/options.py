"""The command line's options, each declared once; their allowed values come from `cardiacclip.choices`.

Options that several commands take come first, then each group's own; `comma_list` and `parse_clips` turn an
option's text into values (a value that does not parse is a usage error, exit status 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cardiacclip.choices import (
    ColourMode,
    CropMethod,
    ExternalSet,
    GroupBy,
    Precision,
    PretrainViews,
    SyntheticStyle,
)

EXTRA_ARGS = {"allow_extra_args": True, "ignore_unknown_options": False}  # key=value overrides after the options

# --- shared by several commands ---
Device = Annotated[str, typer.Option("--device", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:1, ...")]
ConfigName = Annotated[
    str | None, typer.Option("--config", help="YAML file or packaged name (paper, reference, synthetic).")
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set", help="Override any config field: --set data.length=16 --set model.scales=[1] (values are YAML)."
    ),
]
PrecisionOption = Annotated[
    Precision | None,
    typer.Option(
        "--precision",
        help="auto (bf16 on GPUs and on CPUs with native bf16, fp32 elsewhere), fp32, bf16, fp16. "
        "Default: the run's setting.",
    ),
]
Workers = Annotated[
    int, typer.Option("--workers", min=0, help="DataLoader processes that decode and prepare videos (0: in-process).")
]
FileTimeout = Annotated[
    float,
    typer.Option(
        "--file-timeout",
        min=0,
        help="Seconds one file may take to read and prepare; a file that takes longer gets an error (0: no limit).",
    ),
]
Clips = Annotated[
    str | None,
    typer.Option(
        "--clips",
        help="Clips per video: all, N evenly spaced, or beats (one per heartbeat found in the loop; "
        "default: the run's test_clips).",
    ),
]
SkipUnreadable = Annotated[
    bool,
    typer.Option(
        "--skip-unreadable",
        "--skip-missing",
        help="Leave out listed videos that are missing, unreadable or flagged (listed in the log and in "
        "left_out.csv) instead of refusing to start.",
    ),
]
CropOption = Annotated[
    CropMethod | None,
    typer.Option(
        "--crop",
        help="Ultrasound region: auto (DICOM region tags, else the scan sector found in the pixels; "
        "small square videos as they are), regions, sector, none. Default: auto (train/evaluate: the run's).",
    ),
]
DataFolder = Annotated[Path, typer.Option("--data", help="EchoNet-Dynamic-format folder.")]
BackboneOption = Annotated[
    str | None,
    typer.Option("--backbone", help="hf-hub:mkaichristensen/echo-clip, a weights file or folder, synthetic, tiny."),
]
ModelPath = Annotated[Path, typer.Argument(help="A run folder, checkpoint or `cardiacclip export` package.")]
Epochs = Annotated[int | None, typer.Option("--epochs", help="Override the config's epochs.")]

RunOut = Annotated[
    Path,
    typer.Option("--out", help="Run folder (config.yaml, split.csv, metrics.csv, checkpoints/); one there resumes."),
]
Shots = Annotated[int | None, typer.Option("--shots", help="k training videos per integer EF value (0: all of TRAIN).")]
SplitFile = Annotated[
    Path | None, typer.Option("--split-file", help="FileList-format CSV with a Split column, used as given.")
]
Prompts = Annotated[
    str | None,
    typer.Option("--prompts", help="Prompt YAML file or packaged prompt set (see `cardiacclip import-prompts`)."),
]


# --- pretrain ---
ReportColumn = Annotated[
    str | None,
    typer.Option("--report-column", help="FileList column with report text (default: reports written from EF)."),
]
DrawStyle = Annotated[
    SyntheticStyle | None,
    typer.Option(
        "--draw",
        help="Instead of --data: draw a new synthetic subject in this style (e.g. mixed) for every sample, "
        "rendered at end-diastole and end-systole (key_frames views).",
    ),
]
Views = Annotated[
    PretrainViews,
    typer.Option(
        "--views", help="clips: consecutive frames; key_frames: the traced ED and ES frames (needs VolumeTracings.csv)."
    ),
]
Arch = Annotated[
    str, typer.Option("--arch", help="Packaged open_clip config to start from (random init), or a backbone spec.")
]
PretrainLr = Annotated[
    float, typer.Option("--lr", help="Peak learning rate (1e-3 and above collapse the small model here).")
]
Cache = Annotated[
    bool, typer.Option("--cache/--no-cache", help="Decode every video once and keep the frames in memory.")
]


# --- convert ---
LabelsCsv = Annotated[
    Path | None,
    typer.Option(
        "--labels", help="CSV with EF and SOPInstanceUID, StudyInstanceUID, AccessionNumber or file (optional Split)."
    ),
]
LabelsFromSr = Annotated[
    bool,
    typer.Option(
        "--labels-from-sr",
        help="Labels from the echo machines' SRs found in SRC (biplane method of disks, then single plane, "
        "then Teichholz; several values averaged; the method in FileList.csv's EF_method).",
    ),
]
PrivateFolder = Annotated[
    Path | None,
    typer.Option("--private", help="Folder for the UID mapping, salt, error log, previews (default: OUT_private)."),
]
KeepFlagged = Annotated[
    bool, typer.Option("--keep-flagged", help="Also convert flagged loops (not ultrasound, Doppler, blank, ...).")
]
ColourOption = Annotated[
    ColourMode,
    typer.Option("--colour", help="Tinted B-mode loops: luminance (written grey, the default) or rgb (as stored)."),
]
FromSet = Annotated[
    ExternalSet | None,
    typer.Option("--from", help="SRC is a release of an external set (CAMUS, EchoNet-Pediatric), not an archive."),
]
View = Annotated[str | None, typer.Option("--view", help="With --from: 4CH or 2CH (CAMUS), A4C or PSAX (Pediatric).")]
Folds = Annotated[
    str | None,
    typer.Option("--folds", help="With --from echonet-pediatric: folds per split (default TRAIN=0-7,VAL=8,TEST=9)."),
]


# --- predict ---
PredictOut = Annotated[
    Path | None,
    typer.Option(
        "--out",
        help="CSV or JSON Lines (.jsonl) file, a row per input written as it is done; default: JSON Lines on stdout.",
    ),
]
GroupByOption = Annotated[
    GroupBy,
    typer.Option(
        "--by",
        help="video, or study: also write OUT.studies.csv, a row per study (median EF of its unflagged videos); "
        "DICOMs grouped by StudyInstanceUID (hashed), other videos by --studies.",
    ),
]


AttentionPlot = Annotated[Path | None, typer.Option("--attention-plot", help="Folder for MFL frame-weight plots.")]
SaveCrops = Annotated[
    Path | None, typer.Option("--save-crops", help="Folder for a preview per file: first frame, crop, sector.")
]
Strict = Annotated[
    bool, typer.Option("--strict", help="Refuse flagged inputs (not ultrasound, Doppler, too short, blank, ...).")
]
WriteSr = Annotated[
    Path | None,
    typer.Option(
        "--write-sr",
        help="Folder for one DICOM SR per study with the EF (TID 1500; needs --out). The SRs carry the "
        "patients' identifiers: keep them where the source studies are allowed to be.",
    ),
]
StudiesCsv = Annotated[
    Path | None, typer.Option("--studies", help="CSV with columns file, study for videos without a study UID.")
]


# --- benchmark ---
Methods = Annotated[
    str | None,
    typer.Option(
        "--methods",
        help="Comma-separated subset of: train_mean, zero_shot, linear_probe, clip_ft, mfl, echozoom, cardiacclip, "
        "r2plus1d (the default table), echozoom_fine, echozoom_prompts (on request: the last step split in two).",
    ),
]
R2plus1dWeights = Annotated[
    str | None, typer.Option("--r2plus1d-weights", help="kinetics (torchvision cache), a state-dict file, or none.")
]


# --- pacs ---
PacsUrl = Annotated[str, typer.Argument(help="DICOMweb root, e.g. https://pacs.example.org/dicom-web.")]
User = Annotated[str | None, typer.Option("--user", help="HTTP basic user name (with --password-file).")]
PasswordFile = Annotated[Path | None, typer.Option("--password-file", help="File whose first line is the password.")]
TokenFile = Annotated[Path | None, typer.Option("--token-file", help="File holding a bearer token.")]
Insecure = Annotated[bool, typer.Option("--insecure", help="Skip TLS certificate checks (a test server only).")]
Study = Annotated[list[str] | None, typer.Option("--study", help="StudyInstanceUID to pull (repeatable).")]
Since = Annotated[str | None, typer.Option("--since", help="Studies from this date on (YYYYMMDD).")]


def comma_list(text: str, hint: str, kind: type = str) -> list:
    """`a,b,c` -> [a, b, c], each converted by `kind`; a value that does not convert is a usage error."""
    try:
        return [kind(item.strip()) for item in text.split(",") if item.strip()]
    except ValueError:
        message = f"{text!r} is not a comma-separated list of {kind.__name__} values"
        raise typer.BadParameter(message, param_hint=hint) from None


def parse_clips(clips: str | None):
    """--clips: "all" or a positive number of evenly spaced clips (None: the run's setting)."""
    from cardiacclip.data.clips import parse_clip_count

    try:
        return parse_clip_count(clips)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--clips") from None
