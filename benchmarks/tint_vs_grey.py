#!/usr/bin/env python3
"""How far a tinted B-mode loop's EF lands from its grey twin's: read as luminance (the default,
`data.colour: luminance`) and as stored (`rgb`).

Each pair is one synthetic screen capture written twice as a DICOM cine loop: MONOCHROME2 (grey) and
PALETTE COLOR through a linear bronze palette (what an ultrasound machine's tint map stores). Both go
through `cc.load(...).predict`, as a user's files would.

    python benchmarks/tint_vs_grey.py demo_out/run          # the demo's model (run `make demo` first)
    python benchmarks/tint_vs_grey.py RUN --pairs 8 --size 600x800

Prints |EF(tinted) - EF(grey)| per pair and their mean and maximum for both readings. The figures depend on
the model (the manual's come from the demo's), not on the machine: the same model gives the same EFs to
float rounding on any CPU.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import numpy as np

import cardiacclip as cc
from cardiacclip.synthetic.dicoms import screen_capture, write_ultrasound_dicom


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", type=Path, help="run folder, checkpoint or package")
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--size", default="600x800", help="screen HEIGHTxWIDTH")
    parser.add_argument("--seed", type=int, default=500)
    args = parser.parse_args()
    height, width = (int(v) for v in args.size.split("x"))
    luminance = cc.load(args.model, device="cpu", precision="fp32")
    as_stored = cc.load(args.model, device="cpu", precision="fp32")
    as_stored.config = dataclasses.replace(
        as_stored.config, data=dataclasses.replace(as_stored.config.data, colour="rgb")
    )
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for i in range(args.pairs):
            capture = screen_capture(args.seed + i, height=height, width=width, echo_px=int(0.64 * height))
            grey = write_ultrasound_dicom(Path(folder) / f"grey{i}.dcm", capture, "mono2")
            bronze = write_ultrasound_dicom(Path(folder) / f"bronze{i}.dcm", capture, "palette_bronze")
            ef_grey = luminance.predict(grey).ef
            read = luminance.predict(bronze)
            stored = as_stored.predict(bronze).ef
            rows.append((capture.ef, ef_grey, read.ef, stored, read.colour))
            print(
                f"pair {i}: drawn EF {capture.ef:5.1f}; grey {ef_grey:6.2f}; bronze read as luminance {read.ef:6.2f} "
                f"(|d| {abs(read.ef - ef_grey):.2f}, colour {read.colour}); as stored {stored:6.2f} "
                f"(|d| {abs(stored - ef_grey):.2f})"
            )
    table = np.array([r[:4] for r in rows])
    lum, raw = np.abs(table[:, 2] - table[:, 1]), np.abs(table[:, 3] - table[:, 1])
    print(
        f"\n{args.pairs} bronze/grey pairs, model {args.model}: |EF(bronze) - EF(grey)| read as luminance "
        f"mean {lum.mean():.2f}, max {lum.max():.2f}; as stored (data.colour rgb) mean {raw.mean():.2f}, "
        f"max {raw.max():.2f} EF points"
    )


if __name__ == "__main__":
    main()
