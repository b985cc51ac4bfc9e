"""Evaluation: PAN's benchmark (arXiv 2511.09057) judged automatically by the true simulator.

- ``metrics``: psnr, ssim, tile_accuracy, grid_exact, outcome_shown, copied, smoothness, consistency (pure numpy/cv2).
- ``simulators``: the ``Simulator`` protocol; ``ModelSimulator``, ``OracleSimulator`` (true simulator), ``CopySimulator``.
- ``starts``: evaluation seeds (from 1,000,000; disjoint from training) and start states.
- ``fidelity``, ``stepwise``, ``horizon``, ``success``: the metrics' procedures; ``planning_eval``: the planner hook.
- ``suite.run_suite`` runs them all; ``report.write_report`` writes report.json, report.md and PNGs;
  ``pan-gym eval`` (``cli.py``) does both.
"""
