"""Control-measure recommendations (reasoning/recommend), run as the last assessment step."""
from __future__ import annotations

from riskgraph.reasoning.run_context import ModelRun, Run


def step_recommend(run: Run) -> ModelRun:
    """Control measures for every enterprise, risk point and open hidden danger (reasoning/recommend)."""
    from riskgraph.reasoning.recommend.run import run as recommend

    summary = recommend(run.store, as_of=run.as_of)
    subjects = summary.enterprises + summary.risk_points + summary.hidden_dangers
    return ModelRun("recommend", summary.method, summary.version, subjects, summary.seconds, tuple(summary.phases.items()))
