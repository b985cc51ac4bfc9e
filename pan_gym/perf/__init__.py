"""Speed harness: ``pan-gym bench`` (``pan_gym.perf.cli``) runs ``pan_gym.perf.suite.run_suite``; the pieces it
measures with are in ``timing``; ``cache`` and ``envs`` are the backbone-cache and env-throughput benchmarks that
``benchmarks/bench_backbone_cache.py`` and ``benchmarks/bench_env.py`` also drive. Results: benchmarks/RESULTS.md."""
