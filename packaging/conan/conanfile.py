# Conan 2 recipe for spectromine, a header-only C++20 library.
#   conan create packaging/conan --build=missing -o "spectromine/*:with_hdf5=True"
# The recipe lives in packaging/conan/ and exports the repository root
# (include/, cmake/, CMakeLists.txt). Options map one to one onto the CMake
# components spectromine::tiff / ::hdf5 / ::png / ::mpi / ::xraylib
# (SPECTROMINE_WITH_*). xraylib has no ConanCenter recipe: with_xraylib uses
# the system's (Debian/Ubuntu libxrl-dev, Fedora xraylib-devel, or any
# libxrl.pc on PKG_CONFIG_PATH), the way ConanCenter's */system recipes do.
import os

from conan import ConanFile
from conan.tools.build import check_min_cppstd
from conan.tools.files import copy
from conan.tools.gnu import PkgConfig
from conan.tools.layout import basic_layout
from conan.tools.system.package_manager import Apt, Dnf

required_conan_version = ">=2.0"


class SpectromineConan(ConanFile):
    name = "spectromine"
    version = "0.1.0"  # tests/packaging/check_recipes.py: must equal project(VERSION)
    description = ("Header-only C++20 library turning X-ray spectro-microscopy images "
                   "into chemical phase maps (DBSCAN and noise-calibrated Voronoi routes)")
    license = "MIT"
    url = "https://example.invalid/spectromine"
    homepage = "https://example.invalid/spectromine"
    topics = ("xanes", "spectro-microscopy", "clustering", "header-only")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    # option -> (CMake component, Conan requirement, its CMake/Conan target)
    options = {
        "with_tiff": [True, False],
        "with_hdf5": [True, False],
        "with_png": [True, False],
        "with_mpi": [True, False],
        "with_xraylib": [True, False],
    }
    default_options = {
        "with_tiff": True,
        "with_hdf5": False,
        "with_png": True,
        "with_mpi": False,
        "with_xraylib": False,
    }
    no_copy_source = True

    def export_sources(self):
        root = os.path.join(self.recipe_folder, "..", "..")
        copy(self, "include/*", root, self.export_sources_folder)
        copy(self, "cmake/*", root, self.export_sources_folder)
        copy(self, "CMakeLists.txt", root, self.export_sources_folder)
        copy(self, "LICENSE*", root, self.export_sources_folder)

    def layout(self):
        basic_layout(self, src_folder=".")

    def requirements(self):
        # Header-only: every dependency is visible to consumers (transitive headers).
        self.requires("eigen/3.4.0", transitive_headers=True)
        self.requires("boost/1.83.0", transitive_headers=True)  # headers: random, math, geometry
        self.requires("nlohmann_json/3.11.3", transitive_headers=True)
        if self.options.with_tiff:
            self.requires("libtiff/4.6.0", transitive_headers=True)
        if self.options.with_hdf5:
            self.requires("hdf5/1.14.3", transitive_headers=True)
        if self.options.with_png:
            self.requires("libpng/1.6.43", transitive_headers=True)
        if self.options.with_mpi:
            self.requires("openmpi/4.1.6", transitive_headers=True)
        # with_xraylib: a system library, see system_requirements().

    def system_requirements(self):
        # MBACK's cross-sections (preprocess/mback.hpp): xraylib from the
        # system package manager; consumers find it through its libxrl.pc.
        if self.options.with_xraylib:
            Apt(self).install(["libxrl-dev"], update=True, check=True)
            Dnf(self).install(["xraylib-devel"], update=True, check=True)

    def validate(self):
        check_min_cppstd(self, 20)

    def package_id(self):
        # The headers do not depend on settings; options only choose requirements.
        self.info.clear()

    def package(self):
        copy(self, "LICENSE*", self.source_folder, os.path.join(self.package_folder, "licenses"))
        copy(self, "*.hpp", os.path.join(self.source_folder, "include"),
             os.path.join(self.package_folder, "include"))

    def package_info(self):
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []
        # find_package(spectromine CONFIG REQUIRED) + target spectromine::spectromine,
        # exactly as the CMake package installed by `cmake --install`.
        self.cpp_info.set_property("cmake_file_name", "spectromine")
        self.cpp_info.set_property("cmake_target_name", "spectromine::spectromine")
        self.cpp_info.set_property("pkg_config_name", "spectromine")

        core = self.cpp_info.components["core"]
        core.set_property("cmake_target_name", "spectromine::spectromine")
        core.set_property("pkg_config_name", "spectromine")
        core.bindirs = []
        core.libdirs = []
        core.requires = ["eigen::eigen", "boost::headers", "nlohmann_json::nlohmann_json"]
        if self.settings.os in ("Linux", "FreeBSD"):
            core.system_libs = ["pthread"]

        components = {
            "tiff": ("with_tiff", "SPECTROMINE_HAS_TIFF", ["libtiff::libtiff"]),
            "hdf5": ("with_hdf5", "SPECTROMINE_HAS_HDF5", ["hdf5::hdf5_c"]),
            "png": ("with_png", "SPECTROMINE_HAS_PNG", ["libpng::libpng"]),
            "mpi": ("with_mpi", "SPECTROMINE_HAS_MPI", ["openmpi::openmpi"]),
            "xraylib": ("with_xraylib", "SPECTROMINE_HAS_XRAYLIB", []),  # system: filled below
        }
        for name, (option, define, requires) in components.items():
            if not self.options.get_safe(option):
                continue
            c = self.cpp_info.components[name]
            c.bindirs = []
            c.libdirs = []
            if name == "xraylib":
                # -I<prefix>/include/xraylib (mback.hpp includes <xraylib.h>),
                # -L and -lxrl from the system's libxrl.pc. fill_cpp_info
                # overwrites defines/includedirs/libdirs: it goes first.
                PkgConfig(self, "libxrl").fill_cpp_info(c, is_system=True)
            c.set_property("cmake_target_name", f"spectromine::{name}")
            c.set_property("pkg_config_name", f"spectromine-{name}")
            c.defines = c.defines + [f"{define}=1"]
            c.requires = ["core"] + requires
