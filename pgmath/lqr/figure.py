"""The LQR guide's figure: exact variance of REINFORCE and reward-to-go against the horizon.

On the double integrator (:func:`pgmath.environments.double_integrator`) with the stationary
Riccati gain of the discounted problem and σ = 0.5, the total variance tr Cov g of one row
of REINFORCE, reward-to-go and reward-to-go with the exact value baseline, for T = 1..60,
each from the moment recursion (no sampling: the curves are exact and the figure is
deterministic). Run ``python -m pgmath.lqr.figure DIR`` to write ``lqr_variance_vs_T.png``
and ``lqr_variance_vs_T.json`` (the numbers) into DIR.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from .. import environments
from . import estimators as E
from .moments import estimator_moments
from .objective import optimal_gain
from .policies import GaussianLinearPolicy

__all__ = ["variance_against_horizon", "draw", "HORIZONS", "ESTIMATORS"]

HORIZONS = tuple(range(1, 61))
ESTIMATORS = ("reinforce", "reward_to_go", "value_baseline")


def setting():
    """(policy, θ, problem for horizon T) of the figure."""
    K, _ = optimal_gain(environments.double_integrator(horizon=None, discount=0.99))
    pol = GaussianLinearPolicy(2, 1)
    theta = pol.pack(K, [0.0], [np.log(0.5)])
    return pol, theta, lambda T: environments.double_integrator(horizon=T)


def variance_against_horizon(horizons=HORIZONS) -> dict[str, list[float]]:
    """{estimator: [tr Cov g for each T]} (exact, moment recursion)."""
    pol, theta, problem = setting()
    out: dict[str, list[float]] = {name: [] for name in ESTIMATORS}
    for T in horizons:
        prob = problem(T)
        ests = {"reinforce": E.reinforce, "reward_to_go": E.reward_to_go,
                "value_baseline": E.value_baseline(prob, pol, theta)}
        for name in ESTIMATORS:
            out[name].append(float(np.trace(estimator_moments(ests[name], prob, pol, theta).cov)))
    return out


def draw(outdir) -> list[Path]:
    """Write the figure and its numbers into ``outdir``; returns the paths."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    data = variance_against_horizon()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    labels = {"reinforce": "REINFORCE", "reward_to_go": "reward-to-go",
              "value_baseline": "reward-to-go, exact V baseline"}
    for name in ESTIMATORS:
        ax.semilogy(HORIZONS, data[name], label=labels[name])
    ax.set_xlabel("horizon T")
    ax.set_ylabel("tr Cov g (exact)")
    ax.set_title("Double integrator, Riccati gain, σ = 0.5")
    ax.legend()
    fig.tight_layout()
    png = outdir / "lqr_variance_vs_T.png"
    fig.savefig(png, dpi=100, metadata={"Software": None})
    plt.close(fig)
    js = outdir / "lqr_variance_vs_T.json"
    js.write_text(json.dumps({"horizons": list(HORIZONS), **data}, indent=1) + "\n",
                  encoding="utf-8")
    return [png, js]


if __name__ == "__main__":  # pragma: no cover - a script
    for p in draw(sys.argv[1] if len(sys.argv) > 1 else "docs/guide/figures"):
        print(p)
