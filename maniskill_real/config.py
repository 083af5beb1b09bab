"""Robot configuration: YAML in ``config/`` -> validated, typed objects.

The file is validated once, at load. Every error names the file and the key, so a typo in a
robot config is found before anything talks to a robot.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from maniskill_real.core.safety import LIMITS, SafetyLimits
from maniskill_real.errors import ConfigError

ControllerKind = Literal[
    "forward_command_controller",
    "joint_trajectory_controller",
    "gripper_action_controller",
    "parallel_gripper_action_controller",
]
GRIPPER_KINDS: tuple[str, ...] = ("gripper_action_controller", "parallel_gripper_action_controller")
CONTROLLER_KINDS: tuple[str, ...] = (
    "forward_command_controller",
    "joint_trajectory_controller",
    *GRIPPER_KINDS,
)
INTERFACES: tuple[str, ...] = ("position", "velocity")
ALIGNMENTS: tuple[str, ...] = ("intrinsics", "center_crop")
LIMIT_ACTIONS: tuple[str, ...] = ("clip", "refuse")
# A ROS 2 name token: alphanumerics and underscores, not starting with a digit
# (rmw/src/validate_full_topic_name.c); tokens are joined by single slashes.
_TOKEN = r"[A-Za-z_][A-Za-z0-9_]*"
_NAME = re.compile(rf"/?{_TOKEN}(/{_TOKEN})*")


def resolve_topic(name: str, namespace: str) -> str:
    """The fully qualified name of topic ``name`` for a node in ``namespace``, as rcl expands it
    (rcl/src/rcl/expand_topic_name.c, without remapping): an absolute name stays as it is, a
    relative one goes under the namespace."""
    if name.startswith("/"):
        return name
    return f"{namespace.rstrip('/')}/{name}"


@dataclass(frozen=True)
class ControllerConfig:
    """One ros2_control controller that drives one part of the sim controller (arm, gripper)."""

    part: str
    name: str
    kind: ControllerKind
    interface: str
    joints: tuple[str, ...]
    """ROS joint names in the order of the controller's ``joints`` parameter."""
    reset_controller: str | None = None
    """A joint_trajectory_controller on the same joints that reset() switches to (STRICT) and
    moves through FollowJointTrajectory; None: reset() streams to this controller's topic."""
    max_effort: float = 0.0
    """gripper_action_controller: N in every GripperCommand goal (0: upstream's "no limit")."""
    mimic: bool = False
    """gripper_action_controller with several ``joints``: the others mimic the first, the one
    joint the action commands (ManiSkill's panda fingers: PDJointPosMimicController)."""

    @property
    def command_topic(self) -> str:
        """The topic (or, for a gripper, the action) RealEnv commands the controller on."""
        suffix = {
            "forward_command_controller": "commands",
            "joint_trajectory_controller": "joint_trajectory",
            "gripper_action_controller": "gripper_cmd",
            "parallel_gripper_action_controller": "gripper_cmd",
        }[self.kind]
        return f"{self.name}/{suffix}"

    def resetter(self) -> ControllerConfig | None:
        """The reset controller as a controller of its own (position interface, same joints)."""
        if self.reset_controller is None:
            return None
        return replace(
            self,
            name=self.reset_controller,
            kind="joint_trajectory_controller",
            interface="position",
            reset_controller=None,
        )


@dataclass(frozen=True)
class TfFrames:
    """Read a camera's pose from TF: the frame the sim world is in, and the camera's optical
    frame (OpenCV axes: x right, y down, z forward, as ROS camera drivers name *_optical_frame)."""

    world: str
    camera: str


@dataclass(frozen=True)
class CameraTopics:
    """Where a sim camera's real counterpart publishes, and how to map it onto the sim camera."""

    name: str
    image_topic: str
    info_topic: str
    depth_topic: str | None = None
    alignment: str = "intrinsics"
    compressed: bool = False
    """Subscribe to ``<image_topic>/compressed`` (image_transport "compressed") for colour."""
    max_age: float = 0.5
    cam2world: tuple[tuple[float, ...], ...] | None = None
    """4x4 camera-to-world pose (OpenCV axes); None (and no tf_frames) means the sim camera's
    own pose."""
    tf_frames: TfFrames | None = None
    """Look the pose up in TF instead of giving cam2world (the two exclude each other)."""

    def resolved(self, resolve: Callable[[str], str]) -> CameraTopics:
        """These topics with every name passed through ``resolve`` (a namespace or a node's
        own resolution)."""
        return replace(
            self,
            image_topic=resolve(self.image_topic),
            info_topic=resolve(self.info_topic),
            depth_topic=None if self.depth_topic is None else resolve(self.depth_topic),
        )


@dataclass(frozen=True)
class ObjectSource:
    """Where the real pose of one sim actor (by its ManiSkill name, e.g. ``cube``) comes from:
    a geometry_msgs/PoseStamped topic or a TF frame, or nowhere (``sim_belief``: the observation
    and evaluate() read the twin's own pose of it, and RealEnv's info says so every step)."""

    actor: str
    topic: str | None = None
    frame: str = "world"
    """The frame_id a pose on ``topic`` must carry: the one the sim's world is in."""
    tf_frame: str | None = None
    world_frame: str | None = None
    """With ``tf_frame``: the TF frame the sim's world is in; the pose is world_T_tf_frame."""
    offset: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    """The sim actor's pose in the measured frame: x, y, z (m), then a quaternion in ROS's
    order x, y, z, w (e.g. a tag on top of the cube: z = -its height above the centre)."""
    max_age: float = 0.25
    sim_belief: bool = False


@dataclass(frozen=True)
class GraspEstimator:
    """``is_grasped`` from the gripper's own readings, for robots without a task topic for it:
    the fingers stopped between ``opening`` (the sum of the joints' positions, so not closed on
    nothing and not open) while pushing at least ``min_effort`` (mean |effort| over the joints,
    N or N m as /joint_states reports it). The heuristic ManiSkill's PickCube comments on."""

    joints: tuple[str, ...]
    """ROS joint names of the gripper's fingers."""
    opening: tuple[float, float]
    min_effort: float


@dataclass(frozen=True)
class ResetConfig:
    max_joint_speed: float = 0.5
    """rad/s (m/s for prismatic joints): the fastest any joint moves while resetting."""
    tolerance: float = 0.02
    settle_timeout: float = 10.0
    """s to wait, after the planned motion time, for every joint to be within tolerance."""


@dataclass(frozen=True)
class DeadmanConfig:
    """A std_msgs/Bool that must be true and fresh for any command to go out."""

    topic: str
    max_age: float = 0.5


@dataclass(frozen=True, kw_only=True)
class SafetySettings(SafetyLimits):
    """The safety layer's limits (core/safety.py), per ROS joint name where per joint, and
    what RealEnv does around them."""

    max_joint_velocity: dict[str, float] = field(default_factory=dict)
    """rad/s (m/s prismatic); a joint not listed has no velocity or per-step limit."""
    watchdog_timeout: float = 0.5
    """s without a step() while live before the robot is held (0: no watchdog)."""
    deadman: DeadmanConfig | None = None


@dataclass(frozen=True)
class RobotConfig:
    """Topic names are kept as written: a robot node (mock_hardware, sim_robot) resolves them in
    its own ROS namespace, as ros2_control does; RealEnv resolves them under ``namespace``
    (:meth:`topic`)."""

    path: Path
    robot_uid: str
    namespace: str
    """Fully qualified: "/" or "/left"."""
    joint_states_topic: str
    joint_states_max_age: float
    input_timeout: float
    joints: dict[str, str]
    """sim joint name -> ROS joint name."""
    controllers: dict[str, ControllerConfig]
    reset: ResetConfig = field(default_factory=ResetConfig)
    cameras: dict[str, CameraTopics] = field(default_factory=dict)
    task_topics: dict[str, str] = field(default_factory=dict)
    """info key -> std_msgs/Bool topic that reports it from the real world (e.g. success)."""
    task_namespace: str | None = None
    """Every boolean the sim env's ``evaluate()`` reports comes from ``<task_namespace>/<key>``
    (as sim_robot publishes them), unless ``task_topics`` names another topic for the key."""
    use_sim_time: bool = False
    """RealEnv's node follows /clock (a simulated robot's time) instead of the system clock."""
    robot_limits: dict[str, float] = field(default_factory=dict)
    """The robot's own joint speed limits (its datasheet), rad/s per ROS joint name: no
    setting of this file may exceed them."""
    safety: SafetySettings = field(default_factory=SafetySettings)
    controller_manager: str | None = "controller_manager"
    """The controller_manager node (relative names resolve under ``namespace``) that reset()
    asks through list_controllers whether the controllers run as configured; None: the robot
    has none, nothing is checked."""
    objects: dict[str, ObjectSource] = field(default_factory=dict)
    """sim actor name -> where its real pose comes from (ros/objects.py)."""
    grasp_estimator: GraspEstimator | None = None
    """``is_grasped`` from the gripper's readings (replaces a task topic for it)."""
    latency_steps: int = 0
    """Control ticks between the observation a command is computed from and its release
    (RealEnv's ``latency_steps``): 0 sends each command as soon as it is computed."""

    def topic(self, name: str) -> str:
        """A configured topic name as RealEnv uses it: resolved under ``namespace``."""
        return resolve_topic(name, self.namespace)

    def ros_joint(self, sim_joint: str) -> str:
        return self.joints.get(sim_joint, sim_joint)

    def controlled_joints(self) -> list[str]:
        """ROS names of every joint some controller commands."""
        return [j for c in self.controllers.values() for j in c.joints]

    def reset_controllers(self) -> dict[str, ControllerConfig]:
        """part -> its reset controller (``controllers.<part>.reset_controller``), if any."""
        out = {part: c.resetter() for part, c in self.controllers.items()}
        return {part: c for part, c in out.items() if c is not None}


FASTDDS_PROFILE = "fastdds_shm.xml"
"""The Fast DDS profile that the tests and benchmarks measured: a shared-memory segment large
enough for whole camera frames (see the file)."""


MAX_LATENCY_STEPS = 100


def checked_count(value: Any, most: int = MAX_LATENCY_STEPS) -> int:
    """A whole number of steps in 0..``most`` (not a bool, not a float), or ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= most:
        raise ValueError(f"expected a whole number of steps from 0 to {most}, got {value!r}")
    return value


def shipped_file(name: str) -> Path:
    """A file shipped from the repo's ``config/``: from a wheel (``_config/``), a checkout or an
    editable install (``config/``), or a colcon install (``share/maniskill_real/config``)."""
    package = Path(__file__).resolve().parent
    candidates = [package / "_config", package.parent / "config"]
    try:
        from ament_index_python.packages import get_package_share_directory

        candidates.append(Path(get_package_share_directory("maniskill_real")) / "config")
    except Exception:  # noqa: BLE001 - no ament index outside a ROS install
        pass
    for folder in candidates:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"no shipped file '{name}' in {', '.join(str(c) for c in candidates)}")


def default_config_path(name: str) -> Path:
    """The shipped robot config ``<name>.yaml``."""
    return shipped_file(f"{name}.yaml")


def fastdds_profile() -> Path:
    """The shipped Fast DDS profile, for ``FASTRTPS_DEFAULT_PROFILES_FILE``."""
    return shipped_file(FASTDDS_PROFILE)


class _StrictLoader(yaml.SafeLoader):
    """YAML that refuses a key given twice in one mapping (PyYAML silently keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=_StrictLoader)  # noqa: S506 - a SafeLoader


def load_robot_config(path_or_name: str | Path) -> RobotConfig:
    """Load and validate a robot config: a path to a YAML file, or the name of a shipped one."""
    path = Path(path_or_name)
    if path.suffix not in (".yaml", ".yml"):
        path = default_config_path(str(path_or_name))
    try:
        raw = _read_yaml(path)
    except OSError as e:
        raise ConfigError(f"{path}: can't read robot config: {e.strerror}") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from e
    return _Validator(path).robot(_with_base(path, raw))


def _with_base(path: Path, raw: Any) -> Any:
    """``base: other.yaml`` (relative to this file): start from that config, override keys."""
    if not isinstance(raw, dict) or "base" not in raw:
        return raw
    base_path = path.parent / str(raw["base"])
    try:
        base = _read_yaml(base_path)
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"{path}: key 'base': can't load {base_path}: {e}") from e
    merged = {**_with_base(base_path, base), **raw}
    del merged["base"]
    return merged


class _Validator:
    """Walks the YAML tree, keeping the key path so every error can name it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, why: str) -> ConfigError:
        return ConfigError(f"{self.path}: key '{key}': {why}")

    def mapping(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping, got {type(value).__name__}")
        return value

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(key, f"expected a non-empty string, got {value!r}")
        return value

    def positive(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"expected a number, got {value!r}")
        if not math.isfinite(value) or value <= 0:
            raise self.fail(key, f"expected a finite number > 0, got {value!r}")
        return float(value)

    def count(self, value: Any, key: str) -> int:
        try:
            return checked_count(value)
        except ValueError as e:
            raise self.fail(key, str(e)) from None

    def flag(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {value!r}")
        return value

    def topic(self, value: Any, key: str) -> str:
        """A relative or absolute ROS topic name (no ``~`` or substitutions: RealEnv's node
        name is no part of a robot's interface)."""
        name = self.string(value, key)
        if not _NAME.fullmatch(name):
            raise self.fail(
                key,
                f"{name!r} is not a ROS topic name: tokens of letters, digits and underscores "
                "(not starting with a digit) joined by single slashes, optionally with a "
                "leading slash (absolute) and no trailing one",
            )
        return name

    def namespace(self, value: Any, key: str) -> str:
        """A ROS namespace, fully qualified: "" and "/" are the root, "left" is "/left"."""
        if value is None or value in ("", "/"):
            return "/"
        return "/" + self.topic(value, key).lstrip("/")

    def choice(self, value: Any, key: str, choices: tuple[str, ...]) -> str:
        if value not in choices:
            raise self.fail(key, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def known_keys(self, raw: dict[str, Any], key: str, allowed: set[str]) -> None:
        unknown = sorted(set(raw) - allowed)
        if unknown:
            where = f"{key}." if key else ""
            raise self.fail(
                f"{where}{unknown[0]}", f"unknown key (allowed: {', '.join(sorted(allowed))})"
            )

    def robot(self, raw: Any) -> RobotConfig:
        if raw is None:
            raise ConfigError(f"{self.path}: the file is empty")
        raw = self.mapping(raw, "<top level>")
        self.known_keys(
            raw,
            "",
            {
                "robot_uid",
                "namespace",
                "joint_states",
                "joints",
                "controllers",
                "reset",
                "cameras",
                "task_topics",
                "task_namespace",
                "use_sim_time",
                "input_timeout",
                "robot_limits",
                "safety",
                "controller_manager",
                "objects",
                "grasp_estimator",
                "latency_steps",
            },
        )
        for required in ("robot_uid", "controllers"):
            if required not in raw:
                raise self.fail(required, "missing")
        js = self.mapping(raw.get("joint_states", {}), "joint_states")
        if "timeout" in js:
            raise self.fail(
                "joint_states.timeout",
                "it is the top-level key 'input_timeout' now: it applies to every input",
            )
        self.known_keys(js, "joint_states", {"topic", "max_age"})
        joints_raw = self.mapping(raw.get("joints", {}) or {}, "joints")
        joints = {
            self.string(k, "joints"): self.string(v, f"joints.{k}") for k, v in joints_raw.items()
        }
        controllers_raw = self.mapping(raw["controllers"], "controllers")
        if not controllers_raw:
            raise self.fail("controllers", "needs at least one controller")
        controllers = {
            part: self.controller(part, spec, f"controllers.{part}")
            for part, spec in controllers_raw.items()
        }
        seen: dict[str, str] = {}
        for c in controllers.values():
            for j in c.joints:
                if j in seen:
                    raise self.fail(
                        f"controllers.{c.part}.joints",
                        f"joint '{j}' is already commanded by controllers.{seen[j]}",
                    )
                seen[j] = c.part
        manager = raw.get("controller_manager", "controller_manager")
        manager = None if manager is None else self.topic(manager, "controller_manager")
        self.reset_controllers(controllers, manager)
        task_namespace = raw.get("task_namespace")
        limits = self.joint_speeds(raw.get("robot_limits", {}) or {}, "robot_limits")
        reset = self.reset(raw.get("reset", {}) or {})
        slowest = min(limits.values(), default=math.inf)
        if reset.max_joint_speed > slowest:
            raise self.fail(
                "reset.max_joint_speed",
                f"{reset.max_joint_speed} rad/s exceeds the robot's slowest joint limit "
                f"({slowest} rad/s, robot_limits.max_joint_velocity)",
            )
        return RobotConfig(
            path=self.path,
            robot_uid=self.string(raw["robot_uid"], "robot_uid"),
            namespace=self.namespace(raw.get("namespace"), "namespace"),
            joint_states_topic=self.topic(js.get("topic", "joint_states"), "joint_states.topic"),
            joint_states_max_age=self.positive(js.get("max_age", 0.25), "joint_states.max_age"),
            input_timeout=self.positive(raw.get("input_timeout", 5.0), "input_timeout"),
            joints=joints,
            controllers=controllers,
            reset=reset,
            cameras={
                name: self.camera(name, spec, f"cameras.{name}")
                for name, spec in self.mapping(raw.get("cameras", {}) or {}, "cameras").items()
            },
            task_topics={
                self.string(k, "task_topics"): self.topic(v, f"task_topics.{k}")
                for k, v in self.mapping(raw.get("task_topics", {}) or {}, "task_topics").items()
            },
            task_namespace=(
                None if task_namespace is None else self.topic(task_namespace, "task_namespace")
            ),
            use_sim_time=self.flag(raw.get("use_sim_time", False), "use_sim_time"),
            robot_limits=limits,
            safety=self.safety(raw.get("safety", {}) or {}, limits),
            controller_manager=manager,
            objects={
                self.string(name, "objects"): self.object_source(name, spec, f"objects.{name}")
                for name, spec in self.mapping(raw.get("objects", {}) or {}, "objects").items()
            },
            grasp_estimator=self.grasp_estimator(
                raw.get("grasp_estimator"), controllers, raw.get("task_topics") or {}
            ),
            latency_steps=self.count(raw.get("latency_steps", 0), "latency_steps"),
        )

    def object_source(self, actor: str, spec: Any, key: str) -> ObjectSource:
        """One of: ``{topic}``, ``{tf_frame, world_frame}``, ``{sim_belief: true}``."""
        spec = self.mapping(spec, key)
        self.known_keys(
            spec,
            key,
            {"topic", "frame", "tf_frame", "world_frame", "offset", "max_age", "sim_belief"},
        )
        how = "give {topic: <PoseStamped topic>}, {tf_frame: <frame>, world_frame: <frame>} or "
        how += "{sim_belief: true}"
        belief = self.flag(spec.get("sim_belief", False), f"{key}.sim_belief")
        sources = [k for k in ("topic", "tf_frame") if k in spec]
        if belief and (sources or "offset" in spec):
            raise self.fail(f"{key}.sim_belief", f"a sim belief has no pose source: {how}")
        if not belief and len(sources) != 1:
            raise self.fail(key, f"expected exactly one pose source: {how}")
        tf_frame = world_frame = topic = None
        if "tf_frame" in spec:
            tf_frame = self.string(spec["tf_frame"], f"{key}.tf_frame")
            if "world_frame" not in spec:
                raise self.fail(f"{key}.world_frame", "missing: the TF frame the sim world is in")
            world_frame = self.string(spec["world_frame"], f"{key}.world_frame")
        elif "world_frame" in spec:
            raise self.fail(f"{key}.world_frame", "only with tf_frame (a topic has 'frame')")
        if "topic" in spec:
            topic = self.topic(spec["topic"], f"{key}.topic")
        elif "frame" in spec:
            raise self.fail(f"{key}.frame", "only with topic (TF has 'world_frame')")
        return ObjectSource(
            actor=actor,
            topic=topic,
            frame=self.string(spec.get("frame", "world"), f"{key}.frame"),
            tf_frame=tf_frame,
            world_frame=world_frame,
            offset=self.offset(spec.get("offset"), f"{key}.offset"),
            max_age=self.positive(spec.get("max_age", 0.25), f"{key}.max_age"),
            sim_belief=belief,
        )

    def offset(self, raw: Any, key: str) -> tuple[float, ...]:
        """``{xyz: [x, y, z], xyzw: [x, y, z, w]}`` (ROS's quaternion order), unit quaternion."""
        if raw is None:
            return ObjectSource.offset
        raw = self.mapping(raw, key)
        self.known_keys(raw, key, {"xyz", "xyzw"})
        values: list[float] = []
        for part, size, default in (("xyz", 3, [0, 0, 0]), ("xyzw", 4, [0, 0, 0, 1])):
            v = raw.get(part, default)
            if not (
                isinstance(v, list)
                and len(v) == size
                and all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)
                and all(math.isfinite(x) for x in v)
            ):
                raise self.fail(f"{key}.{part}", f"expected {size} finite numbers, got {v!r}")
            values += [float(x) for x in v]
        norm = math.sqrt(sum(x * x for x in values[3:]))
        if abs(norm - 1.0) > 1e-3:
            raise self.fail(f"{key}.xyzw", f"expected a unit quaternion, its norm is {norm:.4f}")
        return tuple(values)

    def grasp_estimator(
        self, raw: Any, controllers: dict[str, ControllerConfig], task_topics: dict
    ) -> GraspEstimator | None:
        if raw is None:
            return None
        key = "grasp_estimator"
        if "is_grasped" in task_topics:
            raise self.fail(key, "task_topics.is_grasped reports is_grasped already: keep one")
        raw = self.mapping(raw, key)
        self.known_keys(raw, key, {"joints", "opening", "min_effort"})
        names = raw.get("joints")
        if not isinstance(names, list) or not names:
            raise self.fail(f"{key}.joints", "expected a non-empty list of ROS joint names")
        known = {j for c in controllers.values() for j in c.joints}
        for name in names:
            if self.string(name, f"{key}.joints") not in known:
                raise self.fail(f"{key}.joints", f"'{name}' is no controller's joint")
        opening = raw.get("opening")
        if not (
            isinstance(opening, list)
            and len(opening) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in opening)
            and opening[0] < opening[1]
        ):
            raise self.fail(f"{key}.opening", f"expected [min, max], min < max: {opening!r}")
        return GraspEstimator(
            joints=tuple(names),
            opening=(float(opening[0]), float(opening[1])),
            min_effort=self.positive(raw.get("min_effort"), f"{key}.min_effort"),
        )

    def reset_controllers(
        self, controllers: dict[str, ControllerConfig], manager: str | None
    ) -> None:
        """A reset controller needs a controller_manager to switch to it, a position part (a
        velocity command interface would keep its last value across the switch back), and a
        name no other controller has."""
        names = {c.name: f"controllers.{c.part}.name" for c in controllers.values()}
        for c in controllers.values():
            if c.reset_controller is None:
                continue
            key = f"controllers.{c.part}.reset_controller"
            if manager is None:
                raise self.fail(
                    key,
                    "needs a controller_manager to switch to it (key 'controller_manager' is null)",
                )
            if c.interface != "position":
                raise self.fail(
                    key,
                    f"only for a position-interface controller ({c.name} commands "
                    f"{c.interface}: its command interface would keep its last value across "
                    "the switch back)",
                )
            if c.reset_controller in names:
                raise self.fail(key, f"'{c.reset_controller}' is {names[c.reset_controller]}")
            names[c.reset_controller] = key

    def joint_speeds(self, raw: Any, key: str) -> dict[str, float]:
        raw = self.mapping(raw, key)
        self.known_keys(raw, key, {"max_joint_velocity"})
        speeds = self.mapping(raw.get("max_joint_velocity", {}) or {}, f"{key}.max_joint_velocity")
        return {
            self.string(j, f"{key}.max_joint_velocity"): self.positive(
                v, f"{key}.max_joint_velocity.{j}"
            )
            for j, v in speeds.items()
        }

    def safety(self, raw: Any, limits: dict[str, float]) -> SafetySettings:
        """Defaults are the safe ones; nothing here may exceed ``robot_limits``."""
        raw = self.mapping(raw, "safety")
        d = SafetySettings()
        self.known_keys(
            raw,
            "safety",
            {
                "max_joint_velocity",
                "position_margin",
                "blend_in_steps",
                "max_measured_velocity",
                "max_tracking_error",
                "max_tracking_lag",
                "workspace",
                "on_limit",
                "watchdog_timeout",
                "deadman",
            },
        )
        speeds = dict(limits)
        wanted = raw.get("max_joint_velocity")
        if wanted is not None:
            key = "safety.max_joint_velocity"
            per_joint = (
                dict.fromkeys(limits, wanted)
                if not isinstance(wanted, dict)
                else {self.string(j, key): v for j, v in wanted.items()}
            )
            for joint, value in per_joint.items():
                value = self.positive(value, f"{key}.{joint}" if isinstance(wanted, dict) else key)
                if joint in limits and value > limits[joint]:
                    raise self.fail(
                        f"{key}.{joint}" if isinstance(wanted, dict) else key,
                        f"{value} rad/s exceeds the robot's own limit "
                        f"robot_limits.max_joint_velocity.{joint} = {limits[joint]}",
                    )
                speeds[joint] = value
        margin = raw.get("position_margin", d.position_margin)
        if isinstance(margin, bool) or not isinstance(margin, int | float) or margin < 0:
            raise self.fail("safety.position_margin", f"expected a number >= 0, got {margin!r}")
        blend = raw.get("blend_in_steps", d.blend_in_steps)
        if isinstance(blend, bool) or not isinstance(blend, int) or blend < 1:
            raise self.fail("safety.blend_in_steps", f"expected an integer >= 1, got {blend!r}")
        on_limit = dict(d.on_limit)
        for limit, action in self.mapping(raw.get("on_limit", {}) or {}, "safety.on_limit").items():
            self.choice(limit, "safety.on_limit", LIMITS)
            on_limit[limit] = self.choice(action, f"safety.on_limit.{limit}", LIMIT_ACTIONS)
        watchdog = raw.get("watchdog_timeout", d.watchdog_timeout)
        if watchdog != 0:
            watchdog = self.positive(watchdog, "safety.watchdog_timeout")
        deadman = None
        if raw.get("deadman") is not None:
            spec = self.mapping(raw["deadman"], "safety.deadman")
            self.known_keys(spec, "safety.deadman", {"topic", "max_age"})
            deadman = DeadmanConfig(
                topic=self.topic(spec.get("topic"), "safety.deadman.topic"),
                max_age=self.positive(spec.get("max_age", 0.5), "safety.deadman.max_age"),
            )
        return SafetySettings(
            max_joint_velocity=speeds,
            position_margin=float(margin),
            blend_in_steps=blend,
            max_measured_velocity=self.positive(
                raw.get("max_measured_velocity", d.max_measured_velocity),
                "safety.max_measured_velocity",
            ),
            max_tracking_error=self.positive(
                raw.get("max_tracking_error", d.max_tracking_error), "safety.max_tracking_error"
            ),
            max_tracking_lag=self.positive(
                raw.get("max_tracking_lag", d.max_tracking_lag), "safety.max_tracking_lag"
            ),
            workspace=self.box(raw.get("workspace"), "safety.workspace"),
            on_limit=on_limit,
            watchdog_timeout=float(watchdog),
            deadman=deadman,
        )

    def box(self, raw: Any, key: str) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
        if raw is None:
            return None
        raw = self.mapping(raw, key)
        self.known_keys(raw, key, {"min", "max"})
        corners = []
        for end in ("min", "max"):
            value = raw.get(end)
            if not (
                isinstance(value, list)
                and len(value) == 3
                and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
            ):
                raise self.fail(f"{key}.{end}", f"expected [x, y, z] in metres, got {value!r}")
            corners.append(tuple(float(v) for v in value))
        if any(lo >= hi for lo, hi in zip(*corners, strict=True)):
            raise self.fail(key, f"min {corners[0]} must be below max {corners[1]} on every axis")
        return corners[0], corners[1]

    def controller(self, part: str, spec: Any, key: str) -> ControllerConfig:
        spec = self.mapping(spec, key)
        kind = self.choice(spec.get("kind"), f"{key}.kind", CONTROLLER_KINDS)
        gripper = kind in GRIPPER_KINDS
        allowed = {"name", "kind", "interface", "joints", "reset_controller"}
        self.known_keys(spec, key, allowed | ({"max_effort", "mimic"} if gripper else set()))
        joints = spec.get("joints")
        if not isinstance(joints, list) or not joints:
            raise self.fail(f"{key}.joints", "expected a non-empty list of ROS joint names")
        interface = self.choice(spec.get("interface", "position"), f"{key}.interface", INTERFACES)
        if kind != "forward_command_controller" and interface != "position":
            verb = "streams" if kind == "joint_trajectory_controller" else "commands"
            raise self.fail(f"{key}.interface", f"{kind} {verb} positions")
        mimic = self.flag(spec.get("mimic", False), f"{key}.mimic") if gripper else False
        if gripper:
            # ros2_controllers gripper_controllers/src/gripper_action_controller_parameters.yaml
            # and parallel_gripper_controller's: one `joint`; a goal carries one position.
            if len(joints) > 1 and not mimic:
                raise self.fail(
                    f"{key}.joints",
                    f"a {kind} drives exactly one joint; list one, or set "
                    "'mimic: true' when the others mimic the first (the action commands it)",
                )
            if spec.get("reset_controller") is not None:
                raise self.fail(f"{key}.reset_controller", "a gripper resets through its action")
        max_effort = spec.get("max_effort", 0.0)
        if isinstance(max_effort, bool) or not isinstance(max_effort, int | float):
            raise self.fail(f"{key}.max_effort", f"expected a number of N >= 0, got {max_effort!r}")
        if not (math.isfinite(max_effort) and max_effort >= 0):
            raise self.fail(f"{key}.max_effort", f"expected a number of N >= 0, got {max_effort!r}")
        return ControllerConfig(
            part=part,
            name=self.topic(spec.get("name"), f"{key}.name"),
            kind=kind,  # type: ignore[arg-type]
            interface=interface,
            joints=tuple(self.string(j, f"{key}.joints") for j in joints),
            reset_controller=(
                None
                if spec.get("reset_controller") is None
                else self.topic(spec["reset_controller"], f"{key}.reset_controller")
            ),
            max_effort=float(max_effort),
            mimic=mimic,
        )

    def reset(self, raw: Any) -> ResetConfig:
        raw = self.mapping(raw, "reset")
        self.known_keys(raw, "reset", {"max_joint_speed", "tolerance", "settle_timeout"})
        d = ResetConfig()
        return ResetConfig(
            max_joint_speed=self.positive(
                raw.get("max_joint_speed", d.max_joint_speed), "reset.max_joint_speed"
            ),
            tolerance=self.positive(raw.get("tolerance", d.tolerance), "reset.tolerance"),
            settle_timeout=self.positive(
                raw.get("settle_timeout", d.settle_timeout), "reset.settle_timeout"
            ),
        )

    def camera(self, name: str, spec: Any, key: str) -> CameraTopics:
        spec = self.mapping(spec, key)
        self.known_keys(
            spec,
            key,
            {
                "image_topic",
                "info_topic",
                "depth_topic",
                "alignment",
                "compressed",
                "max_age",
                "cam2world",
                "tf_frames",
            },
        )
        cam2world = spec.get("cam2world")
        if cam2world is not None:
            ok = (
                isinstance(cam2world, list)
                and len(cam2world) == 4
                and all(isinstance(r, list) and len(r) == 4 for r in cam2world)
                and all(isinstance(v, int | float) for r in cam2world for v in r)
            )
            if not ok:
                raise self.fail(f"{key}.cam2world", "expected a 4x4 list of numbers")
            cam2world = tuple(tuple(float(v) for v in r) for r in cam2world)
        tf_frames = spec.get("tf_frames")
        if tf_frames is not None:
            if cam2world is not None:
                raise self.fail(f"{key}.tf_frames", "give either cam2world or tf_frames, not both")
            tf_frames = self.tf_frames(tf_frames, f"{key}.tf_frames")
        depth = spec.get("depth_topic")
        return CameraTopics(
            name=name,
            image_topic=self.topic(spec.get("image_topic"), f"{key}.image_topic"),
            info_topic=self.topic(spec.get("info_topic"), f"{key}.info_topic"),
            depth_topic=None if depth is None else self.topic(depth, f"{key}.depth_topic"),
            alignment=self.choice(
                spec.get("alignment", "intrinsics"), f"{key}.alignment", ALIGNMENTS
            ),
            compressed=self.flag(spec.get("compressed", False), f"{key}.compressed"),
            max_age=self.positive(spec.get("max_age", 0.5), f"{key}.max_age"),
            cam2world=cam2world,
            tf_frames=tf_frames,
        )

    def tf_frames(self, spec: Any, key: str) -> TfFrames:
        spec = self.mapping(spec, key)
        self.known_keys(spec, key, {"world", "camera"})
        return TfFrames(
            world=self.string(spec.get("world"), f"{key}.world"),
            camera=self.string(spec.get("camera"), f"{key}.camera"),
        )
