// The subcommands of `spectromine`. Each lives in commands/<name>.hpp and is
// compiled once, in its own translation unit commands/<name>.cpp (so editing
// one command rebuilds one file, and the build runs commands in parallel):
// include a command's header only from its .cpp.
#pragma once

#include <CLI/CLI.hpp>

#include "cli_common.hpp"

namespace spectromine::cli {

void add_info_command(CLI::App& app, global_options& options);
void add_normalize_command(CLI::App& app, global_options& options);
void add_distinguish_command(CLI::App& app, global_options& options);
void add_sites_command(CLI::App& app, global_options& options);
void add_exafs_command(CLI::App& app, global_options& options);
void add_cluster_command(CLI::App& app, global_options& options);
void add_compare_command(CLI::App& app, global_options& options);
void add_synth_command(CLI::App& app, global_options& options);
void add_align_command(CLI::App& app, global_options& options);
void add_stitch_command(CLI::App& app, global_options& options);

// Every subcommand, in the order of docs/CLI.md (the order --help lists).
inline void add_all_commands(CLI::App& app, global_options& options) {
  add_info_command(app, options);
  add_normalize_command(app, options);
  add_distinguish_command(app, options);
  add_sites_command(app, options);
  add_exafs_command(app, options);
  add_cluster_command(app, options);
  add_compare_command(app, options);
  add_synth_command(app, options);
  add_align_command(app, options);
  add_stitch_command(app, options);
}

}  // namespace spectromine::cli
