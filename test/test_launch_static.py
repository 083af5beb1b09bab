"""Static checks of the ROS packaging: launch files, setup.py, setup.cfg, package.xml.

`launch` / `launch_ros` are not installable from PyPI, so the launch files are read with `ast`
instead of being run: every executable they start must be a console script, every file they
reference must exist and be installed, every argument they declare must be used.
"""

import ast
import configparser
import fnmatch
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "maniskill_real"
LAUNCH_DIR = REPO / "launch"
LAUNCH_FILES = sorted(LAUNCH_DIR.glob("*.launch.py"))
EXPECTED_LAUNCH_FILES = {"bringup.launch.py", "mock_hardware.launch.py", "sim_robot.launch.py"}

# ROS packages other than ours that launch files may name in package=/FindPackageShare(...),
# with the reason each is needed. Add one here (and to package.xml) before using it.
EXTERNAL_PACKAGES: dict[str, str] = {}

# package.xml exec_depends with no ros-jazzy-* wheel (python3-* rosdep keys are skipped too).
# tf2_msgs has no wheel: scripts/build_interfaces.sh builds it into the venv.
NOT_WHEELS = {"launch", "launch_ros", "tf2_msgs"}
# Wheels in the 'ros' extra that are a runtime choice rather than a package.xml dependency.
WHEEL_ONLY = {"ros-jazzy-rmw-fastrtps-cpp"}


# --------------------------------------------------------------------------------------------
# setup.py, read without running it
# --------------------------------------------------------------------------------------------
class _Unresolved(Exception):
    pass


def _evaluate(node, names):
    """Evaluates the literal parts of setup.py: constants, containers, module-level names,
    f-strings over them, list `+`, and `sorted(glob(pattern))` (-> ("glob", pattern))."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_evaluate(e, names) for e in node.elts]
    if isinstance(node, ast.Dict):
        pairs = zip(node.keys, node.values, strict=True)
        return {_evaluate(k, names): _evaluate(v, names) for k, v in pairs}
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    if isinstance(node, ast.JoinedStr):
        return "".join(
            str(_evaluate(v.value if isinstance(v, ast.FormattedValue) else v, names))
            for v in node.values
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _evaluate(node.left, names) + _evaluate(node.right, names)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id == "glob":
            return ("glob", _evaluate(node.args[0], names))
        if node.func.id == "sorted":
            return _evaluate(node.args[0], names)
    raise _Unresolved(ast.dump(node))


def _setup_kwargs():
    tree = ast.parse((REPO / "setup.py").read_text(), filename="setup.py")
    names = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if isinstance(target, ast.Name):
                try:
                    names[target.id] = _evaluate(stmt.value, names)
                except _Unresolved:
                    pass
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "setup"
    ]
    assert len(calls) == 1, "setup.py must call setup() exactly once"
    kwargs = {}
    for kw in calls[0].keywords:
        try:
            kwargs[kw.arg] = _evaluate(kw.value, names)
        except _Unresolved:
            kwargs[kw.arg] = None  # computed (e.g. find_packages()); not checked here
    return kwargs


SETUP = _setup_kwargs()


def _console_scripts():
    scripts = {}
    for line in SETUP["entry_points"]["console_scripts"]:
        name, target = (part.strip() for part in line.split("=", 1))
        scripts[name] = target
    return scripts


def _data_files():
    """{install dir: [source path or ("glob", pattern)]}"""
    return {dest: sources for dest, sources in SETUP["data_files"]}


def _installed_to(relpath):
    """The share-relative dir that data_files installs repo file `relpath` to, or None."""
    for dest, sources in _data_files().items():
        for src in sources:
            pattern = src[1] if isinstance(src, list | tuple) and src[0] == "glob" else src
            if fnmatch.fnmatch(relpath, pattern):
                return dest
    return None


# --------------------------------------------------------------------------------------------
# launch files
# --------------------------------------------------------------------------------------------
def _call_name(call):
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _calls(tree, name):
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _call_name(n) == name]


def _keyword(call, name):
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def _first_str_arg(call, keyword):
    node = call.args[0] if call.args else _keyword(call, keyword)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _docstring_nodes(tree):
    nodes = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                nodes.add(id(body[0].value))
    return nodes


def _package_share_paths(tree):
    """Repo-relative paths of PathJoinSubstitution([FindPackageShare(PACKAGE), 'a', 'b', ...])."""
    paths = []
    for call in _calls(tree, "PathJoinSubstitution"):
        parts = call.args[0] if call.args else _keyword(call, "substitutions")
        if not isinstance(parts, ast.List) or not parts.elts:
            continue
        head, *rest = parts.elts
        if not (isinstance(head, ast.Call) and _call_name(head) == "FindPackageShare"):
            continue
        if _first_str_arg(head, "package") != PACKAGE:
            continue
        assert all(isinstance(p, ast.Constant) and isinstance(p.value, str) for p in rest), (
            f"only string literals may follow FindPackageShare({PACKAGE!r}): {ast.unparse(call)}"
        )
        paths.append("/".join(p.value for p in rest))
    return paths


def _declared_arguments(tree):
    return {_first_str_arg(c, "name") for c in _calls(tree, "DeclareLaunchArgument")}


def _used_configurations(tree):
    return {_first_str_arg(c, "variable_name") for c in _calls(tree, "LaunchConfiguration")}


def _parse(path):
    return ast.parse(path.read_text(), filename=str(path))


def _launch_id(path):
    return path.name


def test_expected_launch_files_exist():
    assert EXPECTED_LAUNCH_FILES <= {p.name for p in LAUNCH_FILES}


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=_launch_id)
def test_launch_file_defines_generate_launch_description(path):
    tree = _parse(path)
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "generate_launch_description" in functions


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=_launch_id)
def test_executables_are_console_scripts(path):
    scripts = _console_scripts()
    for call in _calls(_parse(path), "Node"):
        node = _keyword(call, "executable")
        assert isinstance(node, ast.Constant), f"{path.name}: executable must be a literal"
        package = _keyword(call, "package")
        if isinstance(package, ast.Constant) and package.value != PACKAGE:
            continue  # an external package's executable
        assert node.value in scripts, (
            f"{path.name}: executable {node.value!r} is not a console_script in setup.py "
            f"({sorted(scripts)})"
        )


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=_launch_id)
def test_packages_are_ours_or_documented(path):
    tree = _parse(path)
    named = set()
    for call in ast.walk(tree):
        if isinstance(call, ast.Call):
            package = _keyword(call, "package")
            if package is not None:
                assert isinstance(package, ast.Constant), f"{path.name}: package must be literal"
                named.add(package.value)
    for call in _calls(tree, "FindPackageShare"):
        named.add(_first_str_arg(call, "package"))
    unknown = named - {PACKAGE} - set(EXTERNAL_PACKAGES)
    assert not unknown, f"{path.name}: undocumented packages {unknown}; see EXTERNAL_PACKAGES"


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=_launch_id)
def test_referenced_files_exist_and_are_installed(path):
    tree = _parse(path)
    for rel in _package_share_paths(tree):
        assert (REPO / rel).is_file(), f"{path.name} references {rel}, missing from the repo"
        dest = _installed_to(rel)
        assert dest == f"share/{PACKAGE}/{Path(rel).parent}", (
            f"{path.name} references {rel} in the package share dir, "
            f"but setup.py data_files installs it to {dest}"
        )
    # Bare file names outside docstrings (e.g. a default config name) must exist too.
    docstrings = _docstring_nodes(tree)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and " " not in node.value
        ):
            name = node.value
            if name.endswith(".launch.py"):
                assert (LAUNCH_DIR / Path(name).name).is_file(), f"{path.name}: {name} missing"
            elif name.endswith((".yaml", ".yml")):
                assert (REPO / "config" / Path(name).name).is_file(), f"{path.name}: {name}"


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=_launch_id)
def test_declared_arguments_are_used_and_used_are_declared(path):
    tree = _parse(path)
    declared = _declared_arguments(tree)
    used = _used_configurations(tree)
    assert None not in declared, f"{path.name}: argument names must be literals"
    assert None not in used, f"{path.name}: LaunchConfiguration names must be literals"
    assert declared - used == set(), f"{path.name}: declared but never used"
    assert used - declared == set(), f"{path.name}: used but never declared"


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=_launch_id)
def test_included_package_launch_files_get_only_declared_arguments(path):
    for include in _calls(_parse(path), "IncludeLaunchDescription"):
        targets = [p for p in _package_share_paths(include) if p.endswith(".launch.py")]
        arguments = _keyword(include, "launch_arguments")
        if not targets or arguments is None:
            continue
        assert isinstance(arguments, ast.Call) and isinstance(arguments.func, ast.Attribute)
        mapping = arguments.func.value
        assert isinstance(mapping, ast.Dict), f"{path.name}: use {{...}}.items() for arguments"
        passed = {k.value for k in mapping.keys}
        declared = _declared_arguments(_parse(REPO / targets[0]))
        assert passed <= declared, f"{path.name} passes {passed - declared} to {targets[0]}"


# --------------------------------------------------------------------------------------------
# setup.py / setup.cfg / package.xml / resource marker
# --------------------------------------------------------------------------------------------
def test_console_script_targets_exist():
    for name, target in _console_scripts().items():
        module, func = target.split(":")
        base = REPO / Path(*module.split("."))
        source = base.with_suffix(".py")
        if not source.exists():
            source = base / "__init__.py"
        assert source.is_file(), f"console script {name}: {module} not found"
        defined = {n.name for n in _parse(source).body if isinstance(n, ast.FunctionDef)}
        assert func in defined, f"console script {name}: {module} has no top-level {func}()"


def test_package_xml_matches_setup_py():
    root = ET.parse(REPO / "package.xml").getroot()
    assert root.tag == "package" and root.get("format") == "3"
    assert root.findtext("name") == SETUP["name"] == PACKAGE
    assert root.findtext("version") == SETUP["version"]
    assert root.findtext("license") == SETUP["license"]
    assert root.findtext("buildtool_depend") == "ament_python"
    assert root.findtext("export/build_type") == "ament_python"
    # Every ROS package we run against has its wheel in the 'ros' extra, and vice versa.
    ros_deps = {
        e.text for e in root.findall("exec_depend") if not e.text.startswith("python3-")
    } - NOT_WHEELS
    wheels = {f"ros-jazzy-{dep.replace('_', '-')}" for dep in ros_deps}
    assert wheels == set(SETUP["extras_require"]["ros"]) - WHEEL_ONLY


def test_setup_cfg_installs_scripts_where_ros2_run_looks():
    cfg = configparser.RawConfigParser()
    cfg.read(REPO / "setup.cfg")
    assert cfg.get("develop", "script_dir") == f"$base/lib/{PACKAGE}"
    assert cfg.get("install", "install_scripts") == f"$base/lib/{PACKAGE}"


def test_ament_index_marker_and_share_files():
    assert (REPO / "resource" / PACKAGE).is_file()
    assert _installed_to(f"resource/{PACKAGE}") == "share/ament_index/resource_index/packages"
    assert _installed_to("package.xml") == f"share/{PACKAGE}"
    for launch_file in LAUNCH_FILES:
        assert _installed_to(f"launch/{launch_file.name}") == f"share/{PACKAGE}/launch"


def test_configs_ship_inside_the_python_package(tmp_path):
    """A plain (non-editable) pip install must carry config/*.yaml as maniskill_real/_config/."""
    configs = sorted(p.name for p in (REPO / "config").glob("*.yaml"))
    assert configs, "config/ has no YAML files"
    for name in configs:
        assert _installed_to(f"config/{name}") == f"share/{PACKAGE}/config"
    result = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    shipped = sorted(p.name for p in (tmp_path / PACKAGE / "_config").glob("*.yaml"))
    assert shipped == configs
