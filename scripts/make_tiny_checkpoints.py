"""Write tiny checkpoint directories in the real formats (Qwen2.5-VL; Wan2.1-T2V diffusers) to try the paper-scale
path without the real weights: ``python scripts/make_tiny_checkpoints.py OUT`` -> OUT/qwen, OUT/wan."""

import argparse

from pan_gym.paper.tiny_dirs import TINY_SIZE, write_tiny_checkpoints

if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("out", help="directory to write (qwen/ and wan/ inside)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    dirs = write_tiny_checkpoints(a.out, a.seed)
    print(f"wrote {dirs.qwen} and {dirs.wan}")
    print(f'cfg = preset("paper", qwen_path="{dirs.qwen}", image_size={TINY_SIZE}, frames_per_chunk=2)')
    print(f'cfg.vae.path = "{dirs.wan / "vae"}"; cfg.decoder.path = "{dirs.wan}"')
