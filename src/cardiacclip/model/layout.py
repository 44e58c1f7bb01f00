"""The layouts of a run folder and of a model package, named once: what `cardiacclip train` and
`cardiacclip export` write and what every reader (`cardiacclip.model.factory`) looks for.

A run folder:

    config.yaml          the full run config
    split.csv            the FileList-format split that was used (k-shot train, val, test)
    left_out.csv         with data.skip_unreadable: the videos left out (missing, unreadable, flagged) and why
    metrics.csv          one row per epoch (losses, train MAE, val MAE/RMSE/R2, lr, seconds)
    learning_curves.png
    calibration.json     the split-conformal EF interval of the best checkpoint
    phase.json           the phase head of the best checkpoint (when the training data traced ED and ES)
    checkpoints/last.pt  model + optimizer state, for resuming after an interruption
    checkpoints/best.pt  the model with the best validation MAE
    tensorboard/         with data.tensorboard

A package folder (`cardiacclip export`; weights-only safetensors and plain text, nothing pickled):

    model.safetensors   every weight of the trained CardiacCLIP
    backbone.json       the open_clip architecture and preprocessing (mean/std) to rebuild it
    config.yaml         the run config
    prompts.yaml        the category prompts and EF intervals
    calibration.json    the split-conformal EF interval (when the run has one)
    phase.json          the phase head (when the run has one)
    README.md           a model card: training data, k, metrics, intended use, licences
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cardiacclip.data.echonet import LEFT_OUT_FILE
from cardiacclip.model.conformal import CALIBRATION_FILE
from cardiacclip.model.phase import PHASE_FILE

CHECKPOINTS = "checkpoints"
BEST, LAST = "best.pt", "last.pt"


@dataclass(frozen=True)
class RunFolder:
    """The paths of one run folder (see the module docstring); nothing is created or checked here."""

    root: Path

    @classmethod
    def of(cls, path: str | Path) -> RunFolder:
        """The run folder of a checkpoint file (runs/k1/checkpoints/best.pt -> runs/k1), or the folder given."""
        path = Path(path)
        if path.is_dir():
            return cls(path)
        return cls(path.parent.parent if path.parent.name == CHECKPOINTS else path.parent)

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def split(self) -> Path:
        return self.root / "split.csv"

    @property
    def left_out(self) -> Path:
        return self.root / LEFT_OUT_FILE

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.csv"

    @property
    def learning_curves(self) -> Path:
        return self.root / "learning_curves.png"

    @property
    def calibration(self) -> Path:
        return self.root / CALIBRATION_FILE

    @property
    def phase(self) -> Path:
        return self.root / PHASE_FILE

    @property
    def checkpoints(self) -> Path:
        return self.root / CHECKPOINTS

    @property
    def best(self) -> Path:
        return self.checkpoints / BEST

    @property
    def last(self) -> Path:
        return self.checkpoints / LAST

    @property
    def tensorboard(self) -> Path:
        return self.root / "tensorboard"


@dataclass(frozen=True)
class PackageFolder:
    """The paths of one model package (see the module docstring)."""

    root: Path

    @property
    def weights(self) -> Path:
        return self.root / "model.safetensors"

    @property
    def backbone(self) -> Path:
        return self.root / "backbone.json"

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def prompts(self) -> Path:
        return self.root / "prompts.yaml"

    @property
    def calibration(self) -> Path:
        return self.root / CALIBRATION_FILE

    @property
    def phase(self) -> Path:
        return self.root / PHASE_FILE

    @property
    def card(self) -> Path:
        return self.root / "README.md"

    def exists(self) -> bool:
        """Whether the folder holds a package (its weights and backbone description)."""
        return self.weights.is_file() and self.backbone.is_file()
