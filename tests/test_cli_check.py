"""``pgmath check FILE.py:FUNCTION``: table, verdicts and exit status.

The verdicts are decided exactly (enumeration), so the exit status is deterministic;
the biased estimator's bias is non-zero on the bandit because its rewards differ per
arm (dropping r_t removes an action-dependent term)."""
import sys
import textwrap

import numpy as np
import pytest

from pgmath.check import check_unbiased
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


def test_the_users_directory_stays_importable_during_the_check(tmp_path, monkeypatch, capsys):
    """Issue 17.1: an estimator that imports a sibling module (and its own file) inside its
    body, run from a temporary directory, works for the whole check."""
    (tmp_path / "helpers.py").write_text(textwrap.dedent('''
        from pgmath.estimators import reward_to_go
        def rtg(batch, policy, theta):
            return reward_to_go(batch, policy, theta)
    '''))
    (tmp_path / "my_estimators.py").write_text(textwrap.dedent('''
        def lazy(batch, policy, theta):
            import helpers
            import my_estimators  # noqa: F401 - its own module, by name
            return helpers.rtg(batch, policy, theta)
    '''))
    monkeypatch.chdir(tmp_path)
    for name in ("helpers", "my_estimators"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    before = list(sys.path)
    assert main(["check", "my_estimators.py:lazy", "--random", "1", "--no-large",
                 "--no-progress"]) == 0, capsys.readouterr().out
    assert "all 6 checks passed" in capsys.readouterr().out
    assert sys.path == before  # restored afterwards
    for name in ("helpers", "my_estimators"):
        sys.modules.pop(name, None)


def test_the_smallest_failing_problem_is_printed_as_code_that_reproduces_it(user_file, capsys,
                                                                           monkeypatch):
    monkeypatch.delitem(sys.modules, "my_estimators", raising=False)
    assert main(["check", f"{user_file}:drops_rt", "--random", "2", "--no-large",
                 "--no-progress"]) == 1
    out = capsys.readouterr().out
    code = out.split("the smallest failing problem, to reproduce:")[1]
    ns: dict = {}
    exec(compile(code, "reproduction", "exec"), ns)  # noqa: S102 - our own output
    shown = capsys.readouterr().out
    assert "verdict: FAIL (biased)" in shown
    # smallest: no failing row of the battery has fewer trajectories at a shorter horizon
    mdp, pol, th = ns["mdp"], ns["policy"], ns["theta"]
    res = check_unbiased(ns["drops_rt"], mdp, pol, th)
    assert res.verdict == "biased"
    if mdp.horizon > 1:
        assert check_unbiased(ns["drops_rt"], mdp.with_horizon(mdp.horizon - 1), pol,
                              th).verdict != "biased"
    sys.modules.pop("my_estimators", None)  # imported by the reproduction


def test_inconclusive_rows_exit_3_and_name_the_n(user_file, capsys):
    assert main(["check", f"{user_file}:good", "--random", "0", "--max-n", "2000",
                 "--no-progress"]) == 3
    out = capsys.readouterr().out
    assert "inconclusive" in out and "would decide it (--max-n)" in out and "FAIL" not in out


def test_precision_flag(tmp_path, capsys):
    """Float32 code returned as float64: at float64 tolerance it fails and the message
    names --precision float32; with the flag it passes."""
    p = tmp_path / "f32.py"
    p.write_text(textwrap.dedent('''
        import numpy as np
        from pgmath.estimators import reward_to_go
        def cast(batch, policy, theta):
            g32 = reward_to_go(batch, policy, theta).astype(np.float32)
            return (g32 * np.float32(1.0000001)).astype(np.float64)
    '''))
    assert main(["check", f"{p}:cast", "--random", "0", "--no-large", "--no-progress",
                 "-v"]) == 1
    assert "precision float32" in capsys.readouterr().out
    assert main(["check", f"{p}:cast", "--random", "0", "--no-large", "--no-progress",
                 "--precision", "float32"]) == 0
