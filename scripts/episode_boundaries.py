"""The numbers and the figure of docs/guide/episode-boundaries.md, deterministically.

    python scripts/episode_boundaries.py            # print the table, redraw the figure
    python scripts/episode_boundaries.py --table    # print the table only

Everything is exact (pgmath.rollouts.expected_update by the recursion; no sampling), on
pgmath.rollouts.examples.boundary_problem: 3 live states and a terminal goal, 2 actions,
γ = 0.9, segments of 16 steps from the stationary start, same-step auto-reset, λ = 0.95.
tests/rollouts/test_rollout_docs.py checks that the page quotes :func:`pattern_table`.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from pgmath.rollouts import PATTERNS, expected_update, gae
from pgmath.rollouts.compare import compare_update
from pgmath.rollouts.examples import boundary_problem
from pgmath.rollouts.objective import values

FIGURE = Path(__file__).resolve().parents[1] / "docs" / "guide" / "figures" / "episode-boundaries-bias.png"
N_STEPS, LAM, OFFSET = 16, 0.95, 0.5
LABELS = {
    "done_read_late": "1. done read at t+1",
    "truncation_as_termination": "2. truncation as termination",
    "truncation_bootstraps_current_value": "3. truncation bootstrapped with V(s_t)",
    "carried_across_truncation": "4. GAE carried across a truncation",
    "last_value_dropped": "5. last value not bootstrapped",
}


def _biases(time_limit: int, critic: str) -> dict[str, float]:
    """‖E g_bug − E g_gae‖ / ‖E g_gae‖ per bug (critic: exact V^π, or V^π + 1/2)."""
    prob, pol, th = boundary_problem(time_limit=time_limit)
    V = values(prob, pol, th)
    table = V if critic == "exact" else V + OFFSET
    kw = dict(n_steps=N_STEPS, lam=LAM, values=table)
    ref = expected_update(gae, prob, pol, th, **kw).mean
    out = {}
    for name, fn in PATTERNS.items():
        bias = expected_update(fn, prob, pol, th, **kw).mean - ref
        out[name] = float(np.linalg.norm(bias) / np.linalg.norm(ref))
    return out


def pattern_table() -> str:
    """The Markdown table of the page: each bug's exact relative bias at H = 3."""
    exact, critic = _biases(3, "exact"), _biases(3, "critic")
    lines = ["| bug | relative bias, exact V^π | relative bias, critic V^π + 1/2 |",
             "|---|---|---|"]
    for name, label in LABELS.items():
        lines.append(f"| {label} | {_fmt(exact[name])} | {_fmt(critic[name])} |")
    return "\n".join(lines)


def _fmt(x: float) -> str:
    return "0 (to rounding)" if x < 1e-12 else f"{x:.3g}"


def gap_table(time_limits=(3, 10, 30)) -> str:
    """The Markdown table of the state-weighting discrepancy against H."""
    lines = ["| H | without γ^k: ‖u − scale·∇J_γ‖/‖u‖ | with γ^k: ‖u − scale·∇J_γ‖/‖u‖ |",
             "|---|---|---|"]
    for H in time_limits:
        e = direction_errors(H)
        lines.append(f"| {H} | {e['none']:.3g} | {e['discounted']:.3g} |")
    return "\n".join(lines)


def direction_errors(time_limit: int) -> dict[str, float]:
    """‖u − scale·∇J_γ‖ / ‖u‖ of correct GAE with exact values, with and without γ^k."""
    prob, pol, th = boundary_problem(time_limit=time_limit)
    out = {}
    for weighting in ("none", "discounted"):
        e = expected_update(gae, prob, pol, th, n_steps=N_STEPS, lam=LAM, weighting=weighting)
        out[weighting] = compare_update(e, prob, pol, th).relative_residual
    return out


def curves(time_limits) -> dict[str, np.ndarray]:
    """Every curve of the figure over ``time_limits``."""
    out = {name: [] for name in PATTERNS}
    out.update({"none": [], "discounted": []})
    for H in time_limits:
        for name, v in _biases(H, "critic").items():
            out[name].append(v)
        for name, v in direction_errors(H).items():
            out[name].append(v)
    return {k: np.array(v) for k, v in out.items()}


def draw(path: Path = FIGURE, time_limits=tuple(range(1, 31))) -> Path:
    """Two panels: each bug's relative bias against H (critic V^π + 1/2), and how far
    correct GAE's update is from the direction of ∇J_γ, with and without γ^k."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = curves(time_limits)
    H = np.array(time_limits)
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for name, label in LABELS.items():
        a.semilogy(H, np.maximum(c[name], 1e-17), marker=".", label=label)
    a.set_ylim(1e-9, 2.0)  # at H = 1 every step ends an episode: bugs 1 and 5 have bias 0
    a.set_xlabel("time limit H")
    a.set_ylabel("‖E g_bug − E g_GAE‖ / ‖E g_GAE‖")
    a.set_title("the five bugs (critic V^π + 1/2)")
    a.legend(fontsize=7)
    b.semilogy(H, np.maximum(c["none"], 1e-17), marker=".", label="no γ^k weighting (common)")
    b.semilogy(H, np.maximum(c["discounted"], 1e-17), marker=".", label="γ^k weighting (Thomas 2014)")
    b.set_xlabel("time limit H")
    b.set_ylabel("‖u − scale·∇J_γ‖ / ‖u‖")
    b.set_title("correct GAE against the direction of ∇J_γ")
    b.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", action="store_true", help="print the table only")
    ap.add_argument("--out", type=Path, default=FIGURE, help="where to write the figure")
    args = ap.parse_args()
    print(pattern_table())
    print()
    print(gap_table())
    if not args.table:
        print(f"wrote {draw(args.out)}")


if __name__ == "__main__":
    main()
