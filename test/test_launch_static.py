"""Static checks of the ROS packaging: launch files, setup.py, setup.cfg, package.xml.

`launch` / `launch_ros` are not installable from PyPI, so here (and in CI) the launch files are
read with `ast` instead of being run: every executable they start must be a console script, every
file they reference must exist and be installed, every argument they declare must be used, every
node parameter they set must be one the node declares. What they share lives in
maniskill_real/launch_support.py: each launch file is read with the functions it calls from there
inlined, the arguments of each call in place of the parameters, so the same checks see the
literals it passes wherever the code that uses them lives. test_launch_run.py runs them where
launch is installed.
"""

import ast
import configparser
import copy
import fnmatch
import os
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
# The launch files' shared code, imported by them only.
SUPPORT_MODULE = f"{PACKAGE}.launch_support"
SUPPORT = REPO / PACKAGE / "launch_support.py"

# ROS packages other than ours that launch files may name in package=/FindPackageShare(...),
# with the reason each is needed. Add one here (and to package.xml) before using it.
EXTERNAL_PACKAGES: dict[str, str] = {}

# package.xml exec_depends with no ros-jazzy-* wheel (python3-* rosdep keys are skipped too).
# tf2_msgs, control_msgs and controller_manager_msgs have no wheel: scripts/build_interfaces.sh
# builds them into the venv.
NOT_WHEELS = {"launch", "launch_ros", "tf2_msgs", "control_msgs", "controller_manager_msgs"}
# Wheels in the 'ros' extra that are a runtime choice rather than a package.xml dependency.
WHEEL_ONLY = {"ros-jazzy-rmw-fastrtps-cpp"}


# --------------------------------------------------------------------------------------------
# setup.py, read without running it
# --------------------------------------------------------------------------------------------
class _Unresolved(Exception):
    pass


def _evaluate(node, names):
    """Evaluates the literal parts of setup.py: constants, containers, module-level names,
    f-strings over them, list `+`, and `sorted(glob(pattern))` (-> [("glob", pattern)])."""
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
            return [("glob", _evaluate(node.args[0], names))]
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
    """{install dir: [source path or ("glob", pattern), ...]}"""
    return {dest: sources for dest, sources in SETUP["data_files"]}


def _installed_to(relpath):
    """The share-relative dir that data_files installs repo file `relpath` to, or None."""
    for dest, sources in _data_files().items():
        for src in sources:
            pattern = src[1] if isinstance(src, tuple) else src
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


def _node_parameters(tree):
    """A launch file's NODE_PARAMETERS table, {parameter: value type as source text}: it
    declares one launch argument per entry and sets the node parameter of the same name."""
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "NODE_PARAMETERS" for t in stmt.targets
        ):
            assert isinstance(stmt.value, ast.Dict), "NODE_PARAMETERS must be a dict literal"
            pairs = zip(stmt.value.keys, stmt.value.values, strict=True)
            return {k.value: ast.unparse(v.elts[0]) for k, v in pairs}
    return {}


def _declared_arguments(tree):
    """Literal names, plus the NODE_PARAMETERS table's (declared in one loop over it)."""
    names = {_first_str_arg(c, "name") for c in _calls(tree, "DeclareLaunchArgument")}
    table = _node_parameters(tree)
    if table:
        names.discard(None)
    return names | set(table)


def _used_configurations(tree, with_default):
    """Names of LaunchConfiguration(...) with (or without) their own default=, plus the
    NODE_PARAMETERS table's (read in one loop over it)."""
    names = {
        _first_str_arg(c, "variable_name")
        for c in _calls(tree, "LaunchConfiguration")
        if (_keyword(c, "default") is not None) == with_default
    }
    table = _node_parameters(tree)
    if table and not with_default:
        names.discard(None)
        names |= set(table)
    return names


def _argument_default(tree, name):
    """The default_value node of DeclareLaunchArgument(name, ...)."""
    for call in _calls(tree, "DeclareLaunchArgument"):
        if _first_str_arg(call, "name") == name:
            return _keyword(call, "default_value")
    raise AssertionError(f"no DeclareLaunchArgument({name!r})")


def _parse(path):
    return ast.parse(path.read_text(), filename=str(path))


def _support_functions():
    return {n.name: n for n in _parse(SUPPORT).body if isinstance(n, ast.FunctionDef)}


class _Substitute(ast.NodeTransformer):
    """Every read of a name in `arguments` replaced by (a copy of) the node it maps to."""

    def __init__(self, arguments):
        self.arguments = arguments

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load) and node.id in self.arguments:
            return copy.deepcopy(self.arguments[node.id])
        return node


def _inlined(function, call):
    """A copy of launch_support's `function` with what `call` passes in place of each of its
    parameters (all passed, none rebound inside it, so each read of one is the argument)."""
    spec = function.args
    assert not (spec.vararg or spec.kwarg or spec.defaults or spec.kw_defaults), function.name
    parameters = [a.arg for a in spec.posonlyargs + spec.args + spec.kwonlyargs]
    bound = dict(zip(parameters, call.args, strict=False))
    for kw in call.keywords:
        assert kw.arg in parameters and kw.arg not in bound, ast.unparse(call)
        bound[kw.arg] = kw.value
    assert set(bound) == set(parameters), f"{ast.unparse(call)}: pass every parameter"
    rebound = {
        n.id
        for n in ast.walk(function)
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)
    } | {
        a.arg
        for f in ast.walk(function)
        if isinstance(f, ast.FunctionDef | ast.Lambda) and f is not function
        for a in f.args.posonlyargs + f.args.args + f.args.kwonlyargs
    }
    assert not rebound & set(parameters), f"{function.name} rebinds {rebound & set(parameters)}"
    return _Substitute(bound).visit(copy.deepcopy(function))


def _launch_tree(path):
    """A launch file's AST with every launch_support function it calls (and they call) inlined
    by _inlined and appended to its body: what its launch description is made of."""
    tree = _parse(path)
    support = _support_functions()
    imported = {}  # name in the launch file -> launch_support function
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            modules.append(getattr(node, "module", None) or "")
            if any(m.split(".")[0] == PACKAGE for m in modules):
                assert isinstance(node, ast.ImportFrom) and node.module == SUPPORT_MODULE, (
                    f"{path.name}: import launch_support's functions by name, nothing else of "
                    f"{PACKAGE}: {ast.unparse(node)}"
                )
                for alias in node.names:
                    assert alias.name in support, f"{path.name}: {alias.name} is no function"
                    imported[alias.asname or alias.name] = support[alias.name]
    # (code, the launch_support functions it calls by name): launch_support's functions call
    # each other by their own names.
    pending = [(tree, imported)]
    while pending:
        code, functions = pending.pop()
        for call in [n for n in ast.walk(code) if isinstance(n, ast.Call)]:
            if isinstance(call.func, ast.Name) and call.func.id in functions:
                inlined = _inlined(functions[call.func.id], call)
                tree.body.append(inlined)
                pending.append((inlined, support))
        assert len(tree.body) < 1000, f"{path.name}: launch_support calls itself"
    return tree


def _launch_id(path):
    return path.name


def test_expected_launch_files_exist():
    assert EXPECTED_LAUNCH_FILES <= {p.name for p in LAUNCH_FILES}


def test_launch_support_is_checked_where_the_launch_files_call_it():
    """launch_support is functions only (what _launch_tree inlines is all of it), each one
    called by a launch file (so the checks below read it), and no module of the package imports
    it (it needs launch / launch_ros, which only `ros2 launch` brings)."""
    module = _parse(SUPPORT)
    for stmt in module.body[1:]:
        assert isinstance(stmt, ast.Import | ast.ImportFrom | ast.FunctionDef), ast.unparse(stmt)
    inlined = {
        node.name
        for path in LAUNCH_FILES
        for node in _launch_tree(path).body
        if isinstance(node, ast.FunctionDef) and node.name in _support_functions()
    }
    assert inlined == set(_support_functions())
    for source in sorted((REPO / PACKAGE).rglob("*.py")):
        for node in ast.walk(_parse(source)):
            if isinstance(node, ast.ImportFrom | ast.Import):
                names = [getattr(node, "module", None) or ""] + [a.name for a in node.names]
                assert not any("launch_support" in n for n in names), f"{source} imports it"


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=_launch_id)
def test_launch_file_defines_generate_launch_description(path):
    tree = _parse(path)
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "generate_launch_description" in functions


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=_launch_id)
def test_executables_are_console_scripts(path):
    scripts = _console_scripts()
    for call in _calls(_launch_tree(path), "Node"):
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
    tree = _launch_tree(path)
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
    tree = _launch_tree(path)
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
    tree = _launch_tree(path)
    declared = _declared_arguments(tree)
    used = _used_configurations(tree, with_default=False)
    assert None not in declared, f"{path.name}: argument names must be literals"
    assert None not in used, f"{path.name}: LaunchConfiguration names must be literals"
    assert declared - used == set(), f"{path.name}: declared but never used"
    assert used - declared == set(), f"{path.name}: used but never declared"
    # A LaunchConfiguration with its own default= reads an argument of an included file.
    assert None not in _used_configurations(tree, with_default=True)


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=_launch_id)
def test_node_parameters_are_declared_by_the_node(path):
    """Every parameter a launch file sets is one its node declares (named in the node's
    module), with a type launch_ros's ParameterValue can coerce a string to."""
    tree = _launch_tree(path)
    table = _node_parameters(tree)
    executables = {_keyword(c, "executable").value for c in _calls(tree, "Node")}
    if not table:
        return
    assert len(executables) == 1, f"{path.name}: one node per NODE_PARAMETERS table"
    module = REPO / PACKAGE / "benches" / f"{executables.pop()}.py"
    names = {
        n.value
        for n in ast.walk(_parse(module))
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }
    assert set(table) <= names, f"{path.name}: {set(table) - names} not in {module.name}"
    scalars = ("str", "int", "float", "bool")
    allowed = {*scalars, *(f"list[{t}]" for t in scalars)}
    assert set(table.values()) <= allowed, f"{path.name}: types {set(table.values())}"


def _sets_shipped_fastdds_profile(tree):
    """SetEnvironmentVariable(VAR, EnvironmentVariable(VAR, default_value=<share>/config/...
    fastdds_shm.xml)): the shipped profile unless the user set the variable."""
    var = "FASTRTPS_DEFAULT_PROFILES_FILE"
    for call in _calls(tree, "SetEnvironmentVariable"):
        value = call.args[1] if len(call.args) > 1 else _keyword(call, "value")
        if _first_str_arg(call, "name") != var or not isinstance(value, ast.Call):
            continue
        default = _keyword(value, "default_value")
        if _call_name(value) == "EnvironmentVariable" and _first_str_arg(value, "name") == var:
            return default is not None and _package_share_paths(default) == [
                "config/fastdds_shm.xml"
            ]
    return False


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=_launch_id)
def test_launched_processes_get_the_shipped_fastdds_profile(path):
    tree = _launch_tree(path)
    if _calls(tree, "Node") or _calls(tree, "IncludeLaunchDescription"):
        assert _sets_shipped_fastdds_profile(tree), path.name


def test_robot_config_default_follows_the_robot_source():
    """bringup declares no robot_config and passes none to the mock/sim launch files, so each
    keeps its own default (the config `maniskill-real demo --robot mock|sim` uses)."""
    defaults = {
        "mock_hardware.launch.py": "config/panda.yaml",
        "sim_robot.launch.py": "config/panda_sim.yaml",
    }
    for name, config in defaults.items():
        default = _argument_default(_launch_tree(LAUNCH_DIR / name), "robot_config")
        assert _package_share_paths(default) == [config], name
    bringup = _launch_tree(LAUNCH_DIR / "bringup.launch.py")
    assert "robot_config" not in _declared_arguments(bringup)
    for include in _calls(bringup, "IncludeLaunchDescription"):
        if any(p.endswith(tuple(defaults)) for p in _package_share_paths(include)):
            assert _keyword(include, "launch_arguments") is None, ast.unparse(include)


def test_user_launch_files_may_be_python_xml_or_yaml():
    """Only this package's own launch files are included as Python; robot_bringup and
    camera_launch go through AnyLaunchDescriptionSource."""
    bringup = _launch_tree(LAUNCH_DIR / "bringup.launch.py")
    for source in _calls(bringup, "PythonLaunchDescriptionSource"):
        assert _package_share_paths(source), ast.unparse(source)
    assert len(_calls(bringup, "AnyLaunchDescriptionSource")) == 2


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=_launch_id)
def test_included_package_launch_files_get_only_declared_arguments(path):
    for include in _calls(_launch_tree(path), "IncludeLaunchDescription"):
        targets = [p for p in _package_share_paths(include) if p.endswith(".launch.py")]
        arguments = _keyword(include, "launch_arguments")
        if not targets or arguments is None:
            continue
        assert isinstance(arguments, ast.Call) and isinstance(arguments.func, ast.Attribute)
        mapping = arguments.func.value
        assert isinstance(mapping, ast.Dict), f"{path.name}: use {{...}}.items() for arguments"
        passed = {k.value for k in mapping.keys}
        declared = _declared_arguments(_launch_tree(REPO / targets[0]))
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
    assert _installed_to("config/fastdds_shm.xml") == f"share/{PACKAGE}/config"


def test_configs_ship_inside_the_python_package(tmp_path):
    """A plain (non-editable) pip install must carry config/*.yaml and the Fast DDS profile as
    maniskill_real/_config/, where the package finds them."""
    configs = sorted(p.name for p in (REPO / "config").glob("*.yaml"))
    assert configs, "config/ has no YAML files"
    shipped_files = [*configs, "fastdds_shm.xml"]
    for name in shipped_files:
        assert _installed_to(f"config/{name}") == f"share/{PACKAGE}/config"
    result = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    shipped = sorted(p.name for p in (tmp_path / PACKAGE / "_config").iterdir())
    assert shipped == sorted(shipped_files)
    found = subprocess.run(
        [
            sys.executable,
            "-c",
            "from maniskill_real.config import fastdds_profile; print(fastdds_profile())",
        ],
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == str(tmp_path / PACKAGE / "_config" / "fastdds_shm.xml")
