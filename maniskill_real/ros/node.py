"""rclpy plumbing shared by RealEnv's agent and the mock/sim robots.

One ``RosNode`` owns its own rclpy context, one node and one single-threaded executor spinning
on a background thread (MultiThreadedExecutor is slow on small machines). Subscriptions keep
only the newest message (depth 1: a deeper queue makes "latest" stale) with its header stamp, so
the caller can report ages and refuse stale inputs.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import rclpy
from rcl_interfaces.msg import SetParametersResult
from rclpy.context import Context
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
)
from rclpy.signals import SignalHandlerOptions
from rosgraph_msgs.msg import Clock

from maniskill_real.config import fastdds_profile
from maniskill_real.errors import TopicTimeoutError
from maniskill_real.ros.stamps import stamp_to_ns

# Best effort matches both reliable publishers (joint_state_broadcaster) and sensor-data
# publishers (camera drivers); depth 1 keeps "latest" fresh.
LATEST_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=1,
    reliability=ReliabilityPolicy.BEST_EFFORT,
    durability=DurabilityPolicy.VOLATILE,
)
# What ros2_control controllers subscribe with (SystemDefaultsQoS is reliable).
COMMAND_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=1,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE,
)
# What the robots publish states and images with: reliable, like joint_state_broadcaster.
STATE_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=1,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE,
)

MsgT = TypeVar("MsgT")

FASTDDS_PROFILES_ENV = "FASTRTPS_DEFAULT_PROFILES_FILE"
DISCOVERY_ENV = "ROS_AUTOMATIC_DISCOVERY_RANGE"


def use_shipped_fastdds_profile() -> None:
    """Give this process the shipped shared-memory Fast DDS profile (the transport the tests and
    benchmarks measured), unless the user chose a profile or another RMW.

    Fast DDS 2.x (Jazzy's) reads the variable once, when the process creates its first
    participant (eProsima/Fast-DDS src/cpp/rtps/xmlparser/XMLProfileManager.cpp,
    loadDefaultXMLFile), so this runs before rclpy.init; child processes inherit it.
    """
    if FASTDDS_PROFILES_ENV in os.environ:
        return
    if not (os.environ.get("RMW_IMPLEMENTATION") or "rmw_fastrtps_cpp").startswith("rmw_fastrtps"):
        return
    os.environ[FASTDDS_PROFILES_ENV] = str(fastdds_profile())
    rclpy.logging.get_logger("maniskill_real").info(
        f"{FASTDDS_PROFILES_ENV} was unset: using {os.environ[FASTDDS_PROFILES_ENV]}"
    )


def use_local_discovery() -> None:
    """Discover only this host's nodes unless the user chose otherwise: a policy process that
    finds robots on the whole subnet can command the wrong one (README: across hosts)."""
    if DISCOVERY_ENV not in os.environ:
        os.environ[DISCOVERY_ENV] = "LOCALHOST"
        rclpy.logging.get_logger("maniskill_real").info(
            f"{DISCOVERY_ENV} was unset: discovering this host only (LOCALHOST)"
        )


def _refuse_changes(params: list[Any]) -> SetParametersResult:
    names = ", ".join(p.name for p in params)
    return SetParametersResult(
        successful=False, reason=f"{names}: this node's parameters are read-only (safety)"
    )


def poll_until(condition: Callable[[], bool], timeout: float, period: float = 0.01) -> bool:
    """Whether ``condition`` became true within ``timeout``, asked every ``period`` s (for
    graph and reader state, which no callback announces)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(period)
    return True


def _unused(msg: Any) -> None:
    """The callback of a subscription no executor runs (rclpy requires one)."""


class Latest(Generic[MsgT]):
    """The newest message on one topic, with its header stamp (arrival time if it has none),
    taken from the DDS reader when asked, not by the executor as it arrives.

    An executor callback per message costs about 0.15 ms of Python (measured here: a 500 Hz
    JointState stream kept the executor thread 7% busy) under the GIL the stepping thread
    needs, and deserializes every camera frame whether a step uses it or not. The subscription
    keeps one sample (depth 1), so taking it on demand reads the newest message there is, and
    only the messages a step reads are deserialized (rclpy/executors.py ``_take_subscription``
    takes them the same way).
    """

    POLL_S = 0.002
    """How often ``wait`` looks for a first message."""

    def __init__(self, subscription: Any, clock_ns: Callable[[], int]) -> None:
        self.topic: str = subscription.topic_name
        self._subscription = subscription
        self._clock_ns = clock_ns
        self._lock = threading.RLock()  # a signal's hold (env/guard.py) may read inside get()
        self._msg: MsgT | None = None
        self._stamp_ns = 0

    def _take(self) -> None:
        """Replace the held message by a newer one if the reader has one (under the lock)."""
        sub = self._subscription
        with sub.handle:
            taken = sub.handle.take_message(sub.msg_type, sub.raw)
        if taken is None:
            return
        msg, info = taken
        header = getattr(msg, "header", None)
        if header is not None:
            self._stamp_ns = stamp_to_ns(header.stamp)
        else:  # its arrival (system time, rmw's received_timestamp) on the ROS clock
            self._stamp_ns = self._clock_ns() - (time.time_ns() - info["received_timestamp"])
        self._msg = msg

    def get(self) -> tuple[MsgT | None, int, float]:
        """(the newest message, its header stamp in ns of the ROS clock, its age in s), read
        under one lock so the age is the returned message's; (None, 0, inf) before the first
        one."""
        with self._lock:
            self._take()
            if self._msg is None:
                return None, 0, float("inf")
            return self._msg, self._stamp_ns, (self._clock_ns() - self._stamp_ns) * 1e-9

    def message(self) -> MsgT | None:
        """The newest message (None before the first), without its stamp or age."""
        with self._lock:
            self._take()
            return self._msg

    def wait(self, timeout: float) -> None:
        """Block until a first message arrived, or raise TopicTimeoutError."""
        if not poll_until(lambda: self.get()[0] is not None, timeout, self.POLL_S):
            raise TopicTimeoutError(self.topic, timeout)


class RosNode:
    """A node with its own context, spun by one background thread until ``close()``."""

    def __init__(
        self,
        name: str,
        namespace: str = "",
        parameter_overrides: list[Any] | None = None,
        cli_args: list[str] | None = None,
        read_only: bool = False,
    ) -> None:
        """``read_only``: refuse every parameter change from outside, and leave SIGINT/SIGTERM
        to the caller (RealEnv's node: its parameters change safety behaviour, and its signal
        handlers must hold the robot before rclpy shuts the context down)."""
        self.context = Context()
        use_shipped_fastdds_profile()
        use_local_discovery()
        self.cli_args = list(sys.argv if cli_args is None else cli_args)
        """The command line rclpy took ROS arguments from."""
        rclpy.init(
            args=self.cli_args,
            context=self.context,
            signal_handler_options=SignalHandlerOptions.NO if read_only else None,
        )
        try:
            self.node = Node(
                name,
                namespace=namespace,
                context=self.context,
                parameter_overrides=parameter_overrides or [],
                automatically_declare_parameters_from_overrides=False,
            )
        except BaseException:  # e.g. an invalid name: don't leave the context initialised
            rclpy.shutdown(context=self.context)
            raise
        if read_only:
            self.node.add_on_set_parameters_callback(_refuse_changes)
        self._executor = SingleThreadedExecutor(context=self.context)
        self._executor.add_node(self.node)
        self._extra_nodes: list[Node] = []
        self._polled: Node | None = None
        self._sim_clock: Latest[Clock] | None = None
        if self.node.get_parameter("use_sim_time").value:
            # a Clock has no header: its "stamp" is its arrival on the system clock, unused
            self._sim_clock = self.latest(Clock, "/clock", LATEST_QOS, clock_ns=time.time_ns)
        self._thread = threading.Thread(target=self._spin, name=f"{name}-executor", daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        try:
            self._executor.spin()
        except ExternalShutdownException:
            pass

    def add_node(self, node: Node) -> None:
        """Spin another node of this context (e.g. the emulated controller_manager) on the same
        executor thread; ``close()`` destroys it."""
        self._extra_nodes.append(node)
        self._executor.add_node(node)

    def wait_for(self, future: Any, timeout: float) -> bool:
        """Block a thread other than the executor's until an rclpy future is done."""
        done = threading.Event()
        future.add_done_callback(lambda _: done.set())
        return done.wait(timeout)

    def in_executor(self, fn: Callable[[], Any], timeout: float) -> Any:
        """Run ``fn`` on the executor thread and return its result. rclpy's action client
        registers a request's future only after sending it, unlocked: called from another
        thread, a fast response can arrive first and be dropped ("Ignoring unexpected goal
        response", rclpy/action/client.py)."""
        task = self._executor.create_task(fn)
        if not self.wait_for(task, timeout):
            raise TimeoutError(f"the executor did not run {fn} within {timeout:.1f} s")
        return task.result()

    def call_soon(self, fn: Callable[[], Any]) -> None:
        """Have the executor thread run ``fn`` without waiting for it: from a thread that must
        not block (one holding a lock an executor callback may wait for)."""
        self._executor.create_task(fn)

    def now_ns(self) -> int:
        """ROS time. With use_sim_time: the newest /clock message, taken from the reader when
        asked, as inputs are (``Latest``). The node's clock follows /clock too, but through
        rclpy's TimeSource callback on the executor thread (rclpy/time_source.py
        ``clock_callback``), which lagged: in 300 steps on sim_robot's sim time, two joint
        readings were stamped ahead of it, one by 50 ms, the limit past which a reading is
        refused as stamped in the future."""
        if self._sim_clock is not None:
            msg = self._sim_clock.message()
            if msg is not None:
                return stamp_to_ns(msg.clock)
        return self.node.get_clock().now().nanoseconds

    def wait_for_clock(self, timeout: float) -> None:
        """Block until the ROS clock runs: with use_sim_time it reads 0 until the first /clock
        message (rclpy/time_source.py), and ages computed against 0 would look fresh."""
        if not poll_until(lambda: self.now_ns() != 0, timeout):
            raise TopicTimeoutError("/clock", timeout)

    def latest(
        self,
        msg_type: type[MsgT],
        topic: str,
        qos: QoSProfile = LATEST_QOS,
        clock_ns: Callable[[], int] | None = None,
    ) -> Latest[MsgT]:
        """The newest message on ``topic``, read when asked (``Latest``): its subscription
        belongs to a second node of this context that no executor spins. Ages are on
        ``clock_ns`` (default: :meth:`now_ns`)."""
        if self._polled is None:
            self._polled = Node(
                f"{self.node.get_name()}_inputs",
                namespace=self.node.get_namespace(),
                context=self.context,
                start_parameter_services=False,
            )
        subscription = self._polled.create_subscription(msg_type, topic, _unused, qos)
        return Latest(subscription, clock_ns or self.now_ns)

    def publisher(self, msg_type: type, topic: str, qos: QoSProfile = COMMAND_QOS) -> Any:
        return self.node.create_publisher(msg_type, topic, qos)

    def subscribe(
        self,
        msg_type: type,
        topic: str,
        callback: Callable[[Any], None],
        qos: QoSProfile = COMMAND_QOS,
    ) -> Any:
        return self.node.create_subscription(msg_type, topic, callback, qos)

    def other_publishers(self, topic: str) -> list[str]:
        """Fully qualified names of the other publishers on ``topic`` (this node's one
        publisher excluded; a namesake in another process is not)."""
        names = [
            f"{info.node_namespace.rstrip('/')}/{info.node_name}"
            for info in self.node.get_publishers_info_by_topic(topic)
        ]
        # Our own publisher is one of them; another process may carry the same node name.
        me = self.node.get_fully_qualified_name()
        if me in names:
            names.remove(me)
        return names

    def wait_for_subscribers(self, publisher: Any, timeout: float) -> bool:
        """Let discovery finish, so the first command is not sent into the void."""
        return poll_until(lambda: publisher.get_subscription_count() > 0, timeout)

    def call(self, srv_type: type, service: str, request: Any, timeout: float) -> Any:
        """Call a service from any thread but the executor's; raise on timeout."""
        client = self.node.create_client(srv_type, service)
        try:
            if not client.wait_for_service(timeout_sec=timeout):
                raise TopicTimeoutError(service, timeout)
            future = client.call_async(request)
            if not self.wait_for(future, timeout):
                raise TopicTimeoutError(service, timeout)
            return future.result()
        finally:
            self.node.destroy_client(client)

    def call_until_answered(
        self, srv_type: type, service: str, request: Any, timeout: float
    ) -> Any:
        """``call`` again until one answers, for requests that change nothing: right after
        discovery the server can drop a response, since rmw_fastrtps waits only the writer's
        max_blocking_time (100 ms) for the client's response reader to match
        (rmw_fastrtps_shared_cpp/src/rmw_response.cpp). Raise TopicTimeoutError after
        ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TopicTimeoutError(service, timeout)
            try:
                return self.call(srv_type, service, request, min(1.0, left))
            except TopicTimeoutError:
                continue

    def trigger(self, service: str, timeout: float) -> None:
        """Call a std_srvs/Trigger service; raise RuntimeError with its message on failure."""
        from std_srvs.srv import Trigger

        response = self.call(Trigger, service, Trigger.Request(), timeout)
        if not response.success:
            raise RuntimeError(f"{service} failed: {response.message}")

    def set_parameter(self, node: str, name: str, value: object, timeout: float) -> None:
        """Set another node's parameter through its set_parameters service."""
        from rcl_interfaces.srv import SetParameters
        from rclpy.parameter import Parameter

        request = SetParameters.Request(
            parameters=[Parameter(name, value=value).to_parameter_msg()]
        )
        response = self.call(SetParameters, f"{node}/set_parameters", request, timeout)
        if not response.results[0].successful:
            raise RuntimeError(
                f"{node}: setting {name}={value} failed: {response.results[0].reason}"
            )

    def close(self) -> None:
        if not self.context.ok():
            return
        self._executor.shutdown()
        for node in self._extra_nodes:
            node.destroy_node()
        if self._polled is not None:
            self._polled.destroy_node()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)
        self._thread.join(timeout=2.0)
