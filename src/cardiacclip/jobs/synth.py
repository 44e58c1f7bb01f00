"""`cardiacclip synth`: synthetic data in one of three forms: echoes in the EchoNet-Dynamic layout, a hospital
export of DICOM screen captures (`--pacs`), or a fixture in an external set's release layout (`--layout`).

Tested by tests/test_cli.py (through the command line) and tests/synthetic/.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cardiacclip.choices import ExternalSet, SyntheticRhythm, SyntheticStyle


@dataclass
class SynthResult:
    """What `synthesize` wrote: the kind of data, where, and for echoes their split counts and EF spread (%)."""

    kind: str  # "echoes", "pacs" or the external set's name
    root: Path
    n: int
    split_counts: dict[str, int] = field(default_factory=dict)
    ef_mean: float | None = None
    ef_sd: float | None = None
    ef_min: float | None = None
    ef_max: float | None = None


def synthesize(
    out: Path,
    n: int = 200,
    seed: int = 0,
    size: int = 112,
    fps: float = 50.0,
    workers: int | None = None,
    style: SyntheticStyle = "echonet",
    pacs: bool = False,
    layout: ExternalSet | None = None,
    rhythm: SyntheticRhythm = "regular",
) -> SynthResult:
    """Write `n` synthetic videos (per view for a layout) to `out`; the same seed gives the same data. `rhythm`
    applies to echoes (`cardiacclip.synthetic.dataset.generate_dataset`)."""
    if layout is not None:
        from cardiacclip.synthetic.layouts import write_camus, write_pediatric

        root = write_camus(out, n, seed) if layout == "camus" else write_pediatric(out, n, seed)
        return SynthResult(kind=layout, root=root, n=n)
    if pacs:
        from cardiacclip.synthetic.dicoms import write_pacs_export

        return SynthResult(kind="pacs", root=write_pacs_export(out, n=n, seed=seed), n=n)
    from cardiacclip.synthetic.dataset import generate_dataset

    table = generate_dataset(out, n=n, seed=seed, size=size, fps=fps, workers=workers, style=style, rhythm=rhythm)
    ef = table["EF"].astype(float)
    counts = {str(k): int(v) for k, v in table["Split"].value_counts().items()}
    return SynthResult("echoes", out, len(table), counts, ef.mean(), ef.std(), ef.min(), ef.max())
