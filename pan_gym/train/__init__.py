"""Training: the stages that turn a collected dataset into a ``PanWorldModel`` (see ``trainer.py``).

Example:
    >>> from pan_gym.train import TrainArgs, train
    >>> TrainArgs(stage="decoder").stage
    'decoder'
"""

from pan_gym.train.args import STAGES, TrainArgs

__all__ = ["STAGES", "TrainArgs", "train"]


def train(args: TrainArgs, dataset=None):
    """``pan_gym.train.trainer.train`` (imported lazily: torch and transformers load only when training)."""
    from pan_gym.train.trainer import train as _train

    return _train(args, dataset)
