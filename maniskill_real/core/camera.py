"""Make real camera images look like ManiSkill's simulated camera images.

Pixel conventions (verified against a SAPIEN 3.0.3 render of its Position
texture): SAPIEN and ManiSkill report K with the principal point in
*pixel-corner* coordinates, where pixel ``(i, j)`` spans ``[j, j + 1)`` and its
centre is ``j + 0.5``; a fov-built camera has ``cx = w / 2``.  ROS CameraInfo
and OpenCV put pixel centres at integer coordinates.  :class:`Intrinsics`
always holds the OpenCV/ROS convention (so ``cx = (w - 1) / 2`` for a centred
sim camera); :attr:`Intrinsics.maniskill_K` converts back for the policy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import cv2
import numpy as np

from maniskill_real.errors import CameraFovError

if TYPE_CHECKING:
    from mani_skill.sensors.camera import CameraConfig

DistortionModel = Literal["plumb_bob", "rational_polynomial", ""]
AlignMode = Literal["intrinsics", "center_crop"]

# Coefficient counts ROS uses for each model, in OpenCV's order.
_DISTORTION_LENGTHS = {"plumb_bob": 5, "rational_polynomial": 8}
# Real pixels may be sampled this far (in pixels) outside the image edge: float noise.
_FOV_TOLERANCE_PX = 1e-3
_INT16_MAX_MM = np.iinfo(np.int16).max
# Maps ManiSkill's pixel-corner principal point to OpenCV's pixel-centre one.
_CORNER_TO_CENTRE = np.array([[0.0, 0.0, -0.5], [0.0, 0.0, -0.5], [0.0, 0.0, 0.0]])
# OpenCV camera axes (x right, y down, z forward) -> OpenGL (x right, y up, z back).
_CV_TO_GL = np.diag([1.0, -1.0, -1.0, 1.0])


def _readonly(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class Intrinsics:
    """Pinhole camera with optional distortion, K in OpenCV/ROS pixel-centre convention."""

    width: int
    height: int
    K: np.ndarray
    D: np.ndarray = field(default_factory=lambda: np.zeros(0))
    distortion_model: DistortionModel = ""

    def __post_init__(self) -> None:
        K = np.array(self.K, dtype=np.float64)
        D = np.array(self.D, dtype=np.float64).reshape(-1)
        if K.shape != (3, 3):
            raise ValueError(f"Intrinsics K must be 3x3, got shape {K.shape}")
        if not (K[0, 0] > 0 and K[1, 1] > 0):
            raise ValueError(
                f"Intrinsics focal lengths must be positive, got fx={K[0, 0]}, fy={K[1, 1]} "
                "(is the camera calibrated?)"
            )
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"Intrinsics size must be positive, got {self.width}x{self.height}")
        if self.distortion_model == "":
            if np.any(D):
                raise ValueError(
                    f"Intrinsics has distortion coefficients {D.tolist()} but no distortion_model"
                )
        elif self.distortion_model in _DISTORTION_LENGTHS:
            expected = _DISTORTION_LENGTHS[self.distortion_model]
            if D.size != expected:
                raise ValueError(
                    f"distortion_model {self.distortion_model!r} needs {expected} "
                    f"coefficients, got {D.size}"
                )
        else:
            raise ValueError(
                f"unsupported distortion_model {self.distortion_model!r}; supported: "
                f"{sorted(_DISTORTION_LENGTHS)} or '' for none"
            )
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))
        object.__setattr__(self, "K", _readonly(K))
        object.__setattr__(self, "D", _readonly(D))

    @classmethod
    def from_fov(cls, width: int, height: int, fov_y: float) -> Intrinsics:
        """Camera that SAPIEN renders for ManiSkill's ``CameraConfig(fov=fov_y)``.

        SAPIEN's ``set_fovy(fov, compute_x=True)`` sets fx = fy = (h/2)/tan(fov/2)
        and the principal point at the image centre.
        """
        f = (height / 2) / math.tan(fov_y / 2)
        K = np.array([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]])
        return cls.from_maniskill_K(width, height, K)

    @classmethod
    def from_maniskill_K(cls, width: int, height: int, K: np.ndarray) -> Intrinsics:
        """From a ManiSkill/SAPIEN ``intrinsic_cv`` (pixel-corner principal point).

        Like SAPIEN, only fx, fy, cx and cy are used.
        """
        K = np.asarray(K, dtype=np.float64)
        if K.shape != (3, 3):
            raise ValueError(f"ManiSkill intrinsic must be 3x3, got shape {K.shape}")
        pinhole = np.array([[K[0, 0], 0.0, K[0, 2]], [0.0, K[1, 1], K[1, 2]], [0.0, 0.0, 1.0]])
        return cls(width, height, pinhole + _CORNER_TO_CENTRE)

    @property
    def maniskill_K(self) -> np.ndarray:
        """K as ManiSkill's ``get_params()["intrinsic_cv"]`` reports it (pixel corners)."""
        return self.K - _CORNER_TO_CENTRE

    @property
    def has_distortion(self) -> bool:
        return bool(np.any(self.D))

    @property
    def fov_x(self) -> float:
        """Horizontal field of view in radians through the principal point, distortion included."""
        cy = self.K[1, 2]
        x = self._undistort([[-0.5, cy], [self.width - 0.5, cy]])[:, 0]
        return math.atan(-x[0]) + math.atan(x[1])

    @property
    def fov_y(self) -> float:
        """Vertical field of view in radians through the principal point, distortion included."""
        cx = self.K[0, 2]
        y = self._undistort([[cx, -0.5], [cx, self.height - 0.5]])[:, 1]
        return math.atan(-y[0]) + math.atan(y[1])

    def project(self, xy: np.ndarray) -> np.ndarray:
        """Pixel coordinates (..., 2) of normalized image-plane points (..., 2)."""
        xy = np.asarray(xy, dtype=np.float64)
        points = np.concatenate([xy.reshape(-1, 2), np.ones((xy.size // 2, 1))], 1)
        uv, _ = cv2.projectPoints(points, np.zeros(3), np.zeros(3), self.K, self._cv_distortion())
        return uv.reshape(xy.shape)

    def pixel_rays(self, scale: int = 1) -> np.ndarray:
        """Normalized image-plane point (h*scale, w*scale, 2) seen by each sub-pixel centre.

        Splits every pixel into ``scale x scale`` sub-pixels, so that averaging
        each block gives the pixel's mean over its area.  Ignores distortion.
        """
        u = (np.arange(self.width * scale) + 0.5) / scale - 0.5
        v = (np.arange(self.height * scale) + 0.5) / scale - 0.5
        x = (u - self.K[0, 2]) / self.K[0, 0]
        y = (v - self.K[1, 2]) / self.K[1, 1]
        return np.stack(np.meshgrid(x, y), axis=-1)

    def border_rays(self, samples_per_edge: int = 64) -> np.ndarray:
        """Normalized points (N, 2) along the outer edge of the image rectangle."""
        u = np.linspace(-0.5, self.width - 0.5, samples_per_edge)
        v = np.linspace(-0.5, self.height - 0.5, samples_per_edge)
        uv = np.concatenate(
            [
                np.stack([u, np.full_like(u, v[0])], 1),
                np.stack([u, np.full_like(u, v[-1])], 1),
                np.stack([np.full_like(v, u[0]), v], 1),
                np.stack([np.full_like(v, u[-1]), v], 1),
            ]
        )
        return (uv - self.K[:2, 2]) / np.diag(self.K)[:2]

    def _cv_distortion(self) -> np.ndarray | None:
        return self.D if self.has_distortion else None

    def _undistort(self, uv: list[list[float]]) -> np.ndarray:
        criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-12)
        points = np.array(uv, dtype=np.float64).reshape(-1, 1, 2)
        xy = cv2.undistortPoints(points, self.K, self._cv_distortion(), criteria=criteria)
        return xy.reshape(-1, 2)


def sim_intrinsics(camera_config: CameraConfig) -> Intrinsics:
    """Intrinsics of the camera ManiSkill renders for ``camera_config``."""
    fov, intrinsic = camera_config.fov, camera_config.intrinsic
    width, height = camera_config.width, camera_config.height
    if (fov is None) == (intrinsic is None):
        raise ValueError(
            f"CameraConfig {camera_config.uid!r} must set exactly one of fov and "
            f"intrinsic, got fov={fov!r}, intrinsic={intrinsic!r}"
        )
    if fov is not None:
        if not np.isscalar(fov):
            raise ValueError(
                f"CameraConfig {camera_config.uid!r} has per-sub-scene fov {fov!r}; "
                "only a single fov is supported"
            )
        return Intrinsics.from_fov(width, height, float(fov))
    K = np.asarray(intrinsic, dtype=np.float64)
    if K.ndim == 3 and K.shape[0] == 1:
        K = K[0]
    return Intrinsics.from_maniskill_K(width, height, K)


def _metres_to_mm_int16(depth_m: np.ndarray) -> np.ndarray:
    """ManiSkill depth (h, w, 1) int16 mm; invalid (0, NaN, inf, negative) -> 0."""
    with np.errstate(invalid="ignore"):
        mm = np.rint(depth_m * 1000.0)
        mm[~(mm > 0)] = 0
    np.minimum(mm, _INT16_MAX_MM, out=mm)
    return mm.astype(np.int16)[..., None]


def _center_crop_box(real: Intrinsics, sim: Intrinsics) -> tuple[int, int, int, int]:
    """(x0, y0, width, height) of the largest centred crop with the sim's aspect ratio."""
    if real.width * sim.height >= real.height * sim.width:
        height = real.height
        width = max(1, round(real.height * sim.width / sim.height))
    else:
        width = real.width
        height = max(1, round(real.width * sim.height / sim.width))
    return (real.width - width) // 2, (real.height - height) // 2, width, height


class CameraAligner:
    """Turns one real camera's frames into the sim camera's view; built once per camera.

    ``intrinsics`` mode undistorts and crops/scales so the output has exactly
    the sim camera's K and size.  With ``antialias`` (the default) RGB is
    remapped bilinearly onto a grid ``scale`` times finer than the sim's (about
    the real pixel density), then box-averaged with ``INTER_AREA``: every output
    pixel is the mean of the real pixels it covers, as a camera sensor
    integrates light, so fine real texture cannot alias into moire.  Without it
    each output pixel is one bilinear sample at its centre, which is how SAPIEN
    renders (one sample per pixel, aliased) and so scores a higher PSNR against
    ManiSkill's own renders (see test_camera_align.py).  Depth is never
    blended: each output pixel takes the nearest real pixel.

    ``scale`` is the number of sub-pixels per sim pixel and axis (1 without
    anti-aliasing and in ``center_crop`` mode).

    ``center_crop`` mode is ManiSkill Sim2RealEnv's approach (centre crop to the
    sim aspect ratio, then resize) without its bugs; it ignores the sim K and
    distortion, and :attr:`intrinsic_cv` reports the K that results.
    """

    def __init__(
        self,
        real: Intrinsics,
        sim: Intrinsics,
        mode: AlignMode = "intrinsics",
        name: str = "camera",
        antialias: bool = True,
    ) -> None:
        if sim.has_distortion:
            raise ValueError(
                f"camera {name!r}: sim intrinsics must be distortion-free, got "
                f"{sim.distortion_model} {sim.D.tolist()}"
            )
        self.real = real
        self.sim = sim
        self.mode = mode
        self.name = name
        self._crop_interpolation = cv2.INTER_AREA if antialias else cv2.INTER_LINEAR
        if mode == "intrinsics":
            # Real pixel edges lie at -0.5 and size - 0.5 in pixel-centre coordinates.
            edge = real.project(sim.border_rays()) + 0.5
            size = np.array([real.width, real.height])
            if np.any(edge < -_FOV_TOLERANCE_PX) or np.any(edge > size + _FOV_TOLERANCE_PX):
                raise CameraFovError(name, real, sim)
            density = max(real.K[0, 0] / sim.K[0, 0], real.K[1, 1] / sim.K[1, 1])
            self.scale = max(1, round(density)) if antialias else 1
            uv = real.project(sim.pixel_rays(self.scale)).astype(np.float32)
            self._rgb_maps = cv2.convertMaps(uv[..., 0], uv[..., 1], cv2.CV_16SC2)
            depth_uv = real.project(sim.pixel_rays())
            self.aligned = sim
        elif mode == "center_crop":
            self.scale = 1
            x0, y0, width, height = _center_crop_box(real, sim)
            self._crop = (slice(y0, y0 + height), slice(x0, x0 + width))
            sx, sy = sim.width / width, sim.height / height
            # Pixel-corner coordinates scale about the crop's corner.
            to_aligned = np.array([[sx, 0, 0], [0, sy, 0], [0, 0, 1]]) @ np.array(
                [[1, 0, -x0], [0, 1, -y0], [0, 0, 1]]
            )
            self.aligned = Intrinsics(
                sim.width,
                sim.height,
                to_aligned @ real.maniskill_K + _CORNER_TO_CENTRE,
                real.D,
                real.distortion_model,
            )
            # Centre of output pixel j samples crop position (j + 0.5) / sx - 0.5.
            ju, iv = np.meshgrid(np.arange(sim.width), np.arange(sim.height))
            depth_uv = np.stack([x0 + (ju + 0.5) / sx - 0.5, y0 + (iv + 0.5) / sy - 0.5], -1)
        else:
            raise ValueError(
                f"camera {name!r}: unknown align mode {mode!r}; "
                "expected 'intrinsics' or 'center_crop'"
            )
        self._size = (sim.width, sim.height)
        nearest = np.floor(depth_uv + 0.5).astype(np.intp)
        self._depth_cols = np.clip(nearest[..., 0], 0, real.width - 1)
        self._depth_rows = np.clip(nearest[..., 1], 0, real.height - 1)

    @property
    def intrinsic_cv(self) -> np.ndarray:
        """K of the aligned images as ManiSkill's ``get_params()`` reports it."""
        return self.aligned.maniskill_K

    def align_rgb(self, image: np.ndarray) -> np.ndarray:
        """Real (H, W, 3) uint8 RGB -> sim (h, w, 3) uint8 RGB."""
        self._check_input(image, (3,), image.dtype == np.uint8, "uint8", "align_rgb")
        if self.mode == "center_crop":
            return cv2.resize(image[self._crop], self._size, interpolation=self._crop_interpolation)
        fine = cv2.remap(
            image,
            *self._rgb_maps,
            interpolation=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        if self.scale == 1:
            return fine
        return cv2.resize(fine, self._size, interpolation=cv2.INTER_AREA)

    def align_depth(self, depth_m: np.ndarray) -> np.ndarray:
        """Real (H, W) float metres -> sim (h, w, 1) int16 mm, nearest pixel; invalid -> 0."""
        is_float = np.issubdtype(depth_m.dtype, np.floating)
        self._check_input(depth_m, (), is_float, "float metres", "align_depth")
        return _metres_to_mm_int16(depth_m[self._depth_rows, self._depth_cols])

    def _check_input(
        self,
        image: np.ndarray,
        channels: tuple[int, ...],
        dtype_ok: bool,
        dtype_name: str,
        method: str,
    ) -> None:
        expected = (self.real.height, self.real.width, *channels)
        if image.shape != expected or not dtype_ok:
            raise ValueError(
                f"camera {self.name!r}: {method} expects shape {expected} "
                f"{dtype_name}, got shape {image.shape} {image.dtype}"
            )


def sensor_params(intrinsic_cv: np.ndarray, cam2world_cv: np.ndarray) -> dict[str, np.ndarray]:
    """Camera params in ManiSkill 3's ``Camera.get_params()`` layout, unbatched, float32.

    ``cam2world_cv`` is the 4x4 camera pose with OpenCV axes (x right, y down,
    z forward).  ``extrinsic_cv`` is its 3x4 world->camera inverse and
    ``cam2world_gl`` the same pose with OpenGL axes (x right, y up, z back).
    """
    intrinsic_cv = np.asarray(intrinsic_cv, dtype=np.float64)
    cam2world_cv = np.asarray(cam2world_cv, dtype=np.float64)
    if intrinsic_cv.shape != (3, 3):
        raise ValueError(f"intrinsic_cv must be 3x3, got shape {intrinsic_cv.shape}")
    if cam2world_cv.shape != (4, 4):
        raise ValueError(f"cam2world_cv must be 4x4, got shape {cam2world_cv.shape}")
    rotation, translation = cam2world_cv[:3, :3], cam2world_cv[:3, 3]
    extrinsic = np.concatenate([rotation.T, -rotation.T @ translation[:, None]], axis=1)
    return {
        "intrinsic_cv": intrinsic_cv.astype(np.float32),
        "extrinsic_cv": extrinsic.astype(np.float32),
        "cam2world_gl": (cam2world_cv @ _CV_TO_GL).astype(np.float32),
    }
