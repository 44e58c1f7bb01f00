"""The mutation fuzzer: a fixed small campaign over every input kind finds no bug (no traceback, no hang, no result
from implausible metadata, no write outside a case's folder), and the outcome classes mean what they say."""

from __future__ import annotations

import time

import numpy as np

from cardiacclip.testing import fuzz


def test_a_small_seeded_campaign_over_every_input_kind_finds_no_bug(tmp_path):
    results = fuzz.campaign(len(fuzz.READERS) * 12, tmp_path, seed=0, timeout=30)
    assert {r.kind for r in results} == set(fuzz.READERS)
    assert {r.outcome for r in results} <= {"ok", "refused"}, [r for r in results if r.outcome in fuzz.BUGS]
    assert sum(r.outcome == "refused" for r in results) > 0 and sum(r.outcome == "ok" for r in results) > 0


def test_mutations_are_seeded():
    data = bytes(range(256)) * 20
    first = [fuzz.mutate_bytes(data, np.random.default_rng(7)) for _ in range(3)]
    again = [fuzz.mutate_bytes(data, np.random.default_rng(7)) for _ in range(3)]
    assert first == again and first[0][1] != data


def _raises_key_error(path):
    raise KeyError("a bug")


def _sleeps(path):
    time.sleep(60)


def _implausible(path):
    raise fuzz.Implausible("a frame rate of 2.6e9")


def test_the_outcome_classes(tmp_path, monkeypatch):
    case = tmp_path / "case"
    case.mkdir()
    path = case / "file"
    path.write_bytes(b"x")
    monkeypatch.setitem(fuzz.READERS, "bug", _raises_key_error)
    monkeypatch.setitem(fuzz.READERS, "slow", _sleeps)
    monkeypatch.setitem(fuzz.READERS, "odd", _implausible)
    assert fuzz.run_case("bug", path, 10)[0] == "traceback"
    assert fuzz.run_case("slow", path, 1)[0] == "hang"
    assert fuzz.run_case("odd", path, 10)[0] == "implausible"
    assert fuzz.run_case("avi", path, 10)[0] == "refused"  # one byte is no video: the reader says so
