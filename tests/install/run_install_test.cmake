# Installs spectromine into a fresh prefix and builds + runs tests/install/consumer.
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}"
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()
foreach(f include/spectromine/spectromine.hpp share/cmake/spectromine/spectromineConfig.cmake
          share/cmake/spectromine/spectromineConfigVersion.cmake)
  if(NOT EXISTS "${prefix}/${f}")
    message(FATAL_ERROR "install is missing ${f}")
  endif()
endforeach()
execute_process(COMMAND ${CMAKE_COMMAND} -S "${SOURCE_DIR}/tests/install/consumer"
                  -B "${WORK_DIR}/build" -G "${GENERATOR}" -DCMAKE_PREFIX_PATH=${prefix}
                  -DCMAKE_BUILD_TYPE=Release
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the consumer failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build "${WORK_DIR}/build" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the consumer failed (${rc})")
endif()
execute_process(COMMAND "${WORK_DIR}/build/consumer" RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message(STATUS "consumer printed: ${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the consumer failed (${rc})")
endif()

# examples/embed on its own against the same prefix: the program
# docs/user_guide.md ("Embedding") and README.md show, built the way a user
# builds it (find_package + spectromine::spectromine) and run on the demo cube.
execute_process(COMMAND ${CMAKE_COMMAND} -S "${SOURCE_DIR}/examples/embed"
                  -B "${WORK_DIR}/embed" -G "${GENERATOR}" -DCMAKE_PREFIX_PATH=${prefix}
                  -DCMAKE_BUILD_TYPE=Release
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring examples/embed against the install failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build "${WORK_DIR}/embed" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building examples/embed against the install failed (${rc})")
endif()
file(MAKE_DIRECTORY "${WORK_DIR}/embed_out")
execute_process(COMMAND "${WORK_DIR}/embed/example_embed" "${SOURCE_DIR}/data/demo/cube.npy"
                        "${SOURCE_DIR}/data/demo/energy.txt" "${WORK_DIR}/embed_out"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message(STATUS "example_embed printed: ${out}")
if(NOT rc EQUAL 0 OR NOT EXISTS "${WORK_DIR}/embed_out/summary.json"
   OR NOT EXISTS "${WORK_DIR}/embed_out/mean_spectrum.csv")
  message(FATAL_ERROR "example_embed against the install failed (${rc})")
endif()
