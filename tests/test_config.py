from __future__ import annotations

import pytest

from cardiacclip.config import ConfigError, RunConfig, apply_overrides


def test_config_yaml_round_trip_and_typos(tmp_path):
    config = RunConfig.load("reference")
    assert config.data.normalize == "raw" and config.model.head == "coarse" and config.model.label_bins == "reference"
    path = tmp_path / "c.yaml"
    config.to_yaml(path)
    assert RunConfig.load(path).to_dict() == config.to_dict()
    with pytest.raises(ConfigError, match=r"unknown model field\(s\): \['scale'\]"):
        RunConfig.from_dict({"model": {"scale": [1]}})
    with pytest.raises(ConfigError, match="model.head must be one of"):
        RunConfig.from_dict({"model": {"head": "medium"}})


def test_wrong_types_name_the_field():
    with pytest.raises(ConfigError, match="data.length must be"):
        RunConfig.from_dict({"data": {"length": "sixteen"}})
    with pytest.raises(ConfigError, match=r"model.scales\[1\] must be an integer"):
        RunConfig.from_dict({"model": {"scales": [1, 2.5]}})
    with pytest.raises(ConfigError, match="train.tensorboard must be true or false"):
        RunConfig.from_dict({"train": {"tensorboard": "yes"}})
    assert RunConfig.from_dict({"train": {"lr_mfl": 1}}).train.lr_mfl == 1.0  # an int is a valid float
    assert RunConfig.from_dict({"data": {"test_clips": "all", "shots": None}}).data.test_clips == "all"


def test_dotted_overrides_are_parsed_as_yaml_and_validated():
    config = apply_overrides(
        RunConfig(), ["data.length=16", "model.scales=[1]", "train.lr_mfl=1e-3", "data.shots=null"]
    )
    assert config.data.length == 16 and config.model.scales == [1] and config.train.lr_mfl == 1e-3
    assert config.data.shots is None
    assert config.train.loss.kl == 1.0 and apply_overrides(config, ["train.loss.kl=0"]).train.loss.kl == 0.0
    for bad, message in [
        ("data.lenght=16", "no field 'lenght'"),
        ("data.length", "not key=value"),
        ("model.scales=[1", "not valid YAML"),
        ("data.length=abc", "data.length must be"),
        ("nope.x=1", "'nope' is not a config section"),
    ]:
        with pytest.raises(ConfigError, match=message):
            apply_overrides(RunConfig(), [bad])


def test_toy_backbones_get_the_synthetic_sizes():
    synthetic = RunConfig.load("synthetic")
    for backbone in ("synthetic", "tiny"):
        config = RunConfig.default_for(backbone)
        assert config.model.backbone == backbone
        assert (config.data.length, config.data.period, config.train.epochs) == (
            synthetic.data.length,
            synthetic.data.period,
            synthetic.train.epochs,
        )
    paper = RunConfig.default_for("/models/echo-clip")
    assert paper.data.length == 48 and paper.model.backbone == "/models/echo-clip"


def test_unknown_packaged_config_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"\['paper', 'reference', 'synthetic'\]"):
        RunConfig.load("papers")


def test_reading_fields_and_the_old_name_of_skip_unreadable():
    from cardiacclip.config import ConfigError, RunConfig, apply_overrides

    assert RunConfig().data.colour == "luminance" and RunConfig().data.skip_unreadable is False
    assert RunConfig.from_dict({"data": {"skip_missing": True}}).data.skip_unreadable is True  # configs before 0.3
    assert apply_overrides(RunConfig(), ["data.colour=rgb"]).data.colour == "rgb"
    with pytest.raises(ConfigError, match="data.colour must be one of"):
        apply_overrides(RunConfig(), ["data.colour=sepia"])
