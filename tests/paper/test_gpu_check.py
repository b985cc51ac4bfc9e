"""The GPU check's CPU mode: the same path at tiny sizes, one JSON line on stdout, every part passing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.train.conftest import env

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gpu_check.sh"


def test_gpu_check_cpu_mode_prints_one_passing_json_line():
    proc = subprocess.run([str(SCRIPT), "--cpu", "--repeats", "1"], env=env(PYTHON=sys.executable),
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout
    report = json.loads(lines[0])
    assert report["ok"] and report["device"] == "cpu"
    assert report["tiny_dirs"]["frames"] == [1, 2, 112, 112, 3]
    assert set(report["throughput"]) == {"tiny@1", "tiny@4"} and min(report["throughput"].values()) > 0
    assert report["fsdp"] == "skipped"  # one device: tests/paper/test_paper_training.py covers FSDP on CPU
    assert report["eval"]["pixels_agree"] == 1.0 and report["eval"]["stepwise"]["cpu"]["items"] > 0
