"""Start the simulated robot: ManiSkill physics and renders behind the same topics as a real robot.

ros2 launch maniskill_real sim_robot.launch.py env_id:=PickCube-v1 robot_uid:=panda seed:=0
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
                [FindPackageShare("maniskill_real"), "config", "panda_sim.yaml"]
            ),
            description="Robot config YAML (joints, controllers, cameras, task topics).",
        ),
        DeclareLaunchArgument(
            "control_mode",
            default_value="pd_joint_delta_pos",
            description="The policy env's control mode: sets the joint drives' gains only.",
        ),
        DeclareLaunchArgument(
            "env_id", default_value="PickCube-v1", description="ManiSkill environment id."
        ),
        DeclareLaunchArgument(
            "robot_uid", default_value="panda", description="ManiSkill robot uid."
        ),
        DeclareLaunchArgument(
            "seed", default_value="0", description="Seed for the simulated scene."
        ),
        DeclareLaunchArgument(
            "joint_state_rate",
            default_value="100.0",
            description="Rate [Hz] at which /joint_states is published.",
        ),
        DeclareLaunchArgument(
            "use_sim_time",
            default_value="false",
            description="Run on /clock, published by the simulator.",
        ),
    ]

    sim_robot = Node(
        package="maniskill_real",
        executable="sim_robot",
        name="sim_robot",
        output="screen",
        parameters=[
            {
                "robot_config": LaunchConfiguration("robot_config"),
                "control_mode": LaunchConfiguration("control_mode"),
                "env_id": LaunchConfiguration("env_id"),
                "robot_uid": LaunchConfiguration("robot_uid"),
                "seed": ParameterValue(LaunchConfiguration("seed"), value_type=int),
                "joint_state_rate": ParameterValue(
                    LaunchConfiguration("joint_state_rate"), value_type=float
                ),
                "use_sim_time": ParameterValue(
                    LaunchConfiguration("use_sim_time"), value_type=bool
                ),
            }
        ],
    )

    return LaunchDescription([*arguments, sim_robot])
