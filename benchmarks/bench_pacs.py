#!/usr/bin/env python3
"""Studies per minute through pull -> predict -> SR -> push against a local Orthanc, and peak memory.

A synthetic PACS export (`synth --pacs`: 3 loops of 600 x 800 screen captures per study, and the echo machine's
SR of each study) is loaded into a fresh Orthanc on loopback (`cardiacclip.testing`; needs
`apt-get install orthanc orthanc-dicomweb`), then `cardiacclip pacs run` goes through it once (cold) and again
(a rerun: nothing to fetch, predict or add). Prints both rounds' studies per minute and the time per stage,
and the process's peak resident memory (`ru_maxrss`: the whole Python process, model included).

    python benchmarks/bench_pacs.py demo_out/run --studies 8

The figures depend on the CPU (prediction dominates) and on the disk; a PACS across a network adds its latency.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import pydicom

from cardiacclip.data.video_io import find_videos
from cardiacclip.dicom.dicomweb import PacsSettings
from cardiacclip.dicom.sr import report_text
from cardiacclip.jobs.pacs.run import run_pacs
from cardiacclip.logging_setup import configure_logging
from cardiacclip.synthetic.dicoms import write_pacs_export
from cardiacclip.testing import LocalOrthanc, is_part10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, help="run folder, checkpoint or package (e.g. demo_out/run)")
    parser.add_argument("--studies", type=int, default=8)
    parser.add_argument("--frames", type=int, default=60, help="frames per loop")
    parser.add_argument("--dump", type=Path, help="also write the content tree of the first study's SR here")
    args = parser.parse_args()
    configure_logging()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        export = write_pacs_export(work / "export", n=3 * args.studies, seed=7, n_frames=args.frames)
        reports = sorted((work / "export" / "reports").glob("*.dcm"))
        files = [p for p in find_videos([export]) if p.suffix != ".avi"] + reports
        with LocalOrthanc(work / "orthanc") as server:
            stored = server.upload([p for p in files if is_part10(p)])
            settings = PacsSettings(url=server.url, user=server.user, password_file=str(server.password_file))
            print(f"# {stored} instances of {args.studies} studies in a local Orthanc; model {args.model}")
            for label in ("cold", "rerun"):
                started = time.perf_counter()
                result = run_pacs(args.model, settings, work / "out", device="cpu", progress=False)
                seconds = time.perf_counter() - started
                print(
                    f"{label:5s}: {seconds:6.1f} s, {60 * result.pulled.studies / seconds:5.1f} studies/min; "
                    f"{result.pulled.fetched} fetched, {result.predicted.done} predicted, "
                    f"{len(result.reports)} SRs, {result.pushed.stored} stored; seconds per stage: "
                    + ", ".join(f"{stage} {value:.1f}" for stage, value in result.seconds.items())
                )
            if args.dump:
                first = pydicom.dcmread(result.reports[0])
                head = [f"# {first.SeriesDescription}; SOP Instance UID {first.SOPInstanceUID}"]
                args.dump.write_text("\n".join(head + report_text(first)) + "\n")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
