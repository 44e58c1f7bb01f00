"""`cardiacclip predict` under torchrun: each rank writes every world-th input's rows to its own part file,
and rank 0 merges the parts into the output in input order (the same table as one process)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from cardiacclip.jobs.predict.rows import RowWriter


def part_file(out: Path, rank: int) -> Path:
    """Where rank `rank` of a sharded predict writes its rows before rank 0 merges them into `out`."""
    return out.with_name(f"{out.stem}.rank{rank}{out.suffix}")


def merge_parts(out: Path, files: list[Path], columns: list[str]) -> int:
    """Append the rows of every rank's part file to `out`, in input order (a cut-off last line is dropped), and
    delete the parts. Returns the number of rows merged."""
    order = {str(f): i for i, f in enumerate(files)}
    rows: list[dict[str, Any]] = []
    parts = sorted(out.parent.glob(f"{out.stem}.rank*{out.suffix}"))
    for part in parts:
        text = part.read_text()
        lines = text.splitlines()[: text.count("\n")]  # complete lines only
        if out.suffix.lower() == ".csv":
            rows.extend(csv.DictReader(lines))
        else:
            rows.extend(json.loads(line) for line in lines if line.strip())
    rows.sort(key=lambda row: order.get(row["file"], len(order)))
    if rows:
        writer = RowWriter(out, columns, append=True)
        for row in rows:
            writer.write(row)
        writer.close()
    for part in parts:
        part.unlink()
    return len(rows)
