"""The training loop: one function from a laptop CPU to many GPUs (``torchrun``: DDP, or FSDP2 with ``fsdp``).

    dataset -> WindowBatches -> StageLoss (DDP/FSDP2) -> AdamW + cosine warm-up -> checkpoints -> OUT/final/

Read top to bottom: setup (process group, seeds, data, model, stage), resume, the loop (autocast forward,
non-finite guard, clipped step, logging, atomic checkpoints, sample videos), the final model directory.

Example:
    >>> import tempfile
    >>> from pan_gym.model.glp import PanWorldModel
    >>> out = tempfile.mkdtemp()
    >>> args = TrainArgs(data="synthetic:8", window=2, batch_size=2, steps=2, out=out, progress=False,
    ...                  tensorboard=False, threads=1)
    >>> final = train(args)  # doctest: +ELLIPSIS
    [pan-gym train] wrote ...
    >>> PanWorldModel.from_pretrained(final).cfg.frames_per_chunk
    2
"""

from __future__ import annotations

import json
import math
import random
import warnings
from dataclasses import asdict
from pathlib import Path

import torch

from pan_gym.config import apply_overrides, preset
from pan_gym.model import io
from pan_gym.model.glp import PanWorldModel
from pan_gym.train import checkpoint as ckpt
from pan_gym.train.args import TrainArgs
from pan_gym.train.checkpointing import checkpoint_blocks
from pan_gym.train.data import Rephrased, ResampledChunks, WindowBatches, memoize_latents, open_dataset
from pan_gym.train.distributed import (
    DistInfo,
    any_rank,
    barrier,
    init_distributed,
    mean_over_ranks,
    shutdown,
    wrap,
)
from pan_gym.train.ema import EMA
from pan_gym.train.monitor import RunLogger, write_sample_video
from pan_gym.train.resume import resume_run
from pan_gym.train.stages import StageLoss, select_trainable, set_train_mode
from pan_gym.worlds import make_world


class NonFiniteError(RuntimeError):
    """The loss or the gradient norm became NaN/inf: training stopped, the last good checkpoint is kept."""


def cosine_with_warmup(args: TrainArgs):
    """LR multiplier: linear warm-up over ``warmup_steps``, then cosine from 1 to ``min_lr_ratio`` at ``steps``."""

    def factor(step: int) -> float:
        if step < args.warmup_steps:
            return (step + 1) / args.warmup_steps
        progress = min(1.0, (step - args.warmup_steps) / max(1, args.steps - args.warmup_steps))
        return args.min_lr_ratio + (1 - args.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def build_model(args: TrainArgs, item: dict) -> PanWorldModel:
    """From ``init``, else a fresh preset sized to the data's frames (its frames per chunk default to the data's),
    with the ``config`` overrides (a resumed run's model comes from its checkpoint: ``resume.resume_run``)."""
    t, h = item["frames"].shape[1], item["frames"].shape[2]  # (N, T, H, W, 3)
    if args.init is not None:
        try:  # overrides, e.g. the loss weights of a second stage, must keep the weights' shapes
            model = PanWorldModel.from_pretrained(args.init, overrides=args.config)
        except io.CheckpointError as e:
            if not args.config:
                raise
            raise ValueError(f"--config {args.config!r} changes the weights of {args.init}: {e}") from None
    else:
        cfg = apply_overrides(preset(args.preset, frames_per_chunk=t, image_size=h), args.config)
        model = PanWorldModel.from_config(cfg)
    if model.cfg.frames_per_chunk > t or model.cfg.image_size != h:
        raise ValueError(
            f"{args.init or args.preset}: the model renders {model.cfg.frames_per_chunk} frames of "
            f"{model.cfg.image_size}px, the data has chunks of {t} frames of {h}px"
        )
    return model


def train(args: TrainArgs, dataset=None) -> Path:
    """Run (or resume) a training run; returns ``OUT/final`` (a ``PanWorldModel.from_pretrained`` directory)."""
    info = init_distributed(args.device)
    try:
        return _train(args, info, dataset)
    finally:
        shutdown(info)


def _say(info: DistInfo, msg: str) -> None:
    if info.is_main:
        print(f"[pan-gym train] {msg}", flush=True)


def _train(args: TrainArgs, info: DistInfo, dataset) -> Path:
    # ---- setup ------------------------------------------------------------------------------------------------
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    out, ckpt_root = Path(args.out), Path(args.out) / "checkpoints"
    random.seed(args.seed)
    torch.manual_seed(args.seed)  # same initial weights on every rank
    if dataset is None:  # synthetic: the run's image size, the preset's chunk length (another T resamples it)
        base, run = preset(args.preset), preset(args.preset)
        run = apply_overrides(run, args.config) if args.init is None else run
        dataset = open_dataset(args.data, args.window, base.frames_per_chunk, run.image_size, args.seed)
    resumed = resume_run(out, args, info) if args.resume else None  # ResumeError: other args, nothing loads
    if args.resume:
        _say(info, f"resuming from {resumed.path}" if resumed else "no complete checkpoint: starting fresh")
    first = dataset[0]
    model = (resumed.model if resumed else build_model(args, first)).to(info.device)
    if first["frames"].shape[1] != model.cfg.frames_per_chunk:
        dataset = ResampledChunks(dataset, model.cfg.frames_per_chunk)
    if args.rephrase:
        dataset = Rephrased(dataset, make_world(args.world).paraphrases("train"), args.seed)
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "args.json").write_text(json.dumps(asdict(args), indent=2))
    if args.stage == "vae" and model.cfg.vae.kind != "kl":
        why = "pretrained and frozen" if model.cfg.vae.kind == "wan" else "no autoencoder to train"
        _say(
            info, f"stage vae: latent space {model.cfg.vae.kind!r} ({why}); nothing to train, writing final/"
        )
        return _write_final(model, StageLoss(model, args.stage), info, out)
    persistent = set(model._persistent_state())
    params = select_trainable(model, args.stage)
    if args.stage != "vae":
        memoize_latents(model.latent)  # frozen from here on: each frame is encoded once
    if args.activation_checkpointing:
        checkpoint_blocks(model)  # before wrapping: FSDP2 shards the same blocks
    core = StageLoss(model, args.stage, args.vae_kl_weight)
    wrapped = wrap(core, info, fsdp=args.fsdp)
    params = [p for p in core.parameters() if p.requires_grad]  # FSDP2 replaces them with sharded ones
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, cosine_with_warmup(args))
    noise = torch.Generator().manual_seed(args.seed * 1000 + info.rank)  # diffusion noise, σ, dropout draws
    batches = WindowBatches(dataset, args.batch_size, args.seed, info)
    ema = EMA(model, args.ema_decay) if args.ema_decay else None
    step = 0

    # ---- resume -----------------------------------------------------------------------------------------------
    if resumed is not None:
        state, rng = resumed.state, resumed.rng
        if "sharded" in state:  # the weights too: DCP loads them into this run's shards
            ckpt.load_sharded(resumed.path, core, opt, persistent, ema.shadow if ema is not None else None)
        else:
            ckpt.load_optimizer_state(core, opt, state["optimizer"])
            if ema is not None:
                ema.load_state_dict(state["ema"])
        sched.load_state_dict(state["scheduler"])
        batches.load_state_dict(state["data"])
        step = int(state["step"])
        if rng is not None:
            torch.set_rng_state(rng["torch"])
            noise.set_state(rng["noise"])
        _say(info, f"resumed at step {step}")

    # ---- loop -------------------------------------------------------------------------------------------------
    set_train_mode(model)
    logger = RunLogger(args, out, step, info.is_main)
    sample_item = dataset[0]
    autocast = torch.autocast(info.device.type, dtype=torch.bfloat16, enabled=args.bf16)
    # bf16 activations meet fp32 norm weights by design under autocast; torch says so at every norm call
    warnings.filterwarnings("ignore", message="Mismatch dtype between input and weight")
    try:
        while step < args.steps:
            batch = batches.next()
            reason = ""
            try:
                with autocast:
                    result = wrapped(batch, noise)
                bad = not bool(torch.isfinite(result["loss"]))
                reason = "loss" if bad else ""
            except FloatingPointError as e:  # the model's own guard
                bad, reason = True, str(e)
            if any_rank(info, bad):
                raise NonFiniteError(_nonfinite_msg(step + 1, reason or "loss on another rank", ckpt_root))
            result["loss"].backward()
            gnorm = torch.nn.utils.clip_grad_norm_(params, args.grad_clip)
            gnorm = gnorm.full_tensor() if hasattr(gnorm, "full_tensor") else gnorm
            if any_rank(info, not bool(torch.isfinite(gnorm))):
                opt.zero_grad(set_to_none=True)
                raise NonFiniteError(_nonfinite_msg(step + 1, f"gradient norm {float(gnorm)}", ckpt_root))
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            if ema is not None:
                ema.update(model, step)
            scalars = {k: float(v.detach()) for k, v in result.items()}
            scalars.update(grad_norm=float(gnorm), lr=sched.get_last_lr()[0])
            logger.log(step, mean_over_ranks(info, scalars), args.batch_size * info.world_size)
            if step % args.save_every == 0 or step == args.steps:
                _save(args, core, opt, sched, batches, noise, step, model, persistent, info, ckpt_root, ema)
            if args.sample_every and step % args.sample_every == 0 and info.is_main and not args.fsdp:
                path = out / "samples" / f"step_{step:06d}.mp4"
                write_sample_video(model, sample_item, path, 0, zero_state=args.stage == "decoder")
                set_train_mode(model)
            barrier(info)
    finally:
        logger.close()
    return _write_final(model, core, info, out, persistent, ema)


def _nonfinite_msg(step: int, reason: str, ckpt_root: Path) -> str:
    last = ckpt.latest_checkpoint(ckpt_root)
    kept = f"the last good checkpoint is {last}" if last else "no checkpoint was written before it"
    return f"non-finite values at step {step} ({reason}); stopped without saving; {kept}"


def _save(args, core, opt, sched, batches, noise, step, model, persistent, info, root, ema=None) -> Path:
    """A checkpoint of this step: full state dicts gathered to rank 0, or with FSDP2 each rank's shards (DCP)."""
    train_state = {
        "step": step,
        "scheduler": sched.state_dict(),
        "data": batches.state_dict(),
        "stage": args.stage,
    }
    tensors, sharded = None, None
    if args.fsdp:
        sharded = ckpt.sharded_state(core, opt, persistent, ema.shadow if ema is not None else None)
        train_state["sharded"] = sorted(sharded)
    else:
        tensors = ckpt.model_state(core, persistent)  # collective under FSDP
        train_state["optimizer"] = ckpt.optimizer_state(core, opt)
        if ema is not None:
            train_state["ema"] = ema.state_dict()
    rank_state = {"torch": torch.get_rng_state(), "noise": noise.get_state()}
    return ckpt.save_checkpoint(
        root,
        step,
        model.cfg.to_dict(),
        tensors,
        train_state,
        rank_state,
        info,
        args.keep_checkpoints,
        sharded,
    )


def _write_final(
    model, core, info: DistInfo, out: Path, persistent: set[str] | None = None, ema: EMA | None = None
) -> Path:
    """``OUT/final`` holds the shipped weights: the moving average when ``ema_decay`` is on, else the trained ones."""
    persistent = persistent or set(model._persistent_state())
    tensors = ckpt.model_state(core, persistent)
    if ema is not None:
        tensors = ema.weights(tensors)
    final = out / "final"
    if info.is_main:
        io.write_model_dir(final, model.cfg.to_dict(), tensors)
        print(f"[pan-gym train] wrote {final}", flush=True)
    barrier(info)
    return final
