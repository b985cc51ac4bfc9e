"""``TrainArgs``: every knob of a training run, one docstring per field (CleanRL-style).

Example:
    >>> args = TrainArgs(preset="tiny", data="synthetic:16", stage="joint", steps=3, out="/tmp/run")
    >>> args.batch_size, args.window
    (4, 4)
"""

from __future__ import annotations

from dataclasses import dataclass

STAGES = ("vae", "decoder", "joint", "reward", "dynamics", "render")


@dataclass
class TrainArgs:
    preset: str = "tiny"
    """model preset (tiny, small, paper) for a fresh run; ignored when ``init`` or a checkpoint gives the model"""
    world: str = "babyai"
    """the world the data was collected in (recorded with the run; ``rephrase`` draws from its phrasings)"""
    data: str = "synthetic:64"
    """dataset directory written by ``pan-gym collect`` (several: ``DIR1,DIR2``, pooled), or ``synthetic:N`` (N toy
    items, for smoke tests)"""
    rephrase: bool = False
    """draw each action's wording afresh every epoch from the world's train phrasings (data from ``pan-gym
    collect``, which stores the canonical actions), instead of the one wording picked when it was collected"""
    stage: str = "joint"
    """vae | decoder (PAN stage 1: the DiT on action text alone) | joint (PAN stage 2) | reward (head only) |
    dynamics (h, f by latent matching alone; ``backbone.supervision=latent``) | render (decoder + reward head on
    the frozen backbone's ŝ)"""
    steps: int = 100
    """optimizer steps to reach (a resumed run continues up to this total)"""
    out: str = "runs/train"
    """run directory: checkpoints/, final/, tb/, samples/, args.json"""
    resume: bool = False
    """continue from the newest complete checkpoint in ``out/checkpoints`` that loads (fresh start if there is
    none); the other arguments must be the run's (``out/args.json``) except those listed in
    ``pan_gym/train/resume.py`` ``MAY_DIFFER`` (steps, threads, device, logging, checkpointing...)"""
    init: str | None = None
    """start from this model directory (e.g. a previous stage's ``final/``) instead of a fresh preset"""
    batch_size: int = 4
    """windows per optimizer step, per process"""
    window: int = 4
    """N: action steps per training window (teacher-forced history; PAN caps history at 10 rounds)"""
    lr: float = 3e-4
    """peak AdamW learning rate"""
    weight_decay: float = 0.01
    """AdamW weight decay"""
    warmup_steps: int = 10
    """linear warm-up steps before the cosine decay"""
    min_lr_ratio: float = 0.1
    """the cosine ends at ``lr * min_lr_ratio``"""
    grad_clip: float = 1.0
    """clip the global gradient norm to this"""
    bf16: bool = False
    """bf16 autocast for the forward pass (weights and optimizer stay fp32)"""
    seed: int = 0
    """seeds weights, data order and diffusion noise"""
    save_every: int = 50
    """checkpoint every this many steps (and at the end)"""
    keep_checkpoints: int = 2
    """complete checkpoints kept (older ones pruned after a new one is in place)"""
    sample_every: int = 0
    """write an imagined|true mp4 every this many steps (0: never)"""
    log_every: int = 10
    """TensorBoard scalars every this many steps"""
    tensorboard: bool = True
    """write TensorBoard scalars to ``out/tb``"""
    progress: bool = True
    """show a progress bar (rank 0)"""
    fsdp: bool = False
    """FSDP2 (fully_shard per transformer block) instead of DDP when run under torchrun (paper preset); its
    checkpoints are sharded (DCP: each rank writes its own shards)"""
    activation_checkpointing: bool = False
    """recompute each transformer block in the backward pass instead of keeping its activations
    (``train/checkpointing.py``; the paper-scale presets need it)"""
    threads: int = 0
    """torch CPU threads per process (0: leave torch's default)"""
    device: str = "auto"
    """auto (CUDA when available) | cpu | cuda"""
    vae_kl_weight: float = 1e-4
    """vae stage: weight of the KL term (per latent element) beside the L1 + MSE reconstruction"""
    config: str = ""
    """overrides of the preset for a fresh run, e.g. ``frames_per_chunk=1,backbone.num_queries=16``, or of an
    ``init`` model's config when they keep its weights (e.g. ``diffusion.change_weight=8``); data chunks longer
    than the model's are resampled to it (evenly spaced frames ending on the last)"""
    ema_decay: float = 0.0
    """keep an exponential moving average of the weights with this decay (e.g. 0.999) and ship it as
    ``final/``; 0 = off (with ``fsdp``, each rank averages its own shards)"""

    def __post_init__(self):
        if self.stage not in STAGES:
            raise ValueError(f"unknown stage {self.stage!r}; stages: {', '.join(STAGES)}")
        if self.steps < 1 or self.batch_size < 1 or self.window < 1:
            raise ValueError("steps, batch_size and window must be >= 1")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError("ema_decay must be in [0, 1)")
        if self.save_every < 1:
            raise ValueError("save_every must be >= 1")
