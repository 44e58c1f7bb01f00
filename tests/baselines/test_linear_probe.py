from __future__ import annotations

import numpy as np

from cardiacclip.baselines.linear_probe import LinearProbe


def test_the_probe_picks_its_ridge_strength_on_validation_and_stays_in_range():
    rng = np.random.default_rng(0)
    direction = rng.normal(size=16)

    def videos(n: int) -> tuple[list[np.ndarray], np.ndarray]:
        ef = rng.uniform(20, 80, n)
        features = [np.outer(np.ones(3), direction) * (e - 50) / 30 + rng.normal(0, 0.05, (3, 16)) for e in ef]
        return features, ef

    train, val, test = videos(40), videos(20), videos(20)
    probe = LinearProbe(alphas=(1e-3, 1e3)).fit(*train, *val)
    assert probe.alpha == 1e-3  # a strong penalty flattens the signal; validation sees it
    prediction = probe.predict(test[0])
    assert np.mean(np.abs(prediction - test[1])) < 3 and (prediction >= 0).all() and (prediction <= 100).all()
