"""``pgmath envs`` and ``pgmath show NAME`` print what the exact engine computes."""
import pkgutil
import re

import numpy as np
import pytest

from pgmath import environments as envs
from pgmath import exact
import pgmath.commands
from pgmath.cli import COMMANDS, main
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


def test_python_dash_m_pgmath_runs_the_command():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "pgmath", "envs"], capture_output=True, text=True)
    assert out.returncode == 0 and "tightrope" in out.stdout


def test_envs_says_which_commands_each_environment_supports(capsys):
    assert main(["envs"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^tightrope\s+show, check\s", out, re.M)
    assert re.search(r"^bandit\s+show, check, learn\s", out, re.M)


def test_learn_on_an_environment_without_settings_says_why(capsys):
    assert main(["learn", "tightrope", "npg"]) == 2
    err = capsys.readouterr().err
    assert "no learning-loop settings for 'tightrope'" in err and "Traceback" not in err


def test_show_aligns_numbers_and_prints_no_negative_zero(capsys):
    from pgmath.commands import fmt
    assert fmt(-0.00001) == "0.0000" and fmt(-0.5) == "-0.5000"
    main(["show", "tightrope"])
    lines = [line for line in capsys.readouterr().out.splitlines()[1:] if "commands" not in line]
    ends = {len(line) for line in lines}
    assert len(ends) == 1, lines                           # right-aligned in one column
    assert not any(re.search(r"-0(\.0*)?$", line) for line in lines)


def test_every_command_module_is_listed():
    """pgmath.cli.COMMANDS names each module of pgmath.commands (the list is explicit, so a
    new command module that is not listed would never be reachable)."""
    modules = {m.name for m in pkgutil.iter_modules(pgmath.commands.__path__)}
    assert {c.__name__.rsplit(".", 1)[1] for c in COMMANDS} == modules
