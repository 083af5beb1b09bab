"""Per-frame cost of turning a ROS Image into the sim camera's 128x128 observation.

Compares, in one run and on the same messages:
  memcpy        copying the message bytes once (the floor any decoder pays at least)
  ours          maniskill_real: zero-copy decode + undistort/crop/scale to the sim K
  cv_bridge     bytes copied into a new array, cv2.cvtColor / unit conversion, cv2.resize
  sim2real_env  ManiSkill Sim2RealEnv: centre crop to a square, then cv2.resize
Only "ours" reproduces the sim camera's intrinsics; the others are cost references.
Prints a table; never asserts on time.  Run: python benchmarks/camera_pipeline.py
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import cv2
import numpy as np
from sensor_msgs.msg import Image

from maniskill_real.core.camera import CameraAligner, Intrinsics
from maniskill_real.ros.image import depth_from_image, numpy_to_image, rgb_from_image

SIM = Intrinsics.from_fov(128, 128, math.pi / 2)  # PickCube-v1's base_camera
REAL_FOV_Y = math.radians(100)  # wide enough to contain the sim view at 4:3 and 16:9
DISTORTION = [-0.05, 0.01, 0.0005, -0.0005, 0.0]  # a typical plumb_bob colour lens
SIZES = [(640, 480), (1280, 720)]
REPEATS = 5


def best_ms(run: Callable[[], object], frames: int) -> float:
    """Best-of-REPEATS mean milliseconds per call, after a warm-up."""
    for _ in range(5):
        run()
    best = math.inf
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(frames):
            run()
        best = min(best, (time.perf_counter() - start) / frames)
    return best * 1e3


def sim2real_env_crop(image: np.ndarray) -> np.ndarray:
    """ManiSkill 3.0.1 Sim2RealEnv.preprocess_sensor_data: square centre crop + cv2.resize."""
    height, width = image.shape[:2]
    cutoff = (max(height, width) - min(height, width)) // 2
    if height > width:
        image = image[cutoff:-cutoff]
    elif width > height:
        image = image[:, cutoff:-cutoff]
    return cv2.resize(image, (SIM.width, SIM.height))


def cases(msg: Image, aligner: CameraAligner) -> dict[str, Callable[[], object]]:
    """The four ways to process ``msg``, each a no-argument callable."""
    wire = np.frombuffer(msg.data, dtype=np.uint8)
    floor = np.empty_like(wire)
    shape = (msg.height, msg.width, 3) if msg.encoding == "bgr8" else (msg.height, msg.width)
    dtype = np.uint8 if msg.encoding == "bgr8" else np.uint16

    def copied() -> np.ndarray:
        return np.frombuffer(bytes(msg.data), dtype=dtype).reshape(shape)

    if msg.encoding == "bgr8":
        return {
            "memcpy": lambda: np.copyto(floor, wire),
            "ours": lambda: aligner.align_rgb(rgb_from_image(msg)),
            "cv_bridge": lambda: cv2.resize(
                cv2.cvtColor(copied(), cv2.COLOR_BGR2RGB), (SIM.width, SIM.height)
            ),
            "sim2real_env": lambda: sim2real_env_crop(rgb_from_image(msg)),
        }
    return {
        "memcpy": lambda: np.copyto(floor, wire),
        "ours": lambda: aligner.align_depth(depth_from_image(msg)),
        "cv_bridge": lambda: cv2.resize(
            copied().astype(np.float32) * np.float32(0.001),
            (SIM.width, SIM.height),
            interpolation=cv2.INTER_NEAREST,
        ),
        "sim2real_env": lambda: sim2real_env_crop(depth_from_image(msg)),
    }


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"target {SIM.width}x{SIM.height}, cv2 threads {cv2.getNumThreads()}, ms per frame")
    header = f"{'input':<18}" + "".join(
        f"{name:>22}" for name in ("memcpy", "ours", "cv_bridge", "sim2real_env")
    )
    print(header)
    for width, height in SIZES:
        real = Intrinsics(
            width,
            height,
            Intrinsics.from_fov(width, height, REAL_FOV_Y).K,
            DISTORTION,
            "plumb_bob",
        )
        aligner = CameraAligner(real, SIM, name=f"{width}x{height}")
        frames = max(20, int(2e7 / (width * height)))
        messages = [
            numpy_to_image(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), "bgr8"),
            numpy_to_image(rng.integers(300, 4000, (height, width), dtype=np.uint16), "16UC1"),
        ]
        for msg in messages:
            timings = {name: best_ms(run, frames) for name, run in cases(msg, aligner).items()}
            row = f"{f'{width}x{height} {msg.encoding}':<18}"
            for ms in timings.values():
                row += f"{ms:>10.3f} ms ({ms / timings['memcpy']:5.1f}x)"
            print(row)


if __name__ == "__main__":
    main()
