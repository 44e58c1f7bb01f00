"""`python -m cardiacclip` runs the command line (also what `torchrun -m cardiacclip` starts)."""

from cardiacclip.cli import app

app(prog_name="cardiacclip")
