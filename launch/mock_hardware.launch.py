"""Start the mock robot: mirrors position commands into /joint_states and can publish a camera.

ros2 launch maniskill_real mock_hardware.launch.py time_constant:=0.1 command_delay:=0.02
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    arguments = [
        DeclareLaunchArgument(
            "robot_config",
            default_value=PathJoinSubstitution(
                [FindPackageShare("maniskill_real"), "config", "panda.yaml"]
            ),
            description="Robot config YAML (joints, controllers, cameras).",
        ),
        DeclareLaunchArgument(
            "joint_state_rate",
            default_value="100.0",
            description="Rate [Hz] at which /joint_states is published.",
        ),
        DeclareLaunchArgument(
            "time_constant",
            default_value="0.05",
            description="First-order lag [s] from command to state; 0 mirrors commands at once.",
        ),
        DeclareLaunchArgument(
            "command_delay",
            default_value="0.0",
            description="Dead time [s] before a command starts to take effect.",
        ),
        DeclareLaunchArgument(
            "publish_camera",
            default_value="true",
            description="Publish synthetic Image + CameraInfo for the cameras in the config.",
        ),
    ]

    mock_hardware = Node(
        package="maniskill_real",
        executable="mock_hardware",
        name="mock_hardware",
        output="screen",
        parameters=[
            {
                "robot_config": LaunchConfiguration("robot_config"),
                "joint_state_rate": ParameterValue(
                    LaunchConfiguration("joint_state_rate"), value_type=float
                ),
                "time_constant": ParameterValue(
                    LaunchConfiguration("time_constant"), value_type=float
                ),
                "command_delay": ParameterValue(
                    LaunchConfiguration("command_delay"), value_type=float
                ),
                "publish_camera": ParameterValue(
                    LaunchConfiguration("publish_camera"), value_type=bool
                ),
            }
        ],
    )

    return LaunchDescription([*arguments, mock_hardware])
