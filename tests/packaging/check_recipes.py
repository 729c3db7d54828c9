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
    and maps every feature onto SPECTROMINE_WITH_<X>.
"""
import ast
import json
import pathlib
import re
import sys

errors = []


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
for comp in components:
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

if errors:
    print("packaging checks FAILED:")
    for e in errors:
        print("  " + e)
    sys.exit(1)
print(f"packaging checks passed: version {version}, components {sorted(components)}")
