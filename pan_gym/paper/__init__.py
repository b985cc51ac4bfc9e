"""Paper scale: real-format checkpoint directories at tiny sizes, the memory budget of a preset, FLOPs per imagined
step, and the GPU check (docs/paper_scale.md)."""
