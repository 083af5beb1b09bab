"""Start the simulated robot: ManiSkill physics and renders behind the same topics as a real robot.

    ros2 launch maniskill_real sim_robot.launch.py env_id:=PickCube-v1 robot_uid:=panda seed:=0
    ros2 launch maniskill_real sim_robot.launch.py camera_width:=1280 camera_height:=720

Every argument but robot_config and namespace sets the node parameter of its name; left empty
(the default), the node's own default applies (maniskill_real/benches/sim_robot.py).
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
    "control_mode": (str, "the policy env's control mode: sets the joint drives' gains only"),
    "env_id": (str, "ManiSkill env whose scene is simulated"),
    "robot_uid": (str, "ManiSkill robot uid"),
    "seed": (int, "seed of the simulated scene"),
    "joint_state_rate": (float, "Hz at which /joint_states is published"),
    "use_sim_time": (bool, "run on /clock, which the simulator publishes"),
    "camera_width": (int, "px: the real camera's image width"),
    "camera_height": (int, "px: the real camera's image height"),
    "camera_fov": (float, "rad: the real camera's vertical field of view; 0: sim camera's + 0.2"),
    "camera_rate": (float, "Hz: the most camera frames per second"),
    "publish_depth": (bool, "publish 16UC1 depth in mm on each camera's depth_topic"),
    "command_delay": (float, "s that every command waits before it takes effect"),
    "joint_state_noise": (float, "rad: std of gaussian noise on published joint positions"),
    "reset_scene_service": (bool, "offer ~/reset_scene, which teleports the robot (off: unset)"),
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
            executable="sim_robot",
            name="sim_robot",
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
                    [FindPackageShare("maniskill_real"), "config", "panda_sim.yaml"]
                ),
                description="Robot config YAML (joints, controllers, cameras, task topics).",
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
