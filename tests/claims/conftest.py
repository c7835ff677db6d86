import pytest

from pgmath import verification


@pytest.fixture(scope="session")
def result():
    """Every claim's check and every proof, run once per test process."""
    return verification.run_all()
