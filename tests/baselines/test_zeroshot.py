from __future__ import annotations

import numpy as np
import pytest

from cardiacclip.baselines.zeroshot import ranked_value_prediction, zero_shot_prompts


def test_zero_shot_prompts_are_echoclips():
    texts, values = zero_shot_prompts()
    assert len(texts) == 202 and values.tolist() == list(range(101)) * 2
    assert texts[47] == "THE LEFT VENTRICULAR EJECTION FRACTION IS ESTIMATED TO BE 47% "
    assert texts[101 + 47] == "LV EJECTION FRACTION IS 47%. "


def test_zero_shot_on_a_stub_similarity_matrix():
    _, values = zero_shot_prompts()
    # every frame likes prompts near 40 best, with similarity falling off with |value - 40|
    similarity = -np.abs(values[None, :] - 40.0) + np.random.default_rng(0).normal(0, 0.01, (6, 202))
    assert ranked_value_prediction(similarity, values) == pytest.approx(40.0, abs=5.0)
    # the top 20% (40 of 202 positions) of the frame-averaged ranked list: hand-computable case
    values_small = np.arange(10, dtype=float)
    stub = np.tile(np.arange(10, dtype=float), (3, 1))  # prompts with larger values are more similar
    assert ranked_value_prediction(stub, values_small, top_fraction=0.2) == pytest.approx(np.median([9, 8]))
    # frames disagree: position-wise averaging of ranked values
    two = np.array([np.arange(10.0), -np.arange(10.0)])
    assert ranked_value_prediction(two, values_small, top_fraction=0.3) == pytest.approx(np.median([4.5, 4.5, 4.5]))
