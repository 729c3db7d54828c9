// Fuzz the command line: the input is split on NUL bytes into argv and
// parsed by an app built exactly like examples/spectromine/main.cpp (same
// command headers, same registrations), with main's exception handling.
// Callbacks run, so the process works inside a scratch folder holding small
// valid inputs (cube.npy, energy.txt, refs/, sites.csv); arguments naming
// absolute paths or leaving that folder are dropped so a run can never write
// elsewhere. Anything but a clean return or a handled exception is a finding.
// (main.cpp builds its app inline; factoring it into a `make_app(options)`
// in cli_common.hpp would let this target share the code instead of
// mirroring the registration list.)
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <filesystem>
#include <new>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "commands/commands.hpp"
#include "spectromine/error.hpp"
#include "spectromine/version.hpp"

namespace {

int run_cli(std::vector<std::string> args) {
  CLI::App app{"spectromine", "spectromine"};
  app.set_version_flag("--version", spectromine::version_string);
  app.require_subcommand(1);
  app.fallthrough();
  spectromine::cli::global_options options;
  options.quiet = true;
  app.add_flag("--quiet,-q", options.quiet, "")->configurable();
  spectromine::cli::add_all_commands(app, options);
  std::vector<char*> argv;
  std::string name = "spectromine";
  argv.push_back(name.data());
  for (auto& a : args) argv.push_back(a.data());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::bad_alloc&) {
    return 1;
  } catch (const std::exception&) {
    return 1;
  }
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = std::getenv("SPECTROMINE_FUZZ_CLI_DIR");  // prepared by scripts/fuzz.sh
  if (dir && chdir(dir) != 0) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args(1);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      if (args.size() == 24) break;
      args.emplace_back();
    } else {
      args.back().push_back(static_cast<char>(data[i]));
    }
  }
  for (const auto& a : args)
    if (a.find('/') != std::string::npos || a.find("..") != std::string::npos) return -1;
  if (args.empty() || args.front().empty()) return -1;
  run_cli(std::move(args));
  return 0;
}
