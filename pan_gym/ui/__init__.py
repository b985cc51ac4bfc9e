"""User-facing front ends: ``pan-gym demo`` (demo.py), ``pan-gym play`` (play.py) and ``pan-gym web`` (web.py).

``common.py`` holds what they share: model loading with clear errors, side-by-side frames, videos, ANSI previews.
"""
