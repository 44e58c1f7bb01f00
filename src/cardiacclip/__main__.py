"""`python -m cardiacclip` runs the command line (also what `torchrun -m cardiacclip` starts).

Tested by tests/jobs/test_train_ddp.py and tests/jobs/predict/test_shards.py (`python -m cardiacclip` under torchrun).
"""

from cardiacclip.cli import app

app(prog_name="cardiacclip")
