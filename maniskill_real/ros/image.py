"""sensor_msgs Image / CompressedImage / CameraInfo <-> numpy, without rclpy.

Decoding is a zero-copy view of ``msg.data`` whenever the layout allows, so
the camera aligner reads an rgb8 frame straight from the message buffer.
cv2 is used only for colour-order conversion and jpeg/png decoding.
"""

from __future__ import annotations

from array import array as py_array

import cv2
import numpy as np
from builtin_interfaces.msg import Time
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from maniskill_real.core.camera import Intrinsics
from maniskill_real.errors import UnsupportedEncodingError

# encoding -> (element dtype, channels)
_ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    "rgb8": (np.dtype(np.uint8), 3),
    "bgr8": (np.dtype(np.uint8), 3),
    "rgba8": (np.dtype(np.uint8), 4),
    "bgra8": (np.dtype(np.uint8), 4),
    "mono8": (np.dtype(np.uint8), 1),
    "mono16": (np.dtype(np.uint16), 1),
    "16UC1": (np.dtype(np.uint16), 1),
    "32FC1": (np.dtype(np.float32), 1),
}
_TO_RGB = {
    "bgr8": cv2.COLOR_BGR2RGB,
    "rgba8": cv2.COLOR_RGBA2RGB,
    "bgra8": cv2.COLOR_BGRA2RGB,
    "mono8": cv2.COLOR_GRAY2RGB,
}
# Depth encodings -> metres per stored unit (ROS: integer depth is millimetres).
_DEPTH_SCALE = {"16UC1": 0.001, "mono16": 0.001, "32FC1": 1.0}
# Colour orders that cv2.imdecode returns unchanged, i.e. already RGB.
_RGB_ORDERED = ("rgb8", "rgba8")


def _layout(encoding: str) -> tuple[np.dtype, int]:
    try:
        return _ENCODINGS[encoding]
    except KeyError:
        raise UnsupportedEncodingError(
            f"unsupported image encoding {encoding!r}; supported: {', '.join(_ENCODINGS)}"
        ) from None


def image_to_numpy(msg: Image) -> np.ndarray:
    """View of the pixels: (H, W, C), or (H, W) for one channel.

    Shares memory with ``msg.data`` except for big-endian 16/32-bit data, which
    is byte-swapped into a native copy.  Row padding becomes a strided view.
    """
    dtype, channels = _layout(msg.encoding)
    height, width, step = msg.height, msg.width, msg.step
    row_bytes = width * channels * dtype.itemsize
    if step < row_bytes:
        raise ValueError(
            f"{msg.encoding} image step {step} is smaller than one row of "
            f"{width} pixels ({row_bytes} bytes)"
        )
    if len(msg.data) != height * step:
        raise ValueError(
            f"{msg.encoding} image data has {len(msg.data)} bytes, expected "
            f"height*step = {height}*{step} = {height * step}"
        )
    wire = dtype.newbyteorder(">" if msg.is_bigendian else "<")
    shape: tuple[int, ...] = (height, width, channels)
    strides: tuple[int, ...] = (step, channels * dtype.itemsize, dtype.itemsize)
    if channels == 1:
        shape, strides = shape[:2], strides[:2]
    view = np.ndarray(shape, dtype=wire, buffer=msg.data, strides=strides)
    return view if wire.isnative else view.astype(dtype)


def rgb_from_image(msg: Image) -> np.ndarray:
    """(H, W, 3) uint8 RGB; a view of ``msg.data`` for rgb8, a converted copy otherwise."""
    if msg.encoding == "rgb8":
        return image_to_numpy(msg)
    if msg.encoding not in _TO_RGB:
        raise UnsupportedEncodingError(
            f"image encoding {msg.encoding!r} is not a colour image; rgb_from_image "
            f"supports rgb8, {', '.join(_TO_RGB)} (use depth_from_image for depth)"
        )
    return cv2.cvtColor(image_to_numpy(msg), _TO_RGB[msg.encoding])


def depth_from_image(msg: Image) -> np.ndarray:
    """(H, W) float32 metres; invalid (0, NaN, inf, negative) -> 0.0 as in ROS depth images."""
    if msg.encoding not in _DEPTH_SCALE:
        raise UnsupportedEncodingError(
            f"image encoding {msg.encoding!r} is not a depth image; depth_from_image "
            f"supports {', '.join(_DEPTH_SCALE)}"
        )
    raw = image_to_numpy(msg)
    if raw.dtype == np.uint16:
        return np.multiply(raw, np.float32(_DEPTH_SCALE[msg.encoding]), dtype=np.float32)
    depth = raw.astype(np.float32)
    with np.errstate(invalid="ignore"):
        depth[~((depth > 0) & (depth < np.inf))] = 0.0
    return depth


def numpy_to_image(
    array: np.ndarray, encoding: str, stamp: Time | None = None, frame_id: str = ""
) -> Image:
    """Image message (little-endian, unpadded rows) holding a copy of ``array``."""
    dtype, channels = _layout(encoding)
    trailing = [(), (1,)] if channels == 1 else [(channels,)]
    if array.ndim < 2 or array.shape[2:] not in trailing:
        want = "(H, W) or (H, W, 1)" if channels == 1 else f"(H, W, {channels})"
        raise ValueError(f"encoding {encoding!r} needs shape {want}, got {array.shape}")
    if array.dtype.newbyteorder("=") != dtype:
        raise ValueError(f"encoding {encoding!r} needs dtype {dtype}, got {array.dtype}")
    height, width = array.shape[:2]
    data = py_array("B")
    data.frombytes(np.ascontiguousarray(array, dtype=dtype.newbyteorder("<")).view(np.uint8))
    msg = Image(height=height, width=width, encoding=encoding, is_bigendian=0)
    msg.step = width * channels * dtype.itemsize
    msg.data = data
    msg.header.stamp = stamp if stamp is not None else Time()
    msg.header.frame_id = frame_id
    return msg


def compressed_to_numpy(msg: CompressedImage) -> np.ndarray:
    """(H, W, 3) uint8 RGB from a jpeg/png CompressedImage (image_transport "compressed").

    ``format`` is "jpeg", "png" or image_transport's "<encoding>; jpeg compressed
    <stored order>"; the stored order (bgr8 unless it says rgb8) decides the channel swap.
    """
    fmt = msg.format.strip()
    words = fmt.lower().replace(";", " ").split()
    if "compresseddepth" in words or not {"jpeg", "jpg", "png"} & set(words):
        raise UnsupportedEncodingError(
            f"unsupported CompressedImage format {msg.format!r}; supported: "
            "'jpeg', 'png' or '<encoding>; jpeg|png compressed <encoding>'"
        )
    stored = fmt.split("compressed", 1)[1].strip() if "compressed" in fmt else "bgr8"
    decoded = cv2.imdecode(np.frombuffer(msg.data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if decoded is None:
        raise ValueError(
            f"could not decode {len(msg.data)} bytes of CompressedImage format {msg.format!r}"
        )
    if stored in _RGB_ORDERED:
        return decoded
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)


def intrinsics_from_camera_info(msg: CameraInfo) -> Intrinsics:
    """Intrinsics of the images a camera publishes with this CameraInfo."""
    full_roi = msg.roi.width in (0, msg.width) and msg.roi.height in (0, msg.height)
    if msg.binning_x > 1 or msg.binning_y > 1 or not full_roi:
        raise ValueError(
            f"CameraInfo for {msg.header.frame_id!r} uses binning "
            f"({msg.binning_x}, {msg.binning_y}) or ROI {msg.roi}; only full-resolution "
            "images are supported"
        )
    return Intrinsics(
        width=msg.width,
        height=msg.height,
        K=np.asarray(msg.k, dtype=np.float64).reshape(3, 3),
        D=np.asarray(msg.d, dtype=np.float64),
        distortion_model=msg.distortion_model,
    )


def camera_info_from_intrinsics(
    intr: Intrinsics, stamp: Time | None = None, frame_id: str = ""
) -> CameraInfo:
    """CameraInfo of a monocular camera: R identity, P = [K | 0]."""
    msg = CameraInfo(width=intr.width, height=intr.height)
    msg.distortion_model = intr.distortion_model
    msg.k = intr.K.reshape(-1).copy()
    msg.d = py_array("d", intr.D)
    msg.r = np.eye(3).reshape(-1)
    msg.p = np.hstack([intr.K, np.zeros((3, 1))]).reshape(-1)
    msg.header.stamp = stamp if stamp is not None else Time()
    msg.header.frame_id = frame_id
    return msg
