from __future__ import annotations

import torch


def test_radam_skipping_early_steps_moves_nothing_until_rectification_and_keeps_the_moments():
    from cardiacclip.train.radam import RAdamSkippingEarlySteps, rho

    assert rho(5, 0.999) <= 5 < rho(6, 0.999)
    ours, theirs = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(3))
    skipping, plain = RAdamSkippingEarlySteps([ours], lr=0.1), torch.optim.RAdam([theirs], lr=0.1)
    for step in range(1, 7):
        for p, opt in ((ours, skipping), (theirs, plain)):
            p.grad = torch.tensor([1.0, -2.0, 0.5])
            opt.step()
        assert torch.equal(skipping.state[ours]["exp_avg"], plain.state[theirs]["exp_avg"])
        assert torch.equal(ours.detach(), torch.ones(3)) == (step <= 5)  # torch's RAdam moves from step 1
        assert not torch.equal(theirs.detach(), torch.ones(3))
