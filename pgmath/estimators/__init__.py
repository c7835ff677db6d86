"""Policy-gradient estimators: ``estimator(batch, policy, theta) -> [N, d]``."""
from ..estimator_protocol import (EstimatorOutput, batch_coupled, call_estimator, evaluate_estimator,
                        has_recursion, is_batch_coupled, step_scores)
from .onpolicy import *  # noqa: F401,F403
from .onpolicy import __all__ as _onpolicy_all
from .offpolicy import *  # noqa: F401,F403
from .offpolicy import __all__ as _offpolicy_all
from .natural import *  # noqa: F401,F403
from .natural import __all__ as _natural_all

__all__ = ["batch_coupled", "is_batch_coupled", "has_recursion", "call_estimator",
           "evaluate_estimator", "EstimatorOutput", "step_scores",
           *_onpolicy_all, *_offpolicy_all, *_natural_all]
