"""The `cardiacclip` command line: each command parses its options, calls one function of `cardiacclip.jobs` and
prints its typed result; nothing else happens here.

Every command has `--help`. Exit status: 0 when every input was processed; 1 when some inputs failed (their rows
or the list of problems are still written); 2 when the command cannot start, with one line saying what to do;
130 on Ctrl-C (the table: `cardiacclip.cli.app.EXIT_STATUSES`). The commands, by group:

    data     synth, inspect, convert                      (cli/data.py)
    runs     train, evaluate, benchmark, demo, pretrain   (cli/runs.py)
    models   predict, export, import-prompts, serve       (cli/models.py)
    pacs     pacs pull, pacs push, pacs run               (cli/pacs.py)

Options shared by several commands are declared once in `cli/options.py`.
"""

from cardiacclip.cli import data, runs, models, pacs  # noqa: F401, I001 (each module registers its commands, in this order)
from cardiacclip.cli.app import EXIT_STATUSES, app, stopping_errors

__all__ = ["EXIT_STATUSES", "app", "stopping_errors"]
