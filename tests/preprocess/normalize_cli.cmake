# CLI contract of `spectromine normalize` (docs/CLI.md): outputs and errors.
# Run by ctest as cmake -DSPECTROMINE=... -DDATA_DIR=... -DWORK_DIR=... -P normalize_cli.cmake
cmake_minimum_required(VERSION 3.22)

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(spectrum "${DATA_DIR}/references/Fe_K/Hercynite.dat")
set(cube "${DATA_DIR}/demo/cube.npy")
set(energy "${DATA_DIR}/demo/energy.txt")

set(CLI_COMMAND normalize)
include("${CMAKE_CURRENT_LIST_DIR}/../cmake/cli_expect.cmake")

function(require_absent name path)
  if(EXISTS "${path}")
    message(FATAL_ERROR "${name}: ${path} was written by a failed run")
  endif()
endfunction()

# 1. A spectrum with larch's windows of data/larch/Fe_K/Hercynite.norm2.dat:
# the header carries larch's e0 and edge step, the columns its norm.
run_ok(spectrum --input "${spectrum}" --out "${WORK_DIR}/h.dat" --pre -53.95 -30 --post 50 300)
file(STRINGS "${WORK_DIR}/h.dat" lines)
list(LENGTH lines n)
file(STRINGS "${spectrum}" input_lines REGEX "^[0-9]")
list(LENGTH input_lines n_in)
math(EXPR expected "${n_in} + 4")
if(NOT n EQUAL expected)
  message(FATAL_ERROR "h.dat has ${n} lines, expected ${expected} (4 header lines + ${n_in} rows)")
endif()
list(GET lines 1 e0_line)
list(GET lines 2 step_line)
list(GET lines 3 columns_line)
if(NOT e0_line MATCHES "e0=7127\\.619" OR NOT e0_line MATCHES "nnorm=2")
  message(FATAL_ERROR "h.dat e0 line differs from larch's e0=7127.6197: ${e0_line}")
endif()
if(NOT step_line MATCHES "^# edge_step=1\\.02614")
  message(FATAL_ERROR "h.dat edge step differs from larch's 1.026142: ${step_line}")
endif()
if(NOT columns_line STREQUAL "# energy norm flat")
  message(FATAL_ERROR "h.dat column header: ${columns_line}")
endif()
list(GET lines 4 first_row)   # larch: 7068.6681 norm 0.00072546532
list(GET lines 149 row_146)   # larch: 7279.3314 norm 0.95294104
if(NOT first_row MATCHES "^7068\\.6681 0\\.00072546(5|4)" OR
   NOT row_146 MATCHES "^7279\\.3314 0\\.952941")
  message(FATAL_ERROR "h.dat norm differs from larch's:\n${first_row}\n${row_146}")
endif()

# 2. A cube, with the normalized-pixel mask beside it.
run_ok(cube --input "${cube}" --energy "${energy}" --out "${WORK_DIR}/c.npy"
       --mask-out "${WORK_DIR}/m.npy")
foreach(f c.npy m.npy)
  if(NOT EXISTS "${WORK_DIR}/${f}")
    message(FATAL_ERROR "cube: ${f} missing")
  endif()
endforeach()
file(SIZE "${WORK_DIR}/c.npy" cube_bytes)
file(SIZE "${cube}" input_bytes)
if(NOT cube_bytes EQUAL input_bytes)  # float32 in, float32 out, same shape
  message(FATAL_ERROR "c.npy is ${cube_bytes} bytes, the input ${input_bytes}")
endif()

# 3. The cube and its mask are written together or not at all.
run_fails(mask_out_unwritable "does not exist" --input "${cube}" --energy "${energy}"
          --out "${WORK_DIR}/c2.npy" --mask-out "${WORK_DIR}/no_such_folder/m.npy")
require_absent(mask_out_unwritable "${WORK_DIR}/c2.npy")

# 4. Bad arguments: a clear error naming the option and value, no output.
set(c --input "${cube}" --energy "${energy}" --out "${WORK_DIR}/bad.npy")
run_fails(post_order "--post-order must be 1 or 2 (got 3)" ${c} --post-order 3)
run_fails(method "--method must be pre_edge or mback (got \"foo\")" ${c} --method foo)
run_fails(element "--element applies to --method mback only" ${c} --element Fe)
run_fails(mback_element "--element is required with --method mback" ${c} --method mback)
run_fails(e0_per_pixel "--e0 cannot be combined with --e0-per-pixel (got 7120)" ${c}
          --e0 7120 --e0-per-pixel)
run_fails(axes "--axes must be hwe or ehw (got \"xyz\")" ${c} --axes xyz)
run_fails(mask_missing "nothere.npy: no such file" ${c} --mask "${WORK_DIR}/nothere.npy")
run_fails(no_energy "--energy is required for a cube input" --input "${cube}"
          --out "${WORK_DIR}/bad.npy")
run_fails(energy_for_spectrum "--energy applies to cubes only" --input "${spectrum}"
          --energy "${energy}" --out "${WORK_DIR}/bad.dat")
run_fails(spectrum_per_pixel "--e0-per-pixel applies to cubes only" --input "${spectrum}"
          --e0-per-pixel --out "${WORK_DIR}/bad.dat")
require_absent(bad_arguments "${WORK_DIR}/bad.npy")
require_absent(bad_arguments "${WORK_DIR}/bad.dat")
