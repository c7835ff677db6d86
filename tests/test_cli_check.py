"""``pgmath check FILE.py:FUNCTION``: table, verdicts and exit status.

The verdicts are decided exactly (enumeration), so the exit status is deterministic;
the biased estimator's bias is non-zero on the bandit because its rewards differ per
arm (dropping r_t removes an action-dependent term)."""
import textwrap

import numpy as np
import pytest

from pgmath.cli import main
from pgmath.commands.check import battery, load_estimator
from pgmath.errors import PgmathError

USER_FILE = textwrap.dedent('''
    import numpy as np
    from pgmath.estimators import reward_to_go, step_scores

    def good(batch, policy, theta):
        return reward_to_go(batch, policy, theta)

    def drops_rt(batch, policy, theta):
        w = batch.rewards * batch.discount ** np.arange(batch.horizon)
        rtg = np.cumsum(w[:, ::-1], axis=1)[:, ::-1] - w
        return np.einsum("ntd,nt->nd", step_scores(batch, policy, theta), rtg)

    def wrong_shape(batch, policy, theta):
        return np.zeros(batch.n)
''')


@pytest.fixture()
def user_file(tmp_path):
    p = tmp_path / "my_estimators.py"
    p.write_text(USER_FILE)
    return p


def test_correct_estimator_passes(user_file, capsys):
    assert main(["check", f"{user_file}:good", "--random", "2", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "environment" in out and "detectable" in out
    assert "gridworld" in out and "random-1" in out
    assert "all 10 checks passed" in out and "FAIL" not in out  # 5 named + 2 random + 3 large
    assert "gridworld (T=50)" in out and "asymptotic:" in out


def test_biased_estimator_fails_with_nonzero_status(user_file, capsys):
    assert main(["check", f"{user_file}:drops_rt", "--random", "1", "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "checks failed" in out


def test_protocol_violation_is_reported(user_file, capsys):
    assert main(["check", f"{user_file}:wrong_shape", "--random", "0", "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "EstimatorError" in out and "shape" in out


def test_sampling_mode(user_file, capsys):
    """--n samples: Bernstein with the exact variance at α = 1e-6 (seed 0). 2000 draws
    cannot see 10% of ‖∇J‖∞ everywhere: no bias found, some rows inconclusive, exit 3."""
    assert main(["check", f"{user_file}:good", "--random", "1", "--n", "2000",
                 "--no-progress"]) == 3
    out = capsys.readouterr().out
    assert "bernstein" in out and "inconclusive" in out and "FAIL" not in out


@pytest.mark.parametrize("spec,match", [("nofunc.py", "FILE.py:FUNCTION"),
                                        ("missing.py:f", "no such file")])
def test_bad_target_is_named(spec, match):
    with pytest.raises(PgmathError, match=match):
        load_estimator(spec)


def test_missing_function_exit_status(user_file, capsys):
    assert main(["check", f"{user_file}:nope"]) == 2
    assert "defines no 'nope'" in capsys.readouterr().err


def test_battery_is_seeded():
    a, b = battery(3, seed=4), battery(3, seed=4)
    for (na, ma, _, ta), (nb, mb, _, tb) in zip(a, b):
        assert na == nb and np.array_equal(ta, tb) and np.array_equal(ma.P, mb.P)
