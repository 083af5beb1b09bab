"""Start the mock robot: mirrors position commands into /joint_states and can publish a camera.

    ros2 launch maniskill_real mock_hardware.launch.py time_constant:=0.1 command_delay:=0.02
    ros2 launch maniskill_real mock_hardware.launch.py namespace:=left camera_fov:=1.6

Every argument but robot_config and namespace sets the node parameter of its name; left empty
(the default), the node's own default applies (maniskill_real/benches/mock_hardware.py).
The node gets FASTRTPS_DEFAULT_PROFILES_FILE = this package's config/fastdds_shm.xml unless the
variable is already set.
"""

from maniskill_real.launch_support import node_launch_description

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


def generate_launch_description():
    return node_launch_description(
        executable="mock_hardware",
        node_parameters=NODE_PARAMETERS,
        robot_config="panda.yaml",
        robot_config_description="Robot config YAML (joints, controllers, cameras).",
    )
