// EXAFS speed: autobk + xftf on every data/larch spectrum that has chi(k)
// (20 spectra, Fe_K and Mn_K), with each index.json's parameters — the same
// work benchmarks/peers/exafs_larch.py times in larch.
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "spectromine/exafs/autobk.hpp"
#include "spectromine/exafs/xafsft.hpp"
#include "spectromine/io/text.hpp"

namespace {

namespace ex = spectromine::exafs;
namespace fs = std::filesystem;

struct job {
  spectromine::io::reference_spectrum spectrum;
  ex::autobk_options background;
  ex::xftf_options transform;
};

const std::vector<job>& jobs() {
  static const std::vector<job> all = [] {
    std::vector<job> out;
    const fs::path data{SPECTROMINE_DATA_DIR};
    for (const char* edge : {"Fe_K", "Mn_K"}) {
      std::ifstream in(data / "larch" / edge / "index.json");
      const auto index = nlohmann::json::parse(in);
      for (const auto& [name, p] : index.items()) {
        if (!p.contains("autobk") || !fs::exists(data / "larch" / edge / (name + ".chik.dat")))
          continue;
        job j;
        j.spectrum = spectromine::io::read_reference_spectrum(data / "references" / edge / (name + ".dat"));
        const auto& a = p.at("autobk");
        j.background.e0 = p.at("e0").get<double>();
        j.background.rbkg = a.at("rbkg").get<double>();
        j.background.kweight = a.at("kweight").get<double>();
        j.background.kmin = a.at("kmin").get<double>();
        j.background.kmax = a.at("kmax").get<double>();
        j.background.pre_edge.pre1 = p.at("pre1").get<double>();
        j.background.pre_edge.pre2 = p.at("pre2").get<double>();
        j.background.pre_edge.norm1 = p.at("norm1").get<double>();
        j.background.pre_edge.norm2 = p.at("norm2").get<double>();
        const auto& x = p.at("xftf");
        j.transform.kmin = x.at("kmin").get<double>();
        j.transform.kmax = x.at("kmax").get<double>();
        j.transform.dk = x.at("dk").get<double>();
        j.transform.kweight = x.at("kweight").get<double>();
        j.transform.window = ex::parse_window(x.at("window").get<std::string>());
        out.push_back(std::move(j));
      }
    }
    return out;
  }();
  return all;
}

// All 20 spectra per iteration; arg 0: least-squares minimum, 1: larch_stopping.
void BM_autobk_xftf_all(benchmark::State& state) {
  auto work = jobs();
  for (auto& j : work) j.background.larch_stopping = state.range(0) != 0;
  for (auto _ : state) {
    for (const auto& j : work) {
      const auto chik = ex::autobk(j.spectrum.energy, j.spectrum.mu, j.background);
      const auto chir = ex::xftf(chik.k, chik.chi, j.transform);
      benchmark::DoNotOptimize(chir.mag.data());
    }
  }
  state.counters["spectra"] = static_cast<double>(work.size());
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(work.size()));
}
BENCHMARK(BM_autobk_xftf_all)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// One forward transform (xftf) of a chi(k) on the uniform grid.
void BM_xftf(benchmark::State& state) {
  const auto& j = jobs().front();
  const auto chik = ex::autobk(j.spectrum.energy, j.spectrum.mu, j.background);
  for (auto _ : state) {
    const auto chir = ex::xftf(chik.k, chik.chi, j.transform);
    benchmark::DoNotOptimize(chir.mag.data());
  }
}
BENCHMARK(BM_xftf)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
