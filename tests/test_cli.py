"""``pgmath envs`` and ``pgmath show NAME`` print what the exact engine computes."""
import re

import numpy as np
import pytest

from pgmath import environments as envs
from pgmath import exact
from pgmath.cli import main
from pgmath.lqr import LQRProblem


def _field(out: str, label: str) -> float:
    m = re.search(rf"^\s*{re.escape(label)}.*?\s(-?[\d.]+(?:e[-+]?\d+)?)\s*$", out, re.M)
    assert m, f"{label!r} not in:\n{out}"
    return float(m.group(1))


def test_envs_lists_every_environment(capsys):
    assert main(["envs"]) == 0
    out = capsys.readouterr().out
    for name in envs.names():
        size = "n" if name in LQR else "S"
        assert re.search(rf"^{name}\s+.*{size}={envs.make(name).n_states}", out, re.M), name


LQR = [name for name in envs.names() if isinstance(envs.make(name), LQRProblem)]


@pytest.mark.parametrize("name", LQR)
def test_show_a_linear_quadratic_problem(name, capsys):
    """J(θ = 0) and J* against the closed forms of pgmath.lqr."""
    from pgmath import lqr
    assert main(["show", name]) == 0
    out = capsys.readouterr().out
    prob = envs.make(name)
    pol = envs.default_policy(prob)
    assert _field(out, "state dimension") == prob.n_states
    assert _field(out, "action dimension") == prob.n_actions
    assert _field(out, "J(theta = 0)") == pytest.approx(
        lqr.objective(prob, pol, np.zeros(pol.n_params)), rel=1e-5)
    assert _field(out, "J* (optimal") == pytest.approx(lqr.optimal_objective(prob), rel=1e-5)


@pytest.mark.parametrize("name", [n for n in envs.names() if n not in LQR])
def test_show_prints_sizes_and_values_of_the_engine(name, capsys):
    assert main(["show", name]) == 0
    out = capsys.readouterr().out
    mdp = envs.make(name)
    pol = envs.default_policy(mdp)
    assert _field(out, "states") == mdp.n_states
    assert _field(out, "actions") == mdp.n_actions
    J_uniform = exact.objective(mdp, pol, np.zeros(pol.n_params))
    assert _field(out, "J(uniform)") == pytest.approx(J_uniform, rel=1e-5)
    assert _field(out, "J* (optimal") == pytest.approx(exact.optimal_objective(mdp), rel=1e-5)


def test_show_short_corridor_matches_closed_forms(capsys):
    """Uniform p = ½: J = (2p − 4)/(p(1 − p)) = −12; fully observed optimum: 3 steps, −3."""
    main(["show", "short_corridor"])
    out = capsys.readouterr().out
    assert _field(out, "J(uniform)") == pytest.approx(-12.0)
    assert _field(out, "J* (optimal") == pytest.approx(-3.0)
    assert _field(out, "observations") == 1


def test_show_rejects_unknown_names(capsys):
    with pytest.raises(SystemExit):
        main(["show", "maze"])
    assert "invalid choice" in capsys.readouterr().err
