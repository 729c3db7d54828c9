# CLI contract of `spectromine distinguish` (docs/CLI.md). Run by ctest as
#   cmake -DSPECTROMINE=... -DDATA_DIR=... -DWORK_DIR=... -P distinguish_cli.cmake
cmake_minimum_required(VERSION 3.22)

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(fe "${DATA_DIR}/references/Fe_K")
# The paper's grid: 7009.2 .. 7321.2 eV in 178 points.
set(grid "")
foreach(i RANGE 0 177)
  math(EXPR tenths "70092 + (3120 * ${i}) / 177")
  math(EXPR whole "${tenths} / 10")
  math(EXPR frac "${tenths} % 10")
  string(APPEND grid "${whole}.${frac}\n")
endforeach()
file(WRITE "${WORK_DIR}/energy.txt" "${grid}")
set(E "${WORK_DIR}/energy.txt")

# run_json(name out-var args...): exit 0 and one JSON object on stdout.
function(run_json name var)
  execute_process(COMMAND "${SPECTROMINE}" distinguish ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name}: exit ${rc}\n${out}\n${err}")
  endif()
  string(JSON type ERROR_VARIABLE jerr TYPE "${out}")
  if(NOT type STREQUAL "OBJECT")
    message(FATAL_ERROR "${name}: stdout is not one JSON object (${jerr}):\n${out}")
  endif()
  set(${var} "${out}" PARENT_SCOPE)
endfunction()

set(CLI_COMMAND distinguish)
include("${CMAKE_CURRENT_LIST_DIR}/../cmake/cli_expect.cmake")

function(check_between name value lo hi)
  if(value LESS lo OR value GREATER hi)
    message(FATAL_ERROR "${name} = ${value}, expected within [${lo}, ${hi}]")
  endif()
endfunction()

# 1. Two similar glasses at the paper's conditions: every documented key.
run_json(pair j "${fe}/LW_0.dat" "${fe}/LW_20.dat" --energy "${E}")
foreach(key percent_point_ab percent_point_ba symmetric misclassification_probability c_ref_for_target)
  string(JSON v ERROR_VARIABLE missing GET "${j}" ${key})
  if(missing)
    message(FATAL_ERROR "pair: key ${key} missing:\n${j}")
  endif()
endforeach()
string(JSON ab GET "${j}" percent_point_ab)
string(JSON ba GET "${j}" percent_point_ba)
string(JSON sym GET "${j}" symmetric)
string(JSON need GET "${j}" c_ref_for_target)
string(JSON p GET "${j}" misclassification_probability)
check_between(percent_point_ab "${ab}" 0.1 100)
check_between(percent_point_ba "${ba}" 0.1 100)
check_between(symmetric "${sym}" 0.1 100)
check_between(misclassification_probability "${p}" 0 0.5)
check_between(c_ref_for_target "${need}" 1000 1e12)

# 2. At the c_ref it reports, the symmetric percent point is the 1e-4 point (3.719).
run_json(at_need j2 "${fe}/LW_0.dat" "${fe}/LW_20.dat" --energy "${E}" --c-ref "${need}")
string(JSON sym2 GET "${j2}" symmetric)
check_between(symmetric_at_c_ref_for_target "${sym2}" 3.7189 3.7191)
string(JSON p2 GET "${j2}" misclassification_probability)
check_between(probability_at_c_ref_for_target "${p2}" 0.99e-4 1.01e-4)

# 3. Swapping A and B swaps the directions.
run_json(swapped j3 "${fe}/LW_20.dat" "${fe}/LW_0.dat" --energy "${E}")
string(JSON ab3 GET "${j3}" percent_point_ab)
string(JSON ba3 GET "${j3}" percent_point_ba)
if(NOT ab3 STREQUAL ba OR NOT ba3 STREQUAL ab)
  message(FATAL_ERROR "swapped: ab/ba not exchanged: ${ab3} ${ba3} vs ${ab} ${ba}")
endif()

# 4. A spectrum against itself: indistinguishable at any dose (null).
run_json(self j4 "${fe}/LW_0.dat" "${fe}/LW_0.dat" --energy "${E}")
string(JSON sym4 GET "${j4}" symmetric)
string(JSON need4 TYPE "${j4}" c_ref_for_target)
check_between(self_symmetric "${sym4}" 0 0)
if(NOT need4 STREQUAL "NULL")
  message(FATAL_ERROR "self: c_ref_for_target should be null, is ${need4}")
endif()

# 5. Poisson noise: the required dose is exactly the sqrt(dose) extrapolation.
run_json(poisson j5 "${fe}/LW_0.dat" "${fe}/LW_20.dat" --energy "${E}" --noise poisson --gain 9.3131)
string(JSON n5 GET "${j5}" c_ref_for_target)
string(JSON s5 GET "${j5}" c_ref_for_target_shot_noise_scaling)
string(REGEX REPLACE "\\..*" "" n5i "${n5}")
string(REGEX REPLACE "\\..*" "" s5i "${s5}")
math(EXPR diff "${n5i} - ${s5i}")
check_between(poisson_vs_sqrt_scaling "${diff}" -1 1)

# 6. Bad input: one "error:" line naming the parameter, nothing on stdout.
run_fails(c_ref "c_ref must be finite and > 0" "${fe}/LW_0.dat" "${fe}/LW_20.dat" --energy "${E}" --c-ref -5)
run_fails(mut_high "mut_high" "${fe}/LW_0.dat" "${fe}/LW_20.dat" --energy "${E}" --mut-low 1.0 --mut-high 0.5)
run_fails(missing "no such file" "${fe}/none.dat" "${fe}/LW_20.dat" --energy "${E}")
run_fails(noise "--noise" "${fe}/LW_0.dat" "${fe}/LW_20.dat" --energy "${E}" --noise magic)
run_fails(energy "--energy" "${fe}/LW_0.dat" "${fe}/LW_20.dat")
run_fails(target "--target-probability" "${fe}/LW_0.dat" "${fe}/LW_20.dat" --energy "${E}" --target-probability 0.7)
run_fails(low_counts "scmos_noise: counts" "${fe}/LW_0.dat" "${fe}/LW_20.dat" --energy "${E}" --c-ref 20 --mut-high 3)
message(STATUS "distinguish CLI: all checks passed")
