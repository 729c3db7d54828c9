// The cube files users hand the spectromine command are untrusted input:
// every command that reads one builds its source options here, so each HDF5
// input is opened in a child process before this one touches it
// (io::cube_source_options::isolate_hdf5). A corrupt file that crashes
// libhdf5 is then a one-line "error:" naming the file, as docs/CLI.md
// promises for bad input, not a segmentation fault.
#pragma once

#include <string>
#include <string_view>

#include "spectromine/error.hpp"
#include "spectromine/io/load.hpp"

namespace spectromine::cli {

// --dataset and --axes (hwe | ehw) of `command`, validated.
inline io::cube_source_options user_cube_source(const std::string& dataset, const std::string& axes,
                                                std::string_view command) {
  require(axes == "hwe" || axes == "ehw", command, "--axes", "must be hwe or ehw", axes);
  io::cube_source_options source;
  source.dataset = dataset;
  source.axes = axes == "hwe" ? io::axis_order::hwe : io::axis_order::ehw;
  source.isolate_hdf5 = true;
  return source;
}

}  // namespace spectromine::cli
