"""A large mutation-fuzzing campaign over every kind of file the toolkit reads (`cardiacclip.testing.fuzz`).

    python benchmarks/fuzz_inputs.py --n 2000

Prints the outcomes per input kind (ok, refused with the toolkit's own reason, and the bugs: traceback, hang,
implausible, escaped), then every bug case with its mutation; exits 1 if there is one. The machine and the date
are printed with the table.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

from cardiacclip.testing.fuzz import BUGS, campaign, outcome_table


def _cpu() -> str:
    """The CPU's model name (Linux), else what the platform says."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.is_file() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.processor()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="mutated files, spread evenly over the input kinds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds one file may take")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the readers' warnings about each damaged file: not the table's business
    warnings.simplefilter("ignore")
    started = time.time()
    with tempfile.TemporaryDirectory() as folder:
        results = campaign(args.n, Path(folder), seed=args.seed, timeout=args.timeout)
    print(f"# {args.n} mutated files, seed {args.seed}, {time.time() - started:.0f} s")
    print(f"# {datetime.date.today()}, {_cpu()}, {os.cpu_count()} cores")
    print(outcome_table(results))
    bugs = [r for r in results if r.outcome in BUGS]
    for r in bugs:
        print(f"{r.outcome}: {r.kind} {r.seed_file} ({r.mutation}): {r.detail}")
    return 1 if bugs else 0


if __name__ == "__main__":
    sys.exit(main())
