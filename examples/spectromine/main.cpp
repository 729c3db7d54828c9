// spectromine: the command-line face of the library (contract: docs/CLI.md).
// Each subcommand lives in commands/<name>.hpp and registers itself here.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <new>

#include "cli_common.hpp"
// >>> command headers (one line each)
#include "commands/info.hpp"
#include "commands/normalize.hpp"
#include "commands/distinguish.hpp"
#include "commands/sites.hpp"
#include "commands/exafs.hpp"
#include "commands/cluster.hpp"
#include "commands/compare.hpp"
#include "commands/synth.hpp"
#include "commands/align.hpp"
#include "commands/stitch.hpp"
// <<< command headers
#include "spectromine/error.hpp"
#include "spectromine/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"spectromine: chemical phase maps from X-ray spectro-microscopy images",
               "spectromine"};
  app.set_version_flag("--version", spectromine::version_string);
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand
  spectromine::cli::global_options options;
  app.add_flag("--quiet,-q", options.quiet, "No progress output on stderr")->configurable();
  // One line, as docs/CLI.md requires: "error: ..." then a pointer to --help.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string("error: ") + e.what() + " (see --help)\n";
  });

  // Subcommands register here (each adds its own options and callback).
  // >>> command registrations (one line each; keep in docs/CLI.md order)
  spectromine::cli::add_info_command(app, options);
  spectromine::cli::add_normalize_command(app, options);
  spectromine::cli::add_distinguish_command(app, options);
  spectromine::cli::add_sites_command(app, options);
  spectromine::cli::add_exafs_command(app, options);
  spectromine::cli::add_cluster_command(app, options);
  spectromine::cli::add_compare_command(app, options);
  spectromine::cli::add_synth_command(app, options);
  spectromine::cli::add_align_command(app, options);
  spectromine::cli::add_stitch_command(app, options);
  // <<< command registrations

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const spectromine::error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "error: out of memory (try --tile or --memory-budget)\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
