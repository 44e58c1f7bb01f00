"""Fail when a function in the given folders is longer than the limit, or more complex (`make lint`).

    python scripts/check_function_length.py src --max 60 --max-complexity 10

A function's length counts every line from its `def` (decorators excluded) to its last line, docstring
and signature included: what a reader has to hold on one screen. Its complexity is radon's cyclomatic
complexity, which counts boolean operators and comprehensions too (ruff's C901 does not).
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path


def long_functions(folder: Path, limit: int) -> list[tuple[Path, int, str, int]]:
    """(file, line, name, length) of every function or method in `folder` longer than `limit` lines."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > limit:
                    found.append((path, node.lineno, node.name, length))
    return found


def complex_functions(folder: Path, limit: int) -> list[tuple[Path, int, str, int]]:
    """(file, line, name, complexity) of every function or method in `folder` whose radon cyclomatic complexity
    is above `limit`."""
    from radon.complexity import cc_visit

    found = []
    for path in sorted(folder.rglob("*.py")):
        for block in cc_visit(path.read_text()):
            for item in [block, *getattr(block, "methods", [])]:
                if item.complexity > limit and type(item).__name__ == "Function":
                    found.append((path, item.lineno, item.fullname, item.complexity))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--max", type=int, default=60, help="longest allowed function, in lines")
    parser.add_argument("--max-complexity", type=int, default=None, help="highest allowed cyclomatic complexity")
    args = parser.parse_args(argv)
    found = [item for folder in args.folders for item in long_functions(folder, args.max)]
    for path, line, name, length in found:
        print(f"{path}:{line}: {name} is {length} lines long (at most {args.max})")
    limit = args.max_complexity
    tangled = [item for folder in args.folders for item in complex_functions(folder, limit)] if limit else []
    for path, line, name, complexity in tangled:
        print(f"{path}:{line}: {name} has cyclomatic complexity {complexity} (at most {limit})")
    return 1 if found or tangled else 0


if __name__ == "__main__":
    sys.exit(main())
