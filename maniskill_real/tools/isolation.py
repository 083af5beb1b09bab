"""A ROS graph of its own for a process that starts its own robot (the demo, tests, benchmarks):
this host only, a DDS domain nobody else on this host uses, and the shipped transport.

Why the domain must be empty, not just likely empty: on a shared domain the robot this process
starts and another one (a real arm's bringup, a second test run) subscribe to the same command
topics, so one command moves both; and every participant on the domain counts against Fast DDS's
localhost discovery, which probes only the first ``maxInitialPeersRange`` participant ports (32
for LOCALHOST: ros2/rmw_fastrtps jazzy, rmw_fastrtps_shared_cpp/src/participant.cpp,
``create_participant``). Past that, two new participants never find each other.
"""

from __future__ import annotations

import os
import socket

from maniskill_real.config import fastdds_profile

# RTPS 2.2, 9.6.1.1: a participant of domain d with participant id p listens for discovery on
# PB + DG*d (multicast, shared) and PB + DG*d + D1 + PG*p (unicast).
PORT_BASE = 7400
DOMAIN_GAIN = 250
UNICAST_OFFSET = 10
PARTICIPANT_GAIN = 2
PROBED_PARTICIPANTS = 4
"""Participant ids probed: ids are handed out lowest-free first, so a domain in use has one of
the first few bound."""

DOMAINS = range(10, 100)
"""Domains this picks from: 0-9 are left to users, and above 101 the ports of later
participants run into Linux's ephemeral port range."""


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("", port))
        except OSError:
            return False
    return True


def domain_in_use(domain: int) -> bool:
    """Whether any DDS participant on this host listens on ``domain`` (its multicast discovery
    port, or the unicast one of one of the first participants, is bound)."""
    base = PORT_BASE + DOMAIN_GAIN * domain
    ports = [base] + [
        base + UNICAST_OFFSET + PARTICIPANT_GAIN * p for p in range(PROBED_PARTICIPANTS)
    ]
    return not all(_port_free(port) for port in ports)


def free_domain(preferred: int) -> int:
    """``preferred`` if nobody on this host uses it, else the next free domain of ``DOMAINS``."""
    if not domain_in_use(preferred):
        return preferred
    start = preferred % len(DOMAINS)
    for k in range(len(DOMAINS)):
        domain = DOMAINS[(start + k) % len(DOMAINS)]
        if not domain_in_use(domain):
            return domain
    raise RuntimeError(f"every ROS domain in {DOMAINS} has participants on this host")


def isolate_ros_graph() -> int:
    """Set this process's environment (inherited by the robots it starts) to discover this host
    only, on a free domain, with the shipped Fast DDS profile unless one was chosen. A
    ``ROS_DOMAIN_ID`` already set is kept if it is free. Returns the domain."""
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ.setdefault("FASTRTPS_DEFAULT_PROFILES_FILE", str(fastdds_profile()))
    # (set but empty: unset, as rcl reads it)
    preferred = int(os.environ.get("ROS_DOMAIN_ID") or DOMAINS[os.getpid() % len(DOMAINS)])
    domain = free_domain(preferred)
    os.environ["ROS_DOMAIN_ID"] = str(domain)
    return domain
