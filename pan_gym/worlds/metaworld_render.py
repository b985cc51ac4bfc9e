"""Fast small offscreen renders of a Meta-World scene (MuJoCo, EGL on CPU).

As shipped, MuJoCo renders Meta-World at 11-13 frames/s on a CPU (Mesa llvmpipe); with MSAA, shadows and reflections
off it renders ~130 frames/s at 64x64. ``MUJOCO_GL`` defaults to ``egl`` here unless the user has set it, and the GL
context is chosen from it when a renderer is made (so it works even if ``mujoco`` was imported earlier).

Example:
    >>> from metaworld.env_dict import ALL_V3_ENVIRONMENTS
    >>> env = ALL_V3_ENVIRONMENTS["reach-v3"]()
    >>> renderer = FastRenderer(env.model, 64, 64)
    >>> renderer.render(env.data).shape
    (64, 64, 3)
"""

from __future__ import annotations

import atexit
import os
import weakref

os.environ.setdefault("MUJOCO_GL", "egl")  # before the first `import mujoco`: headless rendering on a CPU

import mujoco  # noqa: E402
import numpy as np  # noqa: E402

# The default view: a free camera over the table from the front left, showing the arm and every task's objects.
WORKSPACE_CAMERA = {"lookat": (0.0, 0.68, 0.1), "distance": 1.1, "azimuth": 140.0, "elevation": -35.0}

# Renderers still open, closed at interpreter exit. MuJoCo registers eglTerminate with atexit when it makes its first
# EGL context; a hook registered after that runs before it, so contexts are freed while the display still lives.
_OPEN: weakref.WeakSet[FastRenderer] = weakref.WeakSet()
_hook_registered = False


def _close_all() -> None:
    for renderer in list(_OPEN):
        renderer.close()


def _gl_context_class() -> type | None:
    """MuJoCo's GL context class for the ``MUJOCO_GL`` backend now in the environment."""
    backend = os.environ.get("MUJOCO_GL", "").lower().strip()
    if backend == "egl":
        from mujoco.egl import GLContext
    elif backend == "osmesa":
        from mujoco.osmesa import GLContext
    else:
        from mujoco import gl_context

        GLContext = getattr(gl_context, "GLContext", None)  # None when MUJOCO_GL disables GL
    return GLContext


class FastRenderer:
    """Renders uint8 (H, W, 3) frames of one MuJoCo model, upright, with MSAA, shadows and reflections off.

    ``camera`` is ``"workspace"`` (a free camera, see ``WORKSPACE_CAMERA``) or the name of a camera in the model
    (Meta-World's: topview, corner, corner2, corner3, corner4, behindGripper, gripperPOV). Meta-World's named cameras
    come out upside down, so their frames are flipped back.
    """

    def __init__(self, model: mujoco.MjModel, height: int = 64, width: int = 64, camera: str = "workspace"):
        global _hook_registered
        model.vis.quality.offsamples = 0  # no MSAA: must be set before the GL context is made
        model.vis.global_.offwidth = max(model.vis.global_.offwidth, width)
        model.vis.global_.offheight = max(model.vis.global_.offheight, height)
        self.height, self.width = height, width
        self._camera = mujoco.MjvCamera()
        if camera == "workspace":
            self._camera.type = mujoco.mjtCamera.mjCAMERA_FREE
            self._camera.lookat[:] = WORKSPACE_CAMERA["lookat"]
            self._camera.distance = WORKSPACE_CAMERA["distance"]
            self._camera.azimuth = WORKSPACE_CAMERA["azimuth"]
            self._camera.elevation = WORKSPACE_CAMERA["elevation"]
            self._flip = True  # OpenGL rows start at the bottom
        else:
            names = [model.camera(i).name for i in range(model.ncam)]
            if camera not in names:
                raise ValueError(f"unknown camera {camera!r}; choose 'workspace' or one of {names}")
            self._camera.type = mujoco.mjtCamera.mjCAMERA_FIXED
            self._camera.fixedcamid = names.index(camera)
            self._flip = False  # upside-down camera and bottom-up rows cancel out
        context_class = _gl_context_class()
        self._gl = context_class(width, height) if context_class is not None else None
        if self._gl is not None:
            self._gl.make_current()
        self._model = model
        self._option = mujoco.MjvOption()
        self._scene = mujoco.MjvScene(model, maxgeom=10_000)
        self._scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = 0
        self._scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0
        self._context: mujoco.MjrContext | None = mujoco.MjrContext(
            model, mujoco.mjtFontScale.mjFONTSCALE_150
        )
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self._context)
        self._rect = mujoco.MjrRect(0, 0, width, height)
        if not _hook_registered:
            atexit.register(_close_all)
            _hook_registered = True
        _OPEN.add(self)

    def render(self, data: mujoco.MjData, out: np.ndarray | None = None) -> np.ndarray:
        """The current frame of ``data``: uint8 (H, W, 3), written into ``out`` if given."""
        if self._context is None:
            raise RuntimeError("render called after close")
        if self._gl is not None:
            self._gl.make_current()
        mujoco.mjv_updateScene(
            self._model, data, self._option, None, self._camera, mujoco.mjtCatBit.mjCAT_ALL, self._scene
        )
        mujoco.mjr_render(self._rect, self._scene, self._context)
        pixels = np.empty((self.height, self.width, 3), dtype=np.uint8)  # (H, W, 3), bottom row first
        mujoco.mjr_readPixels(pixels, None, self._rect, self._context)
        frame = pixels[::-1] if self._flip else pixels
        if out is None:
            return np.ascontiguousarray(frame)
        out[...] = frame
        return out

    def close(self) -> None:
        """Free the GL context (idempotent)."""
        if self._context is not None:
            if self._gl is not None:
                self._gl.make_current()
            self._context.free()
            self._context = None
        if self._gl is not None:
            self._gl.free()
            self._gl = None
        _OPEN.discard(self)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # at interpreter exit the GL libraries may already be gone
            pass
