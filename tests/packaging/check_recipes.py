#!/usr/bin/python3
"""Static validation of packaging/conan and packaging/vcpkg (no registry access).

Usage: check_recipes.py REPO_ROOT. Checks:
  * the Conan recipe (parsed with ast, never executed) and vcpkg.json carry the
    version of project(spectromine VERSION ...) in the top-level CMakeLists.txt;
  * every Conan option with_<x> and every vcpkg feature <x> is a CMake
    component (option SPECTROMINE_WITH_<X> + spectromine_component(<x> ...)),
    and every CMake component has both;
  * the recipe is a Conan 2 header-library exposing spectromine::spectromine
    and spectromine::<x> targets; its test_package uses CMakeDeps +
    CMakeToolchain and find_package(spectromine CONFIG REQUIRED);
  * the vcpkg portfile uses vcpkg_cmake_configure / _install / _config_fixup
    and maps every feature onto SPECTROMINE_WITH_<X>;
  * every component has a Debian package in scripts/setup-debian.sh (table
    DEBIAN below: a new component must be added there), a branch in
    cmake/spectromineConfig.cmake.in, a pkg-config line in
    cmake/spectromine.pc.in, and is named in the vcpkg usage file;
  * a component that is a system library (no Conan requirement, e.g. xraylib:
    ConanCenter and vcpkg have no recipe) is installed by the recipe's
    system_requirements() with that Debian package, and its vcpkg feature
    declares no vcpkg dependency that does not exist;
  * the recipe's requirements() / system_requirements() / package_info() run
    under minimal stand-ins of the conan API (options all off, all on): the
    components, targets, SPECTROMINE_HAS_<X> defines and, for xraylib, the
    flags of the real libxrl.pc come out as a Conan consumer would see them.
"""
import ast
import json
import pathlib
import re
import sys

errors = []

# Each CMake component -> (Debian -dev package, its pkg-config module).
DEBIAN = {
    "tiff": ("libtiff-dev", "libtiff-4"),
    "hdf5": ("libhdf5-dev", "hdf5"),
    "png": ("libpng-dev", "libpng"),
    "mpi": ("libopenmpi-dev", "ompi-c"),
    "xraylib": ("libxrl-dev", "libxrl"),
}
# Components that no package registry carries: the system's library.
SYSTEM_ONLY = {"xraylib"}


def check(cond, message):
    if not cond:
        errors.append(message)


root = pathlib.Path(sys.argv[1])
cmake = (root / "CMakeLists.txt").read_text()
m = re.search(r"project\(\s*spectromine\b[^)]*?\bVERSION\s+([0-9][0-9.]*)", cmake, re.S)
check(m is not None, "CMakeLists.txt: no project(spectromine VERSION ...)")
version = m.group(1) if m else None
components = set(re.findall(r"spectromine_component\(\s*(\w+)", cmake))
with_options = {o.lower() for o in re.findall(r"option\(\s*SPECTROMINE_WITH_(\w+)", cmake)}
check(components, "CMakeLists.txt: no spectromine_component(...) calls found")
check(components == with_options,
      f"CMakeLists.txt: components {sorted(components)} != SPECTROMINE_WITH_ options {sorted(with_options)}")

# ---------------------------------------------------------------- Conan
conan_dir = root / "packaging" / "conan"
tree = ast.parse((conan_dir / "conanfile.py").read_text(), "conanfile.py")
recipe = next((n for n in tree.body if isinstance(n, ast.ClassDef)
               and any(getattr(b, "id", None) == "ConanFile" for b in n.bases)), None)
check(recipe is not None, "conanfile.py: no class deriving from ConanFile")
attrs = {}
methods = {}
if recipe is not None:
    for node in recipe.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                attrs[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
        elif isinstance(node, ast.FunctionDef):
            methods[node.name] = ast.get_source_segment((conan_dir / "conanfile.py").read_text(), node)
check(attrs.get("name") == "spectromine", f"conanfile.py: name is {attrs.get('name')!r}")
check(attrs.get("version") == version, f"conanfile.py: version {attrs.get('version')!r} != CMake {version!r}")
check(attrs.get("package_type") == "header-library",
      f"conanfile.py: package_type {attrs.get('package_type')!r} != 'header-library'")
options = attrs.get("options", {})
defaults = attrs.get("default_options", {})
conan_components = set()
for opt in options:
    mm = re.fullmatch(r"with_(\w+)", opt)
    check(mm is not None, f"conanfile.py: option {opt!r} is not with_<component>")
    if mm:
        conan_components.add(mm.group(1))
    check(opt in defaults, f"conanfile.py: option {opt!r} has no default")
check(conan_components == components,
      f"conanfile.py: options cover {sorted(conan_components)}, CMake components are {sorted(components)}")
for needed in ("requirements", "package", "package_info", "package_id", "validate"):
    check(needed in methods, f"conanfile.py: method {needed}() missing")
reqs = " ".join(methods.get("requirements", "").split())
for dep in ("eigen/", "boost/", "nlohmann_json/"):
    check(dep in reqs, f"conanfile.py: requirements() lacks {dep}")
sysreqs = " ".join(methods.get("system_requirements", "").split())
for comp in components:
    if comp in SYSTEM_ONLY:
        check(f"options.with_{comp}" in sysreqs,
              f"conanfile.py: system_requirements() ignores option with_{comp}")
        if comp in DEBIAN:
            check(f'"{DEBIAN[comp][0]}"' in sysreqs,
                  f"conanfile.py: system_requirements() does not install {DEBIAN[comp][0]}")
    else:
        check(f'"with_{comp}"' in reqs or f"options.with_{comp}" in reqs,
              f"conanfile.py: requirements() ignores option with_{comp}")
info = methods.get("package_info", "")
check('"spectromine::spectromine"' in info, "conanfile.py: package_info() lacks target spectromine::spectromine")
check('"cmake_file_name", "spectromine"' in info, "conanfile.py: package_info() lacks cmake_file_name spectromine")
check('f"spectromine::{name}"' in info or all(f'"spectromine::{c}"' in info for c in components),
      "conanfile.py: package_info() does not name spectromine::<component> targets")
for comp in components:
    check(f'"{comp}"' in info and f"SPECTROMINE_HAS_{comp.upper()}" in info,
          f"conanfile.py: package_info() lacks component {comp} / SPECTROMINE_HAS_{comp.upper()}")

tp = conan_dir / "test_package"
tp_recipe = (tp / "conanfile.py").read_text()
ast.parse(tp_recipe, "test_package/conanfile.py")
check("CMakeDeps" in tp_recipe and "CMakeToolchain" in tp_recipe,
      "test_package/conanfile.py: generators must be CMakeDeps + CMakeToolchain")
check("tested_reference_str" in tp_recipe, "test_package/conanfile.py: does not require tested_reference_str")
tp_cmake = (tp / "CMakeLists.txt").read_text()
check(re.search(r"find_package\(\s*spectromine\s+CONFIG\s+REQUIRED", tp_cmake) is not None,
      "test_package/CMakeLists.txt: no find_package(spectromine CONFIG REQUIRED)")
check("spectromine::spectromine" in tp_cmake, "test_package/CMakeLists.txt: does not link spectromine::spectromine")
for src in re.findall(r"add_executable\(\s*\w+\s+([^)]+)\)", tp_cmake):
    for f in src.split():
        check((tp / f).exists(), f"test_package: source {f} missing")

# ---------------------------------------------------------------- vcpkg
port = root / "packaging" / "vcpkg" / "ports" / "spectromine"
manifest = json.loads((port / "vcpkg.json").read_text())
check(manifest.get("name") == "spectromine", f"vcpkg.json: name {manifest.get('name')!r}")
vcpkg_version = manifest.get("version") or manifest.get("version-semver") or manifest.get("version-string")
check(vcpkg_version == version, f"vcpkg.json: version {vcpkg_version!r} != CMake {version!r}")
features = set(manifest.get("features", {}))
check(features == components, f"vcpkg.json: features {sorted(features)} != CMake components {sorted(components)}")
for f in manifest.get("default-features", []):
    check((f if isinstance(f, str) else f.get("name")) in features, f"vcpkg.json: default feature {f} undefined")
dep_names = {d if isinstance(d, str) else d["name"] for d in manifest.get("dependencies", [])}
for dep in ("eigen3", "nlohmann-json", "vcpkg-cmake", "vcpkg-cmake-config"):
    check(dep in dep_names, f"vcpkg.json: dependency {dep} missing")
check(any(d.startswith("boost-") for d in dep_names), "vcpkg.json: no boost-* dependency")
portfile = (port / "portfile.cmake").read_text()
for call in ("vcpkg_cmake_configure", "vcpkg_cmake_install", "vcpkg_cmake_config_fixup"):
    check(re.search(call + r"\s*\(", portfile) is not None, f"portfile.cmake: {call}() not called")
check("CONFIG_PATH share/cmake/spectromine" in portfile,
      "portfile.cmake: config fixup must point at share/cmake/spectromine (the install layout)")
check("share/cmake/spectromine" in cmake or "${CMAKE_INSTALL_DATADIR}/cmake/spectromine" in cmake,
      "CMakeLists.txt: config install dir changed; update the portfile")
for comp in components:
    check(re.search(rf"\b{comp}\s+SPECTROMINE_WITH_{comp.upper()}\b", portfile) is not None,
          f"portfile.cmake: feature {comp} not mapped to SPECTROMINE_WITH_{comp.upper()}")
check((port / "usage").exists(), "vcpkg port: usage file missing")
usage = (port / "usage").read_text() if (port / "usage").exists() else ""
m = re.search(r"COMPONENTS([^\]\)]*)", usage)
check(m is not None and set(m.group(1).split()) == components,
      f"vcpkg usage: COMPONENTS list {m.group(1).split() if m else None} != {sorted(components)}")
for comp in components & SYSTEM_ONLY:
    deps = manifest.get("features", {}).get(comp, {}).get("dependencies", [])
    check(not deps, f"vcpkg.json: feature {comp} is a system library; it lists vcpkg dependencies {deps}")

# ------------------------------------------ Debian, CMake config, pkg-config
setup = (root / "scripts" / "setup-debian.sh").read_text()
config = (root / "cmake" / "spectromineConfig.cmake.in").read_text()
pc = (root / "cmake" / "spectromine.pc.in").read_text()
for comp in sorted(components):
    check(comp in DEBIAN, f"check_recipes.py: component {comp} has no Debian package in DEBIAN; add it")
    if comp not in DEBIAN:
        continue
    deb, module = DEBIAN[comp]
    check(re.search(rf"(^|\s){re.escape(deb)}(\s|$)", setup, re.M) is not None,
          f"scripts/setup-debian.sh: {deb} (component {comp}) not installed")
    check(f'_spectromine_comp STREQUAL "{comp}"' in config,
          f"cmake/spectromineConfig.cmake.in: no branch finding the dependencies of {comp}")
    check(re.search(rf"^#\s+{comp}:.*pkg-config --cflags --libs {re.escape(module)}\).*"
                    rf"-DSPECTROMINE_HAS_{comp.upper()}=1", pc, re.M) is not None,
          f"cmake/spectromine.pc.in: no '{comp}: $(pkg-config --cflags --libs {module}) "
          f"-DSPECTROMINE_HAS_{comp.upper()}=1' line")
m = re.search(r"COMPONENTS ([a-z0-9 ]+)\]", config)
check(m is not None and set(m.group(1).split()) == components,
      f"cmake/spectromineConfig.cmake.in: header COMPONENTS list {m.group(1).split() if m else None} "
      f"!= {sorted(components)}")

# ------------------------------------- the Conan recipe, run under stand-ins
# Conan is not installed here: run requirements(), system_requirements() and
# package_info() against minimal stand-ins of the conan API they call, with
# every option off and every option on. PkgConfig runs the real pkg-config
# and, like Conan's, fill_cpp_info() OVERWRITES defines / includedirs /
# libdirs (so a recipe that sets the define first loses it: caught here).
import shutil
import subprocess
import types


class _CppInfo:
    def __init__(self):
        self.includedirs, self.libdirs, self.bindirs = ["include"], ["lib"], ["bin"]
        self.defines, self.requires, self.system_libs, self.libs = [], [], [], []
        self.cflags, self.cxxflags, self.sharedlinkflags, self.exelinkflags = [], [], [], []
        self.properties, self._components = {}, {}

    def set_property(self, key, value):
        self.properties[key] = value

    @property
    def components(self):
        return _Components(self._components)


class _Components:
    def __init__(self, store):
        self._store = store

    def __getitem__(self, name):
        return self._store.setdefault(name, _CppInfo())


class _PkgConfig:
    def __init__(self, conanfile, library, pkg_config_path=None):
        self.library = library

    def _q(self, flag):
        out = subprocess.run(["pkg-config", flag, self.library], capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"pkg-config {flag} {self.library}: {out.stderr.strip()}")
        return out.stdout.split()

    def fill_cpp_info(self, cpp_info, is_system=True, system_libs=None):
        libs = [f[2:] for f in self._q("--libs-only-l")]
        cpp_info.system_libs = libs if is_system else []
        cpp_info.libdirs = [f[2:] for f in self._q("--libs-only-L")]
        cpp_info.defines = [f[2:] for f in self._q("--cflags-only-other") if f.startswith("-D")]
        cpp_info.includedirs = [f[2:] for f in self._q("--cflags-only-I")]
        cpp_info.cflags = cpp_info.cxxflags = [f for f in self._q("--cflags-only-other") if not f.startswith("-D")]


installed_system_packages = []


class _PackageManager:
    def __init__(self, conanfile):
        pass

    def install(self, packages, update=False, check=True):
        installed_system_packages.extend((type(self).__name__, p) for p in packages)


def _module(name, **attrs):
    mod = types.ModuleType(name)
    mod.__dict__.update(attrs)
    sys.modules[name] = mod
    return mod


class _ConanFile:
    pass


_module("conan", ConanFile=_ConanFile)
_module("conan.tools")
_module("conan.tools.build", check_min_cppstd=lambda *a, **k: None, can_run=lambda *a: True)
_module("conan.tools.files", copy=lambda *a, **k: None, load=lambda *a, **k: "")
_module("conan.tools.gnu", PkgConfig=_PkgConfig)
_module("conan.tools.layout", basic_layout=lambda *a, **k: None)
_module("conan.tools.system")
_module("conan.tools.system.package_manager", Apt=type("Apt", (_PackageManager,), {}),
        Dnf=type("Dnf", (_PackageManager,), {}), Brew=type("Brew", (_PackageManager,), {}),
        Yum=type("Yum", (_PackageManager,), {}), PacMan=type("PacMan", (_PackageManager,), {}))


class _Options:
    def __init__(self, values):
        self.__dict__.update(values)

    def get_safe(self, name):
        return getattr(self, name, None)


has_pkg_config = shutil.which("pkg-config") is not None
namespace = {}
try:
    exec(compile((conan_dir / "conanfile.py").read_text(), "conanfile.py", "exec"), namespace)
except Exception as e:  # noqa: BLE001 - any failure is a finding
    check(False, f"conanfile.py: does not import under the conan stand-ins: {e!r}")
recipe_cls = next((v for v in namespace.values() if isinstance(v, type) and issubclass(v, _ConanFile)
                   and v is not _ConanFile), None)
for all_on in (False, True):
    if recipe_cls is None:
        break
    if all_on and "xraylib" in components and not (has_pkg_config and subprocess.run(
            ["pkg-config", "--exists", "libxrl"]).returncode == 0):
        print("note: libxrl.pc not found: the with_xraylib=True run of package_info() is skipped")
        continue
    r = recipe_cls.__new__(recipe_cls)
    r.options = _Options({o: all_on for o in options})
    r.settings = types.SimpleNamespace(os="Linux", arch="x86_64", compiler="gcc", build_type="Release")
    r.cpp_info = _CppInfo()
    required = []
    r.requires = lambda ref, **kw: required.append(ref.split("/")[0])
    del installed_system_packages[:]
    label = "all options on" if all_on else "all options off"
    try:
        r.requirements()
        if hasattr(r, "system_requirements"):
            r.system_requirements()
        r.package_info()
    except Exception as e:  # noqa: BLE001
        check(False, f"conanfile.py ({label}): {e!r}")
        continue
    comps = r.cpp_info._components
    expected = {"core"} | (components if all_on else set())
    check(set(comps) == expected, f"conanfile.py ({label}): components {sorted(comps)} != {sorted(expected)}")
    for name, c in comps.items():
        want = "spectromine::spectromine" if name == "core" else f"spectromine::{name}"
        check(c.properties.get("cmake_target_name") == want,
              f"conanfile.py ({label}): component {name} has target {c.properties.get('cmake_target_name')!r}")
        if name == "core":
            continue
        check(f"SPECTROMINE_HAS_{name.upper()}=1" in c.defines,
              f"conanfile.py ({label}): component {name} lacks define SPECTROMINE_HAS_{name.upper()}=1 "
              f"(has {c.defines})")
        check("core" in c.requires, f"conanfile.py ({label}): component {name} does not require core")
        if name in SYSTEM_ONLY and name in DEBIAN:
            pc = _PkgConfig(None, DEBIAN[name][1])
            for inc in (f[2:] for f in pc._q("--cflags-only-I")):
                check(inc in c.includedirs, f"conanfile.py ({label}): {name} lacks include dir {inc}")
            for lib in (f[2:] for f in pc._q("--libs-only-l")):
                check(lib in c.system_libs, f"conanfile.py ({label}): {name} lacks system lib {lib}")
            check(("Apt", DEBIAN[name][0]) in installed_system_packages,
                  f"conanfile.py ({label}): system_requirements() does not apt-install {DEBIAN[name][0]}")
    if not all_on:
        check(not installed_system_packages,
              f"conanfile.py ({label}): system_requirements() installs {installed_system_packages}")
    check({"eigen", "boost", "nlohmann_json"} <= set(required),
          f"conanfile.py ({label}): requirements() requires {required}")
    extra = len(required) - 3
    want_extra = len(components - SYSTEM_ONLY) if all_on else 0
    check(extra == want_extra, f"conanfile.py ({label}): {extra} component requirements, expected {want_extra}")

if errors:
    print("packaging checks FAILED:")
    for e in errors:
        print("  " + e)
    sys.exit(1)
print(f"packaging checks passed: version {version}, components {sorted(components)}")
