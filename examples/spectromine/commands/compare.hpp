// `spectromine compare A/labels.npy B/labels.npy`: agreement of two phase
// maps (docs/CLI.md), printed as one JSON object on stdout:
//   ari                    adjusted Rand index (1 = same partition)
//   confusion              labels of each map and the pixel counts
//   matching               best one-to-one label matching (Hungarian)
//   difference_histogram   per-pixel a - matched(b) (Duan 2016's L3 vs L2
//                          check: 0 = agreement)
// Pixels unlabeled (0) in either map are left out unless --include-unlabeled.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "cli_common.hpp"
#include "spectromine/analysis/compare.hpp"
#include "spectromine/io/json.hpp"
#include "spectromine/io/npy.hpp"

namespace spectromine::cli {

struct compare_options {
  std::string a, b, out;
  bool include_unlabeled = false;
};

void add_compare_command(CLI::App& app, global_options& options) {
  auto o = std::make_shared<compare_options>();
  auto* cmd = app.add_subcommand("compare", "Compare two label maps (ARI, confusion, differences)");
  cmd->add_option("A", o->a, "First labels.npy (int32 H x W)")->required();
  cmd->add_option("B", o->b, "Second labels.npy (same shape)")->required();
  cmd->add_flag("--include-unlabeled", o->include_unlabeled, "Treat label 0 as a class");
  cmd->add_option("--out", o->out, "Also write the JSON to this file");
  cmd->add_option("--threads", options.threads, "Threads (0 = all cores)");
  cmd->callback([o, &options] {
    const label_image a = io::read_npy_labels(o->a);
    const label_image b = io::read_npy_labels(o->b);
    require(a.shape() == b.shape(), "compare", "B shape",
            "must equal A's shape " + std::to_string(a.rows()) + " x " + std::to_string(a.cols()),
            std::to_string(b.rows()) + " x " + std::to_string(b.cols()));
    analysis::compare_options c;
    c.include_unlabeled = o->include_unlabeled;
    c.threads = options.threads;
    nlohmann::json j = analysis::to_json(analysis::compare_maps(a.view(), b.view(), c));
    j["a"] = o->a;
    j["b"] = o->b;
    if (!o->out.empty()) io::write_json(o->out, j);
    const std::string text = j.dump(2);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
  });
}

}  // namespace spectromine::cli
