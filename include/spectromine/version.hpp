// spectromine/version.hpp: the library version.
// Kept in step with project(VERSION) in the top-level CMakeLists.txt; a test
// (tests/core/version.cpp) fails when the two disagree.
#pragma once

#define SPECTROMINE_VERSION_MAJOR 0
#define SPECTROMINE_VERSION_MINOR 1
#define SPECTROMINE_VERSION_PATCH 0
#define SPECTROMINE_VERSION_STRING "0.1.0"

namespace spectromine {
inline constexpr const char* version_string = SPECTROMINE_VERSION_STRING;
}  // namespace spectromine
