"""Start the simulated robot: ManiSkill physics and renders behind the same topics as a real robot.

    ros2 launch maniskill_real sim_robot.launch.py env_id:=PickCube-v1 robot_uid:=panda seed:=0
    ros2 launch maniskill_real sim_robot.launch.py camera_width:=1280 camera_height:=720

Every argument but robot_config and namespace sets the node parameter of its name; left empty
(the default), the node's own default applies (maniskill_real/benches/sim_robot.py).
The node gets FASTRTPS_DEFAULT_PROFILES_FILE = this package's config/fastdds_shm.xml unless the
variable is already set.
"""

from maniskill_real.launch_support import node_launch_description

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


def generate_launch_description():
    return node_launch_description(
        executable="sim_robot",
        node_parameters=NODE_PARAMETERS,
        robot_config="panda_sim.yaml",
        robot_config_description="Robot config YAML (joints, controllers, cameras, task topics).",
    )
