"""Header stamps <-> integer nanoseconds (no rclpy: message types only)."""

from __future__ import annotations

from builtin_interfaces.msg import Time


def stamp_to_ns(stamp: Time) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def time_msg(ns: int) -> Time:
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)
