"""RAdam's first steps, the two ways they are taken.

RAdam (Liu et al., ICLR 2020) rectifies Adam's adaptive step by a factor that exists only once the
approximated length of the moving average, rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t), exceeds 4
(5 in the implementations): with beta2 = 0.999, from the 6th step on. Before that, torch's
`torch.optim.RAdam` takes an SGD-with-momentum step (lr x the bias-corrected first moment); the
RAdam that the released CardiacCLIP code uses (its `degenerated_to_sgd=False`) leaves the
parameters where they are and only accumulates the moments. `train.radam_early_steps` chooses:
"sgd" (this project's default, torch's) or "skip" (`--config reference`).
"""

from __future__ import annotations

import torch

TRACTABLE_FROM = 5.0  # rho_t above which the rectified adaptive step is taken


def rho(step: int, beta2: float) -> float:
    """RAdam's rho_t after `step` steps (1, 2, ...) at `beta2`."""
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    return rho_inf - 2.0 * step * beta2**step / (1.0 - beta2**step)


class RAdamSkippingEarlySteps(torch.optim.RAdam):
    """`torch.optim.RAdam` whose steps with rho_t <= 5 change no parameter (the moments still accumulate), as
    the released CardiacCLIP's RAdam does; from the first tractable step on it is torch's RAdam."""

    @torch.no_grad()
    def step(self, closure=None):
        held = []
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                step = int(self.state[p]["step"]) + 1 if self.state[p] else 1
                if rho(step, group["betas"][1]) <= TRACTABLE_FROM:
                    held.append((p, p.detach().clone()))
        loss = super().step(closure)
        for p, before in held:
            p.copy_(before)
        return loss
