from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).parents[1] / "scripts" / "check_function_length.py"


def _checker():
    spec = importlib.util.spec_from_file_location("check_function_length", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_length_check_finds_a_long_function_and_passes_the_package(tmp_path):
    checker = _checker()
    body = "\n".join(f"    x{i} = {i}" for i in range(61))
    (tmp_path / "long.py").write_text(f"def short():\n    return 1\n\n\ndef long():\n{body}\n")
    found = checker.long_functions(tmp_path, 60)
    assert [(name, length) for _, _, name, length in found] == [("long", 62)]
    assert checker.main([str(tmp_path)]) == 1
    assert checker.main([str(SCRIPT.parents[1] / "src")]) == 0


def test_the_complexity_check_counts_boolean_operators_and_passes_the_package(tmp_path):
    checker = _checker()
    conditions = " and ".join(f"x{i}" for i in range(11))  # 10 boolean operators: complexity 11
    source = f"def simple(x):\n    return x\n\n\ndef tangled(x0=0, **_):\n    return {conditions}\n"
    (tmp_path / "tangled.py").write_text(source)
    found = checker.complex_functions(tmp_path, 10)
    assert [(name, complexity) for _, _, name, complexity in found] == [("tangled", 11)]
    assert checker.main([str(tmp_path), "--max-complexity", "10"]) == 1
    assert checker.main([str(SCRIPT.parents[1] / "src"), "--max-complexity", "10"]) == 0
