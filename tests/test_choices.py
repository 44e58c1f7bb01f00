from __future__ import annotations

from typing import get_type_hints

from cardiacclip import choices
from cardiacclip.config import DataConfig, TrainConfig
from cardiacclip.jobs.serve import CROP_METHODS
from cardiacclip.synthetic.styles import STYLE_NAMES


def test_each_list_of_allowed_values_is_spelled_once():
    assert get_type_hints(DataConfig)["crop"] is choices.CropMethod
    assert get_type_hints(DataConfig)["colour"] is choices.ColourMode
    assert get_type_hints(TrainConfig)["precision"] is choices.Precision
    assert CROP_METHODS == choices.values(choices.CropMethod) == ("auto", "regions", "sector", "none")
    assert choices.values(choices.SyntheticStyle) == STYLE_NAMES
    assert set(choices.values(choices.DemoStyle)) <= set(STYLE_NAMES)
