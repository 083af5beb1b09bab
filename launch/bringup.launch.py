"""Bring up a robot for RealEnv: the mock robot (default), the simulated robot, or your real one.

    ros2 launch maniskill_real bringup.launch.py use_mock_hardware:=true
    ros2 launch maniskill_real bringup.launch.py use_sim_robot:=true
    ros2 launch maniskill_real bringup.launch.py use_mock_hardware:=false \
        robot_bringup:=/path/to/my_robot.launch.py \
        camera_launch:=/path/to/wrist_camera.launch.py,/path/to/scene_camera.launch.py

Exactly one robot source is started: sim_robot if use_sim_robot is true; otherwise mock_hardware
if use_mock_hardware is true; otherwise the file given in robot_bringup (if any). The camera
launch files are included in every case.
"""

from launch import LaunchDescription
from launch.actions import (
    DeclareLaunchArgument,
    GroupAction,
    IncludeLaunchDescription,
    OpaqueFunction,
)
from launch.conditions import IfCondition, UnlessCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare


def _split_paths(text):
    return [part.strip() for part in text.split(",") if part.strip()]


def _include_robot_bringup(context, *args, **kwargs):
    path = LaunchConfiguration("robot_bringup").perform(context).strip()
    if not path:
        return []
    return [
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(path),
            launch_arguments={"robot_config": LaunchConfiguration("robot_config")}.items(),
        )
    ]


def _include_cameras(context, *args, **kwargs):
    paths = _split_paths(LaunchConfiguration("camera_launch").perform(context))
    return [IncludeLaunchDescription(PythonLaunchDescriptionSource(path)) for path in paths]


def generate_launch_description():
    robot_config = LaunchConfiguration("robot_config")
    use_mock_hardware = LaunchConfiguration("use_mock_hardware")
    use_sim_robot = LaunchConfiguration("use_sim_robot")

    arguments = [
        DeclareLaunchArgument(
            "robot_config",
            default_value=PathJoinSubstitution(
                [FindPackageShare("maniskill_real"), "config", "panda.yaml"]
            ),
            description="Robot config YAML (joints, controllers, cameras).",
        ),
        DeclareLaunchArgument(
            "use_mock_hardware",
            default_value="true",
            description="Start the mock robot instead of the real one.",
        ),
        DeclareLaunchArgument(
            "robot_bringup",
            default_value="",
            description="Path to your robot's bringup launch file (ros2_control, controllers); "
            "included only when use_mock_hardware and use_sim_robot are false.",
        ),
        DeclareLaunchArgument(
            "camera_launch",
            default_value="",
            description="Comma-separated paths of camera driver launch files to include.",
        ),
        DeclareLaunchArgument(
            "use_sim_robot",
            default_value="false",
            description="Start the ManiSkill-simulated robot (overrides use_mock_hardware).",
        ),
    ]

    sim_robot = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(
            PathJoinSubstitution(
                [FindPackageShare("maniskill_real"), "launch", "sim_robot.launch.py"]
            )
        ),
        launch_arguments={"robot_config": robot_config}.items(),
        condition=IfCondition(use_sim_robot),
    )

    mock_or_real = GroupAction(
        condition=UnlessCondition(use_sim_robot),
        actions=[
            IncludeLaunchDescription(
                PythonLaunchDescriptionSource(
                    PathJoinSubstitution(
                        [FindPackageShare("maniskill_real"), "launch", "mock_hardware.launch.py"]
                    )
                ),
                launch_arguments={"robot_config": robot_config}.items(),
                condition=IfCondition(use_mock_hardware),
            ),
            GroupAction(
                condition=UnlessCondition(use_mock_hardware),
                actions=[OpaqueFunction(function=_include_robot_bringup)],
            ),
        ],
    )

    cameras = OpaqueFunction(function=_include_cameras)

    return LaunchDescription([*arguments, sim_robot, mock_or_real, cameras])
