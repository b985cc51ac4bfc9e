"""``pan-gym ablate``: the ablations PAN did not run, trained and scored the same way.

variants.py (named variants per claim) -> run.py (train each with pan_gym.train, evaluate with pan_gym.eval) ->
evaluate.py (the suite plus per-rollout figures) -> stats.py (confidence intervals) -> report.py (markdown + plots).
"""
