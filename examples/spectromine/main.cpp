// spectromine: the command-line face of the library (contract: docs/CLI.md).
// Subcommands: commands/commands.hpp (one translation unit each).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <new>

#include "cli_common.hpp"
#include "commands/commands.hpp"
#if defined(SPECTROMINE_HAS_MPI)
#include "spectromine/parallel/mpi.hpp"
#endif
#include "spectromine/error.hpp"
#include "spectromine/version.hpp"

int main(int argc, char** argv) {
#if defined(SPECTROMINE_HAS_MPI)
  // Only under mpirun/srun (launcher environment): the plain CLI never needs
  // MPI. `cluster --method voronoi` then shares the tiles between the ranks
  // (commands/cluster_tiled.hpp); errors there fail all ranks together.
  spectromine::parallel::mpi_session mpi(argc, argv);
#endif
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

  spectromine::cli::add_all_commands(app, options);

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
