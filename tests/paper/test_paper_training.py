"""The paper preset from the tiny real-format directories, trained as PAN is (h and the LM frozen, queries and DiT
trained, here with LoRA adapters on the LM; bf16 autocast, activation checkpointing, FSDP2 over 2 gloo processes),
saved, reloaded, and stepped in the gymnasium env."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import pytest
import torch
from safetensors.torch import load_file

import pan_gym  # noqa: F401  (registers the env ids)
from pan_gym.model.glp import PanWorldModel
from pan_gym.paper.tiny_dirs import TINY_SIZE, paper_train_args
from pan_gym.train.checkpoint import SHARDED
from pan_gym.train.ema import export_model
from tests.train.conftest import env


@pytest.mark.slow
def test_paper_preset_trains_with_fsdp_saves_reloads_and_steps_the_env(tiny_dirs, tmp_path):
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "pan_gym.train",
    ]
    proc = subprocess.run([*cmd, *paper_train_args(tiny_dirs, out, lora_rank=4), "--fsdp"], env=env(), capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert {p.name for p in (out / "checkpoints").iterdir()} == {"step_000002", "step_000003"}

    model = PanWorldModel.from_pretrained(out / "final")
    assert model.cfg.qwen_path == str(tiny_dirs.qwen) and model.cfg.backbone.hidden_size == 64
    qwen = {k: v for f in sorted(tiny_dirs.qwen.glob("*.safetensors")) for k, v in load_file(f).items()}
    key = "layers.1.mlp.down_proj.weight"
    lm = model.backbone.lm.state_dict()
    assert torch.equal(lm[key], qwen[f"model.{key}"].float())  # frozen: unchanged
    q = "layers.0.self_attn.q_proj"
    assert torch.equal(lm[f"{q}.base_layer.weight"], qwen[f"model.{q}.weight"].float())  # under its adapter
    assert lm[f"{q}.lora_B.default.weight"].abs().sum() > 0  # the adapter trained (B starts at 0)
    step2 = out / "checkpoints" / "step_000002"
    assert (step2 / SHARDED / "__1_0.distcp").is_file()  # FSDP2: each rank wrote its own shards
    earlier = PanWorldModel.from_pretrained(export_model(step2, tmp_path / "step2", ema=False))
    assert not torch.equal(model.backbone.queries, earlier.backbone.queries)  # trained from step 2 to 3
    dit = {
        k: v
        for f in sorted((tiny_dirs.wan / "transformer").glob("*.safetensors"))
        for k, v in load_file(f).items()
    }
    key = "blocks.0.ffn.net.2.weight"
    assert not torch.equal(
        model.decoder.dit.state_dict()[key], dit[key]
    )  # the DiT trained from the checkpoint

    sim = gym.make("pan_gym/World-v0", model=model, world=None)
    frame = torch.randint(0, 256, (TINY_SIZE, TINY_SIZE, 3), dtype=torch.uint8).numpy()
    obs, _ = sim.reset(seed=0, options={"observation": frame})
    obs, reward, terminated, truncated, info = sim.step("go to the red ball")
    assert obs["frames"].shape == (2, TINY_SIZE, TINY_SIZE, 3) and obs["state"].shape == (256, 64)
