# Installs spectromine into a fresh prefix, asks pkg-config for its flags and
# builds + runs a one-file consumer with exactly those flags.
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
# A library-only configuration of its own: installing the main build tree
# would need the CLI built first.
execute_process(COMMAND ${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}/lib" -G "${GENERATOR}"
                  -DSPECTROMINE_INSTALL=ON -DSPECTROMINE_BUILD_TESTS=OFF
                  -DSPECTROMINE_BUILD_EXAMPLES=OFF -DSPECTROMINE_BUILD_BENCHMARKS=OFF
                  -DSPECTROMINE_WITH_TIFF=OFF -DSPECTROMINE_WITH_HDF5=OFF
                  -DSPECTROMINE_WITH_PNG=OFF -DSPECTROMINE_WITH_MPI=OFF
                  -DSPECTROMINE_WITH_XRAYLIB=OFF
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the library-only build failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --install "${WORK_DIR}/lib" --prefix "${prefix}"
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()
file(GLOB_RECURSE pc_files "${prefix}/*/spectromine.pc")
list(LENGTH pc_files n)
if(NOT n EQUAL 1)
  message(FATAL_ERROR "expected one installed spectromine.pc, found: ${pc_files}")
endif()
get_filename_component(pc_dir "${pc_files}" DIRECTORY)
# Keep the system directories (eigen3.pc, nlohmann_json.pc) after ours.
set(ENV{PKG_CONFIG_PATH} "${pc_dir}:$ENV{PKG_CONFIG_PATH}")
foreach(query --modversion --cflags --libs)
  execute_process(COMMAND "${PKG_CONFIG}" ${query} spectromine RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config ${query} spectromine failed: ${err}")
  endif()
  set(pc${query} "${out}")
endforeach()
message(STATUS "pkg-config --cflags: ${pc--cflags}")
if(NOT pc--modversion STREQUAL VERSION)
  message(FATAL_ERROR "pkg-config version ${pc--modversion} != project version ${VERSION}")
endif()
file(REAL_PATH "${prefix}/include" inc)
if(NOT pc--cflags MATCHES "-std=c\\+\\+20")
  message(FATAL_ERROR "Cflags lack -std=c++20: ${pc--cflags}")
endif()
# The -I must point into the install prefix, whatever ${pcfiledir} spelling.
string(REGEX MATCHALL "-I[^ ]+" includes "${pc--cflags}")
set(found FALSE)
foreach(i IN LISTS includes)
  string(SUBSTRING "${i}" 2 -1 dir)
  file(REAL_PATH "${dir}" dir)
  if(dir STREQUAL inc)
    set(found TRUE)
  endif()
endforeach()
if(NOT found)
  message(FATAL_ERROR "Cflags ${pc--cflags} do not include ${inc}")
endif()
separate_arguments(cflags UNIX_COMMAND "${pc--cflags}")
separate_arguments(libs UNIX_COMMAND "${pc--libs}")
execute_process(COMMAND "${CXX}" ${cflags} "${SOURCE}" -o "${WORK_DIR}/consumer" ${libs}
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "compiling with pkg-config flags failed:\n${err}")
endif()
execute_process(COMMAND "${WORK_DIR}/consumer" RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message(STATUS "consumer printed: ${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the pkg-config consumer failed (${rc})")
endif()

# A component through pkg-config: the recipe written in cmake/spectromine.pc.in
# (the library's own .pc + -DSPECTROMINE_HAS_<X>=1), for xraylib when the
# machine has libxrl.pc (Debian libxrl-dev).
execute_process(COMMAND "${PKG_CONFIG}" --exists libxrl RESULT_VARIABLE has_xrl)
if(has_xrl EQUAL 0 AND XRAYLIB_SOURCE)
  foreach(query --cflags --libs)
    execute_process(COMMAND "${PKG_CONFIG}" ${query} spectromine libxrl RESULT_VARIABLE rc
                    OUTPUT_VARIABLE out ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "pkg-config ${query} spectromine libxrl failed: ${err}")
    endif()
    separate_arguments(xrl${query} UNIX_COMMAND "${out}")
  endforeach()
  execute_process(COMMAND "${CXX}" ${xrl--cflags} -DSPECTROMINE_HAS_XRAYLIB=1 "${XRAYLIB_SOURCE}"
                          -o "${WORK_DIR}/xraylib_consumer" ${xrl--libs}
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "compiling the xraylib recipe of spectromine.pc failed:\n${err}")
  endif()
  execute_process(COMMAND "${WORK_DIR}/xraylib_consumer" RESULT_VARIABLE rc OUTPUT_VARIABLE out)
  message(STATUS "xraylib consumer printed: ${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the xraylib pkg-config consumer failed (${rc})")
  endif()
else()
  message(STATUS "libxrl.pc not found: the xraylib recipe is not checked")
endif()

# The Conan test_package's CMake project, against the same CMake install
# (its find_package(spectromine CONFIG REQUIRED) + spectromine::spectromine
# must work without Conan too).
execute_process(COMMAND ${CMAKE_COMMAND} -S "${SOURCE_DIR}/packaging/conan/test_package"
                  -B "${WORK_DIR}/test_package" -G "${GENERATOR}" -DCMAKE_PREFIX_PATH=${prefix}
                  -DCMAKE_BUILD_TYPE=Release
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring packaging/conan/test_package failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build "${WORK_DIR}/test_package" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building packaging/conan/test_package failed (${rc})")
endif()
execute_process(COMMAND "${WORK_DIR}/test_package/test_package" RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message(STATUS "test_package printed: ${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "test_package failed (${rc})")
endif()
