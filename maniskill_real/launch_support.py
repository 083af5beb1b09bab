"""What the launch files in launch/ share: the Fast DDS profile action, and the whole launch
description of a one-node launch file (mock_hardware.launch.py, sim_robot.launch.py) built from
its NODE_PARAMETERS table.

Imported by the launch files only: it needs launch / launch_ros (ROS 2, no PyPI release). They
find it as any module of the package: from the colcon install (a sourced workspace), a pip
install or a source checkout on PYTHONPATH.

test/test_launch_static.py reads these functions by AST, inlined where a launch file calls them
with the literals it passes: keep package names, argument names and file names literal here.
"""

from __future__ import annotations

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.substitutions import EnvironmentVariable, LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare


def shipped_fastdds_profile() -> SetEnvironmentVariable:
    """FASTRTPS_DEFAULT_PROFILES_FILE = this package's config/fastdds_shm.xml for the processes
    started after it, unless the variable is already set."""
    return SetEnvironmentVariable(
        "FASTRTPS_DEFAULT_PROFILES_FILE",
        EnvironmentVariable(
            "FASTRTPS_DEFAULT_PROFILES_FILE",
            default_value=PathJoinSubstitution(
                [FindPackageShare("maniskill_real"), "config", "fastdds_shm.xml"]
            ),
        ),
    )


def node_launch_description(
    executable: str,
    node_parameters: dict[str, tuple[type, str]],
    robot_config: str,
    robot_config_description: str,
) -> LaunchDescription:
    """One node of this package, ``executable`` (also its name), with the launch arguments
    robot_config (default: this package's config/``robot_config``), namespace, and one per
    ``node_parameters`` entry (parameter -> (value_type for launch_ros's ParameterValue,
    description)), each empty by default; and the shipped Fast DDS profile."""

    def node(context):
        """The node, with only the parameters given a value: the others keep the node's
        defaults."""
        parameters = {"robot_config": LaunchConfiguration("robot_config")}
        for name, (value_type, _) in node_parameters.items():
            value = LaunchConfiguration(name).perform(context)
            if value:
                parameters[name] = ParameterValue(LaunchConfiguration(name), value_type=value_type)
        return [
            Node(
                package="maniskill_real",
                executable=executable,
                name=executable,
                namespace=LaunchConfiguration("namespace"),
                output="screen",
                parameters=[parameters],
            )
        ]

    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "robot_config",
                default_value=PathJoinSubstitution(
                    [FindPackageShare("maniskill_real"), "config", robot_config]
                ),
                description=robot_config_description,
            ),
            DeclareLaunchArgument(
                "namespace", default_value="", description="ROS namespace of the node."
            ),
            *(
                DeclareLaunchArgument(
                    name, default_value="", description=f"{text} (empty: the node's default)."
                )
                for name, (_, text) in node_parameters.items()
            ),
            shipped_fastdds_profile(),
            OpaqueFunction(function=node),
        ]
    )
