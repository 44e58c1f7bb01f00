"""The five LVEF category prompts and the EF bins they describe (paper Sec. 2.3).

The prompts live in YAML (`prompts/lvef_categories.yaml` by default); a user can pass a path
to their own file with the same fields.

Tested by tests/model/test_cardiacclip.py, tests/model/test_mfl_head.py and tests/test_reference_harness.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import yaml

from cardiacclip.resources import packaged_file, packaged_names

LabelBins = Literal["prompt", "reference"]
_INTERVAL = re.compile(r"^\s*([\[(])\s*([-+0-9.]+)\s*,\s*([-+0-9.]+)\s*([\])])\s*$")


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    low_closed: bool
    high_closed: bool

    @classmethod
    def parse(cls, text: str) -> Interval:
        match = _INTERVAL.match(text)
        if not match:
            raise ValueError(f"not an interval like '[55, 70]' or '(70, 100]': {text!r}")
        left, low, high, right = match.groups()
        return cls(float(low), float(high), left == "[", right == "]")

    def contains(self, value: np.ndarray) -> np.ndarray:
        above = value >= self.low if self.low_closed else value > self.low
        below = value <= self.high if self.high_closed else value < self.high
        return above & below

    @property
    def width(self) -> float:
        return self.high - self.low


@dataclass(frozen=True)
class PromptSet:
    """LVEF categories: names, prompt texts, EF intervals and anchor values."""

    names: tuple[str, ...]
    texts: tuple[str, ...]  # prefix + description, as the text tower reads them
    intervals: tuple[Interval, ...]
    anchors: tuple[float, ...]
    reference_label_bins: tuple[tuple[float, float], ...] = ()
    source: str = ""

    def __len__(self) -> int:
        return len(self.names)

    @property
    def probability_columns(self) -> list[str]:
        """The table column of each category's probability, in order: p_<name> with spaces as underscores
        (the one spelling of these columns in predictions.csv, predict's rows and the API)."""
        return [f"p_{name.replace(' ', '_')}" for name in self.names]

    def classify(self, ef: np.ndarray | torch.Tensor, bins: LabelBins = "prompt") -> np.ndarray | torch.Tensor:
        """Category index of each EF value.

        `bins="prompt"` uses the intervals the prompts describe (this project's default).
        `bins="reference"` reproduces the reference code: floor(EF) in inclusive integer
        ranges 0-30, 31-45, 46-55, 56-70, 71+.
        """
        is_tensor = isinstance(ef, torch.Tensor)
        values = ef.detach().cpu().numpy() if is_tensor else np.asarray(ef, dtype=float)
        if bins == "reference":
            if not self.reference_label_bins:
                raise ValueError(f"{self.source}: no reference_label_bins")
            floored = np.floor(values)
            uppers = np.array([b[1] for b in self.reference_label_bins])
            classes = np.minimum(np.searchsorted(uppers, floored, side="left"), len(uppers) - 1)
        else:
            clipped = np.clip(values, self.intervals[0].low, self.intervals[-1].high)
            classes = np.full(clipped.shape, -1, dtype=np.int64)
            for k, interval in reversed(list(enumerate(self.intervals))):
                classes[interval.contains(clipped)] = k
            if (classes < 0).any():
                raise ValueError(f"EF values fall between the category intervals: {values[classes < 0][:5]}")
        classes = classes.astype(np.int64)
        return torch.from_numpy(classes).to(ef.device) if is_tensor else classes

    def to_dict(self) -> dict:
        return {
            "names": list(self.names),
            "texts": list(self.texts),
            "intervals": [[i.low, i.high, i.low_closed, i.high_closed] for i in self.intervals],
            "anchors": list(self.anchors),
            "reference_label_bins": [list(b) for b in self.reference_label_bins],
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: dict) -> PromptSet:
        return cls(
            names=tuple(data["names"]),
            texts=tuple(data["texts"]),
            intervals=tuple(Interval(*i) for i in data["intervals"]),
            anchors=tuple(float(a) for a in data["anchors"]),
            reference_label_bins=tuple(tuple(b) for b in data.get("reference_label_bins", [])),
            source=data.get("source", ""),
        )


DEFAULT_PROMPTS = "lvef_categories"


def load_prompts(name_or_path: str = DEFAULT_PROMPTS) -> PromptSet:
    """Read a prompt file: a packaged name (e.g. "lvef_categories") or a path to a YAML file."""
    text, source = _prompt_text(name_or_path)
    data = yaml.safe_load(text)
    prefix = data.get("prefix", "").strip()
    categories = data["categories"]
    intervals = tuple(Interval.parse(c["interval"]) for c in categories)
    if not _tile(intervals):
        raise ValueError(f"{source}: category intervals must tile the EF range without overlap")
    return PromptSet(
        names=tuple(c["name"] for c in categories),
        texts=tuple(f"{prefix} {' '.join(c['text'].split())}".strip() for c in categories),
        intervals=intervals,
        anchors=tuple(float(c["anchor"]) for c in categories),
        reference_label_bins=tuple(tuple(b) for b in data.get("reference_label_bins", [])),
        source=source,
    )


def _tile(intervals: tuple[Interval, ...]) -> bool:
    """Whether consecutive intervals meet, with the shared bound in exactly one of them."""
    for a, b in zip(intervals, intervals[1:], strict=False):
        if a.high != b.low or (a.high_closed and b.low_closed):
            return False
    return True


def _prompt_text(name_or_path: str) -> tuple[str, str]:
    """A prompt file's text and where it came from: a YAML path, or a packaged prompt set's name."""
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} and path.is_file():
        return path.read_text(), str(path)
    packaged = packaged_file("prompts", name_or_path)
    if packaged is None:
        raise FileNotFoundError(
            f"no prompt file {name_or_path!r}: neither a YAML path nor one of the packaged "
            f"prompt sets {packaged_names('prompts')}"
        )
    return packaged.read_text(), f"cardiacclip:{name_or_path}"


def write_prompts(prompts: PromptSet, path: str | Path, header: str = "") -> Path:
    """Write a prompt set as a prompt YAML that `load_prompts` reads back unchanged (texts kept whole, no prefix)."""

    def interval(i: Interval) -> str:
        return f"{'[' if i.low_closed else '('}{i.low:g}, {i.high:g}{']' if i.high_closed else ')'}"

    data = {
        "prefix": "",
        "categories": [
            {"name": n, "interval": interval(i), "anchor": a, "text": t}
            for n, i, a, t in zip(prompts.names, prompts.intervals, prompts.anchors, prompts.texts, strict=True)
        ],
        "reference_label_bins": [list(b) for b in prompts.reference_label_bins],
    }
    path = Path(path)
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    path.write_text(comment + yaml.safe_dump(data, sort_keys=False, width=10_000, allow_unicode=True))
    return path


RELEASED_PROMPTS_VARIABLE = "LVEF_fine_prompts_new"  # what the released EchoCLIP.forward encodes


def import_released_prompts(reference_dir: str | Path) -> PromptSet:
    """The five category sentences and anchor values of a checkout of the released CardiacCLIP code.

    Reads `utils.py` of the checkout as text (nothing of it runs): the list `LVEF_fine_prompts_new`
    and the `prompt_values` of `compute_regression_metric`. Category names, EF intervals and the
    reference label bins are this package's. The sentences are the released authors' text: they
    are read from the user's checkout and never shipped with this package.
    """
    source_path = Path(reference_dir) / "utils.py"
    texts, anchors = _released_sentences(source_path)
    ours = load_prompts("lvef_categories")
    if len(texts) != len(ours):
        raise ValueError(f"{source_path}: {RELEASED_PROMPTS_VARIABLE} has {len(texts)} sentences, expected {len(ours)}")
    return PromptSet(
        names=ours.names,
        texts=tuple(texts),
        intervals=ours.intervals,
        anchors=tuple(anchors) if len(anchors) == len(texts) else ours.anchors,
        reference_label_bins=ours.reference_label_bins,
        source=f"released CardiacCLIP {source_path}",
    )


def _released_sentences(source_path: Path) -> tuple[list[str], list[float]]:
    """The category sentences and anchor values (empty if absent) of the released code's utils.py."""
    import ast

    if not source_path.is_file():
        raise FileNotFoundError(f"{source_path}: not found; pass the folder of a checkout of the released CardiacCLIP")
    tree = ast.parse(source_path.read_text(), filename=str(source_path))
    texts = _assigned(tree, RELEASED_PROMPTS_VARIABLE)
    if texts is None:
        raise ValueError(f"{source_path}: no list {RELEASED_PROMPTS_VARIABLE}")
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "compute_regression_metric"]
    anchors = _assigned(functions[0], "prompt_values") if functions else None
    return [str(t) for t in texts], [float(v) for v in anchors or []]


def _assigned(tree, name: str) -> list | None:
    """The literal first assigned to `name` in a parsed module or function (read, never run), or None."""
    import ast

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return list(ast.literal_eval(node.value))
    return None
