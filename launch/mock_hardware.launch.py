"""Start the mock robot: mirrors position commands into /joint_states and can publish a camera.

    ros2 launch maniskill_real mock_hardware.launch.py time_constant:=0.1 command_delay:=0.02
    ros2 launch maniskill_real mock_hardware.launch.py namespace:=left camera_fov:=1.6

Every argument but robot_config and namespace sets the node parameter of its name; left empty
(the default), the node's own default applies (maniskill_real/benches/mock_hardware.py).
The node gets FASTRTPS_DEFAULT_PROFILES_FILE = this package's config/fastdds_shm.xml unless the
variable is already set.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.substitutions import EnvironmentVariable, LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

# Node parameter -> (value_type for launch_ros's ParameterValue, description).
NODE_PARAMETERS = {
    "joint_state_rate": (float, "Hz at which /joint_states is published"),
    "time_constant": (float, "s: first-order lag from command to state; 0 mirrors at once"),
    "command_delay": (float, "s of dead time before a command starts to take effect"),
    "initial_positions": (
        list[float],
        "rad: a YAML list of floats, one for all joints or one per joint, e.g. [0.0]",
    ),
    "publish_camera": (bool, "publish a test Image + CameraInfo + depth per configured camera"),
    "camera_rate": (float, "Hz of the test camera"),
    "camera_width": (int, "px: the test camera's image width"),
    "camera_height": (int, "px: the test camera's image height"),
    "camera_fov": (float, "rad: the test camera's vertical field of view"),
}


def _node(context):
    """The node, with only the parameters given a value: the others keep the node's defaults."""
    parameters = {"robot_config": LaunchConfiguration("robot_config")}
    for name, (value_type, _) in NODE_PARAMETERS.items():
        value = LaunchConfiguration(name).perform(context)
        if value:
            parameters[name] = ParameterValue(LaunchConfiguration(name), value_type=value_type)
    return [
        Node(
            package="maniskill_real",
            executable="mock_hardware",
            name="mock_hardware",
            namespace=LaunchConfiguration("namespace"),
            output="screen",
            parameters=[parameters],
        )
    ]


def generate_launch_description():
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "robot_config",
                default_value=PathJoinSubstitution(
                    [FindPackageShare("maniskill_real"), "config", "panda.yaml"]
                ),
                description="Robot config YAML (joints, controllers, cameras).",
            ),
            DeclareLaunchArgument(
                "namespace", default_value="", description="ROS namespace of the node."
            ),
            *(
                DeclareLaunchArgument(
                    name, default_value="", description=f"{text} (empty: the node's default)."
                )
                for name, (_, text) in NODE_PARAMETERS.items()
            ),
            SetEnvironmentVariable(
                "FASTRTPS_DEFAULT_PROFILES_FILE",
                EnvironmentVariable(
                    "FASTRTPS_DEFAULT_PROFILES_FILE",
                    default_value=PathJoinSubstitution(
                        [FindPackageShare("maniskill_real"), "config", "fastdds_shm.xml"]
                    ),
                ),
            ),
            OpaqueFunction(function=_node),
        ]
    )
