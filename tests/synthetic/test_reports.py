from __future__ import annotations

import numpy as np

from cardiacclip.synthetic.reports import function_category, make_report, parse_report_ef


def test_report_sentences_round_trip_to_their_ef():
    rng = np.random.default_rng(0)
    for ef in rng.uniform(5, 90, 300):
        report = make_report(float(ef), rng, edv_ml=float(rng.uniform(40, 200)))
        assert parse_report_ef(report) == round(ef)
        assert report == report.upper() and report.endswith(".")
    assert parse_report_ef("NORMAL LV SIZE. LVEF 62%.") == 62
    assert parse_report_ef("no number here") is None


def test_report_function_sentence_follows_the_category():
    rng = np.random.default_rng(1)
    assert "SEVERELY" in make_report(20, rng) or "SEVERE" in make_report(20, rng)
    assert (
        function_category(29.6) == "severely reduced"
        and function_category(70) == "normal"
        and function_category(71) == "hyperdynamic"
    )
    reports = {make_report(50, np.random.default_rng(i)) for i in range(30)}
    assert len(reports) > 5  # paraphrases, not one template
