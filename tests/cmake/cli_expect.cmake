# Shared checks of the CLI contract tests (cmake -P scripts run by ctest):
# set SPECTROMINE (the binary) and CLI_COMMAND (the subcommand) first.
#   run_ok(name args...)                        exit 0 (run with --quiet)
#   run_fails(name expected-substring args...)  non-zero exit, stderr starts
#                                               with "error: " and holds the
#                                               text, nothing on stdout

function(run_ok name)
  execute_process(COMMAND "${SPECTROMINE}" ${CLI_COMMAND} ${ARGN} --quiet
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name}: exit ${rc}\n${out}\n${err}")
  endif()
endfunction()

function(run_fails name expected)
  execute_process(COMMAND "${SPECTROMINE}" ${CLI_COMMAND} ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0)
    message(FATAL_ERROR "${name}: expected failure, got exit 0\n${out}")
  endif()
  if(NOT err MATCHES "^error: ")
    message(FATAL_ERROR "${name}: stderr does not start with 'error: ':\n${err}")
  endif()
  string(FIND "${err}" "${expected}" at)
  if(at LESS 0)
    message(FATAL_ERROR "${name}: stderr lacks '${expected}':\n${err}")
  endif()
  if(NOT out STREQUAL "")
    message(FATAL_ERROR "${name}: failure printed to stdout:\n${out}")
  endif()
endfunction()
