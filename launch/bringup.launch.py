"""Bring up a robot for RealEnv: the mock robot (default), the simulated robot, or your real one.

    ros2 launch maniskill_real bringup.launch.py
    ros2 launch maniskill_real bringup.launch.py use_sim_robot:=true
    ros2 launch maniskill_real bringup.launch.py use_mock_hardware:=false \
        robot_bringup:=/path/to/my_robot.launch.xml \
        camera_launch:=/path/to/wrist_camera.launch.py,/path/to/scene_camera.launch.yaml

Exactly one robot source is started: sim_robot.launch.py if use_sim_robot is true; otherwise
mock_hardware.launch.py if use_mock_hardware is true; otherwise the file in robot_bringup, which
is then required (and refused with the mock or sim robot). robot_bringup and camera_launch take
Python, XML or YAML launch files; the camera launch files are included in every case.

robot_config is not declared here, so that its default follows the robot source (the one that
`maniskill-real demo --robot sim|mock` uses): sim_robot's panda_sim.yaml, mock_hardware's
panda.yaml, and panda.yaml for your robot_bringup. Every argument of mock_hardware.launch.py and
sim_robot.launch.py passes through, e.g. `use_sim_robot:=true namespace:=sim camera_fov:=1.6`.

Every process started from here, those of robot_bringup and camera_launch included, gets
FASTRTPS_DEFAULT_PROFILES_FILE = this package's config/fastdds_shm.xml unless it is already set.
"""

from launch import LaunchDescription
from launch.actions import (
    DeclareLaunchArgument,
    GroupAction,
    IncludeLaunchDescription,
    OpaqueFunction,
)
from launch.conditions import IfCondition, UnlessCondition
from launch.launch_description_sources import (
    AnyLaunchDescriptionSource,
    PythonLaunchDescriptionSource,
)
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare

from maniskill_real.launch_support import shipped_fastdds_profile


def _check_robot_source(context):
    """Refuses, before anything starts, a choice that would start no robot, or a robot_bringup
    that would be ignored."""
    path = LaunchConfiguration("robot_bringup").perform(context).strip()
    simulated = IfCondition(LaunchConfiguration("use_sim_robot")).evaluate(context)
    mock = IfCondition(LaunchConfiguration("use_mock_hardware")).evaluate(context)
    if path and (simulated or mock):
        raise RuntimeError(
            f"robot_bringup:={path} is only used with use_mock_hardware:=false and "
            "use_sim_robot:=false; it would start alongside the "
            f"{'sim' if simulated else 'mock'} robot"
        )
    if not (path or simulated or mock):
        raise RuntimeError(
            "use_mock_hardware:=false starts no robot without "
            "robot_bringup:=/path/to/your_robot.launch.py (or .launch.xml / .launch.yaml): the "
            "launch file that starts your ros2_control controller_manager and controllers. "
            "Or pass use_mock_hardware:=true (mock robot) or use_sim_robot:=true (simulated robot)."
        )


def _include_robot_bringup(context):
    """Your robot's launch file; AnyLaunchDescriptionSource takes Python, XML or YAML, by
    extension (launch's launch_description_sources/any_launch_file_utilities.py)."""
    path = LaunchConfiguration("robot_bringup").perform(context).strip()
    robot_config = LaunchConfiguration(
        "robot_config",
        default=PathJoinSubstitution([FindPackageShare("maniskill_real"), "config", "panda.yaml"]),
    )
    include = IncludeLaunchDescription(
        AnyLaunchDescriptionSource(path),
        launch_arguments={"robot_config": robot_config}.items(),
    )
    return [_scoped(include)] if path else []


def _include_cameras(context):
    paths = LaunchConfiguration("camera_launch").perform(context).split(",")
    return [
        _scoped(IncludeLaunchDescription(AnyLaunchDescriptionSource(path.strip())))
        for path in paths
        if path.strip()
    ]


def _scoped(include, condition=None):
    """An include whose launch configurations stay inside it (IncludeLaunchDescription alone
    sets them in the caller's scope: launch's actions/include_launch_description.py), so that
    one included file's arguments don't replace the next one's defaults. It still sees ours."""
    return GroupAction([include], condition=condition, scoped=True, forwarding=True)


def generate_launch_description():
    use_sim_robot = LaunchConfiguration("use_sim_robot")
    use_mock_hardware = LaunchConfiguration("use_mock_hardware")
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "use_mock_hardware",
                default_value="true",
                description="Start the mock robot; false: your robot_bringup instead.",
            ),
            DeclareLaunchArgument(
                "use_sim_robot",
                default_value="false",
                description="Start the ManiSkill-simulated robot (overrides use_mock_hardware).",
            ),
            DeclareLaunchArgument(
                "robot_bringup",
                default_value="",
                description="Your robot's launch file (.py, .xml or .yaml: ros2_control, "
                "controllers); required with use_mock_hardware:=false, and only then used. "
                "It gets robot_config (default: this package's panda.yaml).",
            ),
            DeclareLaunchArgument(
                "camera_launch",
                default_value="",
                description="Comma-separated camera driver launch files (.py, .xml or .yaml).",
            ),
            OpaqueFunction(function=_check_robot_source),
            shipped_fastdds_profile(),
            # The mock robot first: `--show-args` shows the first declaration of an argument
            # (launch_description.py), so robot_config's default there is the default run's.
            _scoped(
                IncludeLaunchDescription(
                    PythonLaunchDescriptionSource(
                        PathJoinSubstitution(
                            [
                                FindPackageShare("maniskill_real"),
                                "launch",
                                "mock_hardware.launch.py",
                            ]
                        )
                    ),
                    condition=IfCondition(use_mock_hardware),
                ),
                condition=UnlessCondition(use_sim_robot),
            ),
            _scoped(
                IncludeLaunchDescription(
                    PythonLaunchDescriptionSource(
                        PathJoinSubstitution(
                            [FindPackageShare("maniskill_real"), "launch", "sim_robot.launch.py"]
                        )
                    )
                ),
                condition=IfCondition(use_sim_robot),
            ),
            OpaqueFunction(function=_include_robot_bringup),
            OpaqueFunction(function=_include_cameras),
        ]
    )
