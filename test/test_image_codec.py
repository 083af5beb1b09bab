"""sensor_msgs Image/CompressedImage/CameraInfo <-> numpy codec."""

import math
from array import array

import cv2
import numpy as np
import pytest
from builtin_interfaces.msg import Time
from sensor_msgs.msg import CompressedImage, Image

from maniskill_real.core.camera import Intrinsics
from maniskill_real.ros.image import (
    UnsupportedEncodingError,
    camera_info_from_intrinsics,
    compressed_to_numpy,
    depth_from_image,
    image_to_numpy,
    intrinsics_from_camera_info,
    numpy_to_image,
    rgb_from_image,
)

RNG = np.random.default_rng(0)
SHAPES = {
    "rgb8": ((5, 7, 3), np.uint8),
    "bgr8": ((5, 7, 3), np.uint8),
    "rgba8": ((5, 7, 4), np.uint8),
    "bgra8": ((5, 7, 4), np.uint8),
    "mono8": ((5, 7), np.uint8),
    "mono16": ((5, 7), np.uint16),
    "16UC1": ((5, 7), np.uint16),
    "32FC1": ((5, 7), np.float32),
}


def random_pixels(encoding: str) -> np.ndarray:
    shape, dtype = SHAPES[encoding]
    if dtype == np.float32:
        return RNG.uniform(0.1, 5.0, shape).astype(np.float32)
    return RNG.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)


def raw_image(encoding: str, height: int, width: int, step: int, data: bytes, big=0) -> Image:
    msg = Image(height=height, width=width, encoding=encoding, step=step, is_bigendian=big)
    msg.data = array("B", data)
    return msg


@pytest.mark.parametrize("encoding", SHAPES)
def test_every_encoding_round_trips_exactly(encoding: str) -> None:
    pixels = random_pixels(encoding)
    stamp = Time(sec=3, nanosec=4)
    msg = numpy_to_image(pixels, encoding, stamp=stamp, frame_id="cam")
    decoded = image_to_numpy(msg)
    assert decoded.dtype == pixels.dtype and decoded.shape == pixels.shape
    np.testing.assert_array_equal(decoded, pixels)
    assert (msg.header.stamp, msg.header.frame_id) == (stamp, "cam")
    assert msg.step == pixels.shape[1] * pixels[0, 0].nbytes


def test_rgb8_decode_is_zero_copy() -> None:
    msg = numpy_to_image(random_pixels("rgb8"), "rgb8")
    rgb = rgb_from_image(msg)
    assert np.shares_memory(rgb, np.frombuffer(msg.data, dtype=np.uint8))


@pytest.mark.parametrize(
    ("encoding", "to_wire"),
    [
        ("bgr8", lambda rgb: rgb[..., ::-1]),
        ("rgba8", lambda rgb: np.dstack([rgb, np.full(rgb.shape[:2], 9, np.uint8)])),
        ("bgra8", lambda rgb: np.dstack([rgb[..., ::-1], np.full(rgb.shape[:2], 9, np.uint8)])),
    ],
)
def test_colour_orders_convert_to_rgb(encoding, to_wire) -> None:
    rgb = random_pixels("rgb8")
    np.testing.assert_array_equal(rgb_from_image(numpy_to_image(to_wire(rgb), encoding)), rgb)


def test_mono8_replicates_to_rgb() -> None:
    mono = random_pixels("mono8")
    np.testing.assert_array_equal(
        rgb_from_image(numpy_to_image(mono, "mono8")), np.dstack([mono] * 3)
    )


def test_depth_encodings_in_metres_with_invalid_zero() -> None:
    mm = np.array([[0, 1, 1500], [65535, 250, 0]], np.uint16)
    for encoding in ("16UC1", "mono16"):
        depth = depth_from_image(numpy_to_image(mm, encoding))
        assert depth.dtype == np.float32
        np.testing.assert_allclose(depth, mm / 1000.0, rtol=1e-6)
    metres = np.array([[np.nan, np.inf, -np.inf], [0.0, 1.25, -0.5]], np.float32)
    depth = depth_from_image(numpy_to_image(metres, "32FC1"))
    np.testing.assert_array_equal(depth, [[0, 0, 0], [0, 1.25, 0]])


def test_colour_and_depth_getters_reject_the_other_kind() -> None:
    with pytest.raises(UnsupportedEncodingError, match="'16UC1' is not a colour image"):
        rgb_from_image(numpy_to_image(random_pixels("16UC1"), "16UC1"))
    with pytest.raises(UnsupportedEncodingError, match="'rgb8' is not a depth image"):
        depth_from_image(numpy_to_image(random_pixels("rgb8"), "rgb8"))


def test_row_padding_gives_a_strided_view() -> None:
    rgb = random_pixels("rgb8")
    height, width, _ = rgb.shape
    step = width * 3 + 5
    padded = np.zeros((height, step), np.uint8)
    padded[:, : width * 3] = rgb.reshape(height, -1)
    msg = raw_image("rgb8", height, width, step, padded.tobytes())
    decoded = image_to_numpy(msg)
    np.testing.assert_array_equal(decoded, rgb)
    assert np.shares_memory(decoded, np.frombuffer(msg.data, dtype=np.uint8))
    np.testing.assert_array_equal(
        rgb_from_image(raw_image("bgr8", height, width, step, padded.tobytes())), rgb[..., ::-1]
    )


def test_big_endian_16_bit_is_byteswapped() -> None:
    mm = np.array([[1, 258], [4660, 65535]], np.uint16)
    msg = raw_image("16UC1", 2, 2, 4, mm.astype(">u2").tobytes(), big=1)
    decoded = image_to_numpy(msg)
    assert decoded.dtype == np.uint16 and decoded.dtype.isnative
    np.testing.assert_array_equal(decoded, mm)
    np.testing.assert_allclose(depth_from_image(msg), mm / 1000.0, rtol=1e-6)


def test_unknown_encoding_names_it_and_the_supported_ones() -> None:
    msg = raw_image("yuv422", 1, 1, 2, b"\0\0")
    with pytest.raises(UnsupportedEncodingError, match=r"'yuv422'.*rgb8, bgr8.*32FC1"):
        image_to_numpy(msg)
    with pytest.raises(UnsupportedEncodingError, match="'bayer_rggb8'"):
        numpy_to_image(np.zeros((2, 2), np.uint8), "bayer_rggb8")


def test_wrong_data_length_names_the_sizes() -> None:
    msg = raw_image("rgb8", 2, 2, 6, b"\0" * 10)
    with pytest.raises(ValueError, match=r"10 bytes, expected height\*step = 2\*6 = 12"):
        image_to_numpy(msg)
    with pytest.raises(ValueError, match="step 5 is smaller than one row"):
        image_to_numpy(raw_image("rgb8", 2, 2, 5, b"\0" * 10))


@pytest.mark.parametrize(
    ("array_", "encoding", "message"),
    [
        (np.zeros((2, 2, 3), np.uint16), "rgb8", "needs dtype uint8, got uint16"),
        (np.zeros((2, 2), np.uint8), "rgb8", r"needs shape \(H, W, 3\), got \(2, 2\)"),
        (np.zeros((2, 2, 3), np.float32), "32FC1", r"needs shape \(H, W\) or \(H, W, 1\)"),
    ],
)
def test_numpy_to_image_validates_dtype_and_shape(array_, encoding, message) -> None:
    with pytest.raises(ValueError, match=message):
        numpy_to_image(array_, encoding)


@pytest.mark.parametrize(
    ("extension", "fmt"),
    [
        (".jpg", "jpeg"),
        (".png", "png"),
        (".jpg", "rgb8; jpeg compressed bgr8"),
        (".png", "bgr8; png compressed bgr8"),
    ],
)
def test_compressed_decodes_to_rgb(extension: str, fmt: str) -> None:
    rgb = np.zeros((16, 24, 3), np.uint8)
    rgb[:, :8, 0] = 255  # red | green | blue bands survive jpeg
    rgb[:, 8:16, 1] = 255
    rgb[:, 16:, 2] = 255
    ok, encoded = cv2.imencode(extension, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    msg = CompressedImage(format=fmt)
    msg.data = array("B", encoded.tobytes())
    decoded = compressed_to_numpy(msg)
    assert decoded.shape == rgb.shape and decoded.dtype == np.uint8
    centres = [4, 12, 20]  # away from the band edges that jpeg's chroma subsampling blurs
    assert np.abs(decoded[:, centres].astype(int) - rgb[:, centres]).max() <= 8


def test_compressed_rgb_stored_order_is_not_swapped() -> None:
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 0] = 200
    ok, encoded = cv2.imencode(".png", rgb)  # bytes written in RGB order
    msg = CompressedImage(format="rgb8; png compressed rgb8")
    msg.data = array("B", encoded.tobytes())
    np.testing.assert_array_equal(compressed_to_numpy(msg), rgb)


def test_compressed_depth_is_rejected() -> None:
    msg = CompressedImage(format="16UC1; compressedDepth png")
    with pytest.raises(UnsupportedEncodingError, match="compressedDepth"):
        compressed_to_numpy(msg)


@pytest.mark.parametrize(
    ("model", "coefficients"),
    [
        ("", []),
        ("plumb_bob", [-0.2, 0.05, 0.001, -0.002, 0.01]),
        ("rational_polynomial", [0.4, -0.1, 0.001, 0.0, 0.02, 0.7, -0.05, 0.03]),
    ],
)
def test_camera_info_round_trip(model: str, coefficients: list[float]) -> None:
    K = np.array([[600.5, 0.0, 321.25], [0.0, 601.0, 239.75], [0.0, 0.0, 1.0]])
    intr = Intrinsics(640, 480, K, np.array(coefficients), model)
    msg = camera_info_from_intrinsics(intr, stamp=Time(sec=1), frame_id="camera_optical")
    assert msg.header.frame_id == "camera_optical" and msg.header.stamp.sec == 1
    np.testing.assert_array_equal(msg.p.reshape(3, 4)[:, :3], K)
    np.testing.assert_array_equal(msg.r.reshape(3, 3), np.eye(3))
    back = intrinsics_from_camera_info(msg)
    assert (back.width, back.height, back.distortion_model) == (640, 480, model)
    np.testing.assert_array_equal(back.K, K)
    np.testing.assert_array_equal(back.D, coefficients)


def test_camera_info_with_binning_is_rejected() -> None:
    msg = camera_info_from_intrinsics(Intrinsics.from_fov(640, 480, math.radians(60)))
    msg.binning_x = 2
    with pytest.raises(ValueError, match="binning"):
        intrinsics_from_camera_info(msg)
