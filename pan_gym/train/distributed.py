"""Process groups from ``torchrun``'s environment, and model wrapping (DDP, or FSDP2 per transformer block).

One code path for one process and many: without ``WORLD_SIZE`` in the environment (plain ``python -m``) nothing is
initialised and the helpers are no-ops. Under ``torchrun`` the backend is NCCL on GPU and gloo on CPU.

Example:
    >>> info = init_distributed()          # plain python: a single process
    >>> info.rank, info.world_size, info.is_main
    (0, 1, True)
    >>> any_rank(info, False)
    False
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass
class DistInfo:
    """Where this process sits in the job."""

    rank: int = 0  # global rank
    world_size: int = 1  # number of processes
    local_rank: int = 0  # rank on this machine (GPU index)
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device: str = "auto") -> DistInfo:
    """Read ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` (set by torchrun) and join the process group.

    ``device``: ``auto`` (CUDA if available), ``cpu`` or ``cuda``.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    dev = torch.device("cuda", local) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return DistInfo(rank, world, local, dev)


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def any_rank(info: DistInfo, flag: bool) -> bool:
    """True if ``flag`` is True on any rank (so every rank takes the same branch, e.g. stopping on a NaN)."""
    if not info.enabled:
        return flag
    t = torch.tensor([float(flag)], device=info.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def mean_over_ranks(info: DistInfo, values: dict[str, float]) -> dict[str, float]:
    """Average logged scalars over ranks (every rank must call it with the same keys)."""
    if not info.enabled or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=info.device)
    dist.all_reduce(t)
    return {k: float(v) / info.world_size for k, v in zip(keys, t.tolist(), strict=True)}


def transformer_blocks(module: nn.Module) -> list[nn.Module]:
    """The repeated blocks FSDP2 shards one by one: children of every ``ModuleList`` named ``blocks``/``layers``
    (the DiT's blocks, the Qwen LM's layers, the vision tower's blocks)."""
    found = []
    for name, sub in module.named_modules():
        if isinstance(sub, nn.ModuleList) and name.rsplit(".", 1)[-1] in ("blocks", "layers"):
            found.extend(sub)
    return found


def wrap(module: nn.Module, info: DistInfo, fsdp: bool = False) -> nn.Module:
    """DDP (default) or FSDP2 (``fully_shard`` on each transformer block, then on ``module`` as the root).

    ``module`` must do its work in ``forward`` (FSDP2 gathers the root's parameters in the root's forward hook).
    Single process: returned unchanged.
    """
    if not info.enabled:
        return module
    if fsdp:
        from torch.distributed.fsdp import fully_shard

        for block in transformer_blocks(module):
            fully_shard(block)
        fully_shard(module)
        return module
    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [info.local_rank] if info.device.type == "cuda" else None
    # some parameters skip a step (e.g. the no-frame placeholder, the reward head without rewards)
    return DDP(module, device_ids=ids, find_unused_parameters=True)
