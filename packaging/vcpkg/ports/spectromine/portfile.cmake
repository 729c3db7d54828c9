# vcpkg port of spectromine (header-only). Use as an overlay port:
#   vcpkg install spectromine[hdf5,tiff] --overlay-ports=packaging/vcpkg/ports
# Set SPECTROMINE_SOURCE_DIR in the environment to package a local checkout
# (as CI does); otherwise the release tarball is downloaded.
set(VCPKG_BUILD_TYPE release)  # header-only: one configuration is enough

if(DEFINED ENV{SPECTROMINE_SOURCE_DIR})
  set(SOURCE_PATH "$ENV{SPECTROMINE_SOURCE_DIR}")
else()
  vcpkg_from_github(
    OUT_SOURCE_PATH SOURCE_PATH
    REPO spectromine/spectromine
    REF "v${VERSION}"
    SHA512 0  # filled in at release time
    HEAD_REF main)
endif()

# Each feature is one CMake component: SPECTROMINE_WITH_<X> -> spectromine::<x>.
vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS
  FEATURES
    hdf5 SPECTROMINE_WITH_HDF5
    mpi  SPECTROMINE_WITH_MPI
    png  SPECTROMINE_WITH_PNG
    tiff SPECTROMINE_WITH_TIFF
    xraylib SPECTROMINE_WITH_XRAYLIB)  # system xraylib (no vcpkg port): libxrl-dev

vcpkg_cmake_configure(
  SOURCE_PATH "${SOURCE_PATH}"
  OPTIONS
    ${FEATURE_OPTIONS}
    -DSPECTROMINE_BUILD_TESTS=OFF
    -DSPECTROMINE_BUILD_EXAMPLES=OFF
    -DSPECTROMINE_BUILD_BENCHMARKS=OFF
    -DSPECTROMINE_INSTALL=ON)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(PACKAGE_NAME spectromine CONFIG_PATH share/cmake/spectromine)
# CMake drops a component whose library it cannot find (mpi, xraylib) with a
# status message only: a requested feature must not vanish silently.
foreach(feature IN LISTS FEATURES)
  if(NOT feature STREQUAL "core" AND NOT EXISTS "${CURRENT_PACKAGES_DIR}/share/spectromine/spectromine_${feature}Targets.cmake")
    message(FATAL_ERROR "spectromine[${feature}]: the component was not built (its library was not found; "
                        "for xraylib install the system package, e.g. Debian libxrl-dev)")
  endif()
endforeach()
vcpkg_fixup_pkgconfig()

file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug" "${CURRENT_PACKAGES_DIR}/lib")
file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
if(EXISTS "${SOURCE_PATH}/LICENSE")
  vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
else()
  vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/README.md")
endif()
