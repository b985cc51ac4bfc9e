"""``python -m pan_gym.train …`` and ``torchrun --nproc_per_node K -m pan_gym.train …`` (same options as
``pan-gym train``)."""

from pan_gym.train.cli import make_app

if __name__ == "__main__":
    make_app()()
