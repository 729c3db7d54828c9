// Shared plumbing of the spectromine command: global options, progress on
// stderr when it is a terminal, and the error convention of docs/CLI.md
// (one line "error: ..." on stderr and a non-zero exit).
#pragma once

#include <CLI/CLI.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include <unistd.h>

#include "spectromine/core/types.hpp"

namespace spectromine::cli {

struct global_options {
  bool quiet = false;
  int threads = 0;  // 0 = all cores
};

// A progress observer printing "stage: 42%" on stderr, only when stderr is a
// terminal and --quiet is off; rate-limited so it never slows the work.
class stderr_progress {
 public:
  explicit stderr_progress(const global_options& options)
      : enabled_(!options.quiet && ::isatty(STDERR_FILENO) == 1) {}
  void operator()(std::string_view stage, index_t done, index_t total) {
    if (!enabled_ || total <= 0) return;
    const auto now = std::chrono::steady_clock::now();
    if (done < total && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    std::fprintf(stderr, "\r%.*s: %3d%%", static_cast<int>(stage.size()), stage.data(),
                 static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(total)));
    if (done >= total) std::fputc('\n', stderr);
    std::fflush(stderr);
  }

 private:
  bool enabled_;
  std::chrono::steady_clock::time_point last_{};
};

// The shortest text that reads back as exactly `v` (for headers and logs).
inline std::string number_text(double v) {
  if (v == 0) v = 0.0;  // no "-0"
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// OUT.npy -> OUT<suffix> in the same folder (the side files of an output).
inline std::filesystem::path sibling(const std::filesystem::path& out, const std::string& suffix) {
  std::filesystem::path p = out;
  p.replace_filename(out.stem().string() + suffix);
  return p;
}

}  // namespace spectromine::cli
