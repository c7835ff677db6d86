"""``pgmath learn``: prints one row per algorithm with the exact gap to J*."""
from pgmath.cli import main


def test_learn_prints_the_gap(capsys):
    """Exact NPG on the bandit (means 0.2, 0.5, 0.8; J* = 0.8 by hand) for 3 iterations."""
    assert main(["learn", "bandit", "npg_exact", "--iterations", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[-2:] == ["gap", "samples"]
    name, j0, jk, jstar, gap, samples = out[1].split()
    assert name == "npg_exact" and float(jstar) == 0.8 and float(j0) == 0.5
    assert abs(float(gap) - (0.8 - float(jk))) < 1e-4 and samples == "0"
