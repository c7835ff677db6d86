"""Claim checks from the SymPy derivations in ``proofs/``: each derivation decides the
claims it lists (``Derivation.claims``); the verdict is computed from SymPy's step
statuses (:meth:`pgmath.derivation.Derivation.claim_verdicts`). A derivation is checked
once per process (:func:`pgmath.derivation.checked`), however many claims it covers."""
from __future__ import annotations

import ast

from ..claims import CLAIMS, Verdict, claim, new_claim
from ..derivation import checked, proof_files

__all__ = ["proof_claims"]


def proof_claims() -> dict[str, list[str]]:
    """Claim ID → names of the proof files deciding it, read from each file's source
    (cheap: the derivations are not built)."""
    out: dict[str, list[str]] = {}
    for path in proof_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "claims" and isinstance(node.value, ast.Dict):
                for key in node.value.keys:
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        out.setdefault(key.value, []).append(path.stem)
    return out


#: The pytest nodes that confirm a proof's finding by an independent numeric route.
_T = "tests/proofs/test_proofs.py::"
TESTS = {
    "PG-5": _T + "test_pg5_same_step_pairs_do_not_vanish_past_pairs_do",
    "PG-7": _T + "test_pg7_reward_to_go_can_have_larger_variance",
    "PG-9": _T + "test_pg9_batch_average_baseline_expectation_is_one_minus_one_over_n",
    "PG-11": _T + "test_pg11_notes_line_two_changes_the_value",
    "PG-12": _T + "test_pg12_notes_per_decision_form_is_biased_corrected_one_is_not",
    "PG-14": _T + "test_pg14_weight_second_moment_is_a_power",
    "PG-15": _T + "test_pg15_dropped_state_ratio_bias_is_first_order_in_the_step",
    "PG-23": _T + "test_pg23_marginal_ratio_form_needs_the_future_ratios",
    "PG-17": _T + "test_pg17_notes_kl_is_negative_pg18_curvature_has_a_half",
    "PG-18": _T + "test_pg17_notes_kl_is_negative_pg18_curvature_has_a_half",
    "PG-20": _T + "test_pg20_step_size_meets_the_constraint_and_beats_feasible_steps",
    "PG-10": _T + "test_pg22_optimal_baseline_minimises_the_variance_on_a_grid",
    "PG-22": _T + "test_pg22_optimal_baseline_minimises_the_variance_on_a_grid",
    "RL-3": _T + "test_rl3_two_state_chain_converges_to_the_eigenvector",
    "IL-1": _T + "test_il1_tightrope_cost_closed_form_and_bounds",
    "IL-3": _T + "test_il3_sum_closed_form",
}


def _make_check(name: str, cid: str):
    def check() -> Verdict:
        derivation, results = checked(name)
        v = derivation.claim_verdicts(results)[cid]
        if cid in TESTS:
            v["check"] += f" (numeric: {TESTS[cid]})"
        return Verdict(**{k: val for k, val in v.items() if val is not None})
    check.__qualname__ = check.__name__ = f"proof_{name}_{cid.replace('-', '_')}"
    check.__doc__ = f"Claim {cid} decided by the SymPy derivation proofs/{name}.py."
    return check


#: Claims the notes make that CLAIMS.md does not list, decided by a proof here.
NEW_CLAIMS = {
    "PG-23": ("4.4", "The state-action-marginal form E_θ[Σ_t p_θ'(s_t,a_t)/p_θ(s_t,a_t) "
                     "∇log π_θ'(a_t|s_t) Q̂_t] of the off-policy gradient is exact; only "
                     "dropping the state ratio makes it biased."),
}


def _register() -> None:
    for cid, (section, statement) in NEW_CLAIMS.items():
        new_claim(cid, section=section, statement=statement)
    for cid, names in proof_claims().items():
        if cid not in CLAIMS:
            continue
        for name in names:
            claim(cid)(_make_check(name, cid))


_register()
