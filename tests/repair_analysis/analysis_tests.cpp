// Tests of analysis/ (compare, summaries, nnls, linear_combination) and
// partition/kmeans against naive references kept here.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <vector>

#include <Eigen/Dense>
#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_int_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>

#include "spectromine/analysis/compare.hpp"
#include "spectromine/analysis/linear_combination.hpp"
#include "spectromine/analysis/nnls.hpp"
#include "spectromine/analysis/summaries.hpp"
#include "spectromine/core/cube.hpp"
#include "spectromine/core/random.hpp"
#include "spectromine/partition/kmeans.hpp"

using namespace spectromine;

namespace {

label_image random_labels(index_t rows, index_t cols, int k, std::uint64_t seed, label_t lo = 1) {
  auto eng = make_engine(seed);
  boost::random::uniform_int_distribution<int> u(lo, k);
  label_image img({rows, cols});
  for (auto& l : img.storage()) l = u(eng);
  return img;
}

// Naive ARI by counting agreeing pairs (O(n^2)).
double naive_ari(const label_image& a, const label_image& b) {
  std::vector<index_t> idx;
  for (index_t i = 0; i < a.pixel_count(); ++i)
    if (a[i] != 0 && b[i] != 0) idx.push_back(i);
  double n11 = 0, n10 = 0, n01 = 0, n00 = 0;
  for (std::size_t i = 0; i < idx.size(); ++i)
    for (std::size_t j = i + 1; j < idx.size(); ++j) {
      const bool sa = a[idx[i]] == a[idx[j]], sb = b[idx[i]] == b[idx[j]];
      if (sa && sb) ++n11;
      else if (sa) ++n10;
      else if (sb) ++n01;
      else ++n00;
    }
  const double n = n11 + n10 + n01 + n00;
  const double expected = (n11 + n10) * (n11 + n01) / n;
  const double maximum = ((n11 + n10) + (n11 + n01)) / 2;
  return (n11 - expected) / (maximum - expected);
}

}  // namespace

TEST_CASE("adjusted Rand index equals naive pair counting") {
  for (int t = 0; t < 6; ++t) {
    label_image a = random_labels(13, 17, 4, 10 + t, 0);
    label_image b = a;
    auto eng = make_engine(100 + t);
    boost::random::uniform_real_distribution<double> u(0, 1);
    for (auto& l : b.storage())
      if (u(eng) < 0.3 * t / 5.0) l = static_cast<label_t>(u(eng) * 5);  // noise, incl. 0
    b[3] = labels::outlier;
    CAPTURE(t);
    CHECK(analysis::adjusted_rand_index(a.view(), b.view()) == doctest::Approx(naive_ari(a, b)).epsilon(1e-12));
    for (int threads : {1, 2, 3})
      CHECK(analysis::adjusted_rand_index(a.view(), b.view(), {false, threads}) ==
            analysis::adjusted_rand_index(a.view(), b.view(), {false, 1}));
  }
}

TEST_CASE("Hungarian matching is optimal (brute force over permutations)") {
  for (int t = 0; t < 30; ++t) {
    auto eng = make_engine(7, t);
    boost::random::uniform_int_distribution<int> dim(1, 5), val(0, 20);
    const std::size_t r = static_cast<std::size_t>(dim(eng)), c = static_cast<std::size_t>(dim(eng));
    std::vector<double> w(r * c);
    for (auto& x : w) x = val(eng);
    auto match = analysis::hungarian_max(w, r, c);
    double got = 0;
    std::vector<int> used(c, 0);
    for (std::size_t i = 0; i < r; ++i)
      if (match[i] >= 0) {
        got += w[i * c + static_cast<std::size_t>(match[i])];
        CHECK(used[static_cast<std::size_t>(match[i])]++ == 0);
      }
    // brute force: permutations of columns (pad to max(r, c))
    const std::size_t n = std::max(r, c);
    std::vector<std::size_t> perm(n);
    std::iota(perm.begin(), perm.end(), 0);
    double best = -1;
    do {
      double s = 0;
      for (std::size_t i = 0; i < r; ++i)
        if (perm[i] < c) s += w[i * c + perm[i]];
      best = std::max(best, s);
    } while (std::next_permutation(perm.begin(), perm.end()));
    CHECK(got == best);
  }
}

TEST_CASE("compare_maps: permuted labels match perfectly; histogram counts differences") {
  label_image a = random_labels(20, 30, 5, 3);
  label_image b = a;
  for (auto& l : b.storage()) l = 6 - l;  // permutation 1<->5, 2<->4
  auto c = analysis::compare_maps(a.view(), b.view());
  CHECK(c.ari == doctest::Approx(1.0));
  CHECK(c.matching.accuracy == doctest::Approx(1.0));
  CHECK(c.differences.size() == 1);
  CHECK(c.differences.at(0) == 600);
  for (auto [la, lb] : c.matching.pairs) CHECK(lb == 6 - la);
  // Without matching, the raw difference a - b = 2a - 6.
  auto raw = analysis::difference_histogram(a.view(), b.view());
  index_t n4 = 0;
  for (auto l : a.storage()) n4 += l == 5;
  CHECK(raw.at(4) == n4);
  auto j = analysis::to_json(c);
  CHECK(j["confusion"]["counts"].size() == 5);
  CHECK(j["difference_histogram"][0]["pixels"] == 600);
  label_image wrong({3, 3});
  CHECK_THROWS_AS(analysis::compare_maps(a.view(), wrong.view()), invalid_argument);
}

TEST_CASE("relabel_by_size: decreasing size, ties to the lower old label, sentinels become labels") {
  label_image img({1, 20});
  const std::vector<label_t> v = {7, 7, 7, 3, 3, 3, -1, -1, -1, -1, 9, 9, 0, 0, 0, 0, 0, -2, 12, 12};
  std::copy(v.begin(), v.end(), img.storage().begin());
  for (int threads : {1, 2}) {
    label_image x = img;
    auto r = analysis::relabel_by_size(x.view(), threads);
    // sizes: -1:4, 3:3, 7:3, 9:2, 12:2, -2:1
    CHECK(r.clusters == 6);
    CHECK(r.old_label == std::vector<label_t>{-1, 3, 7, 9, 12, -2});
    CHECK(r.counts == std::vector<index_t>{4, 3, 3, 2, 2, 1});
    CHECK(r.outlier_label == 1);
    CHECK(r.unexplained_label == 6);
    CHECK(r.unlabeled == 5);
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (v[i] == 0) CHECK(x[static_cast<index_t>(i)] == 0);
      else CHECK(r.old_label[static_cast<std::size_t>(x[static_cast<index_t>(i)] - 1)] == v[i]);
    }
  }
  label_image bad({1, 2}, -3);
  CHECK_THROWS_WITH_AS(analysis::relabel_by_size(bad.view()),
                       "summaries: label must be >= -2 (0 = unlabeled, -1 = outlier, -2 = unexplained) (got -3)",
                       invalid_argument);
}

TEST_CASE("summarize: means, noise of the mean and PC1 against naive and Eigen references") {
  const index_t rows = 23, cols = 19, bands = 11;
  cube<float> c({rows, cols}, bands);
  auto eng = make_engine(99);
  boost::random::normal_distribution<double> g(0, 1);
  label_image lab = random_labels(rows, cols, 4, 5, 0);
  for (index_t p = 0; p < c.pixel_count(); ++p)
    for (index_t b = 0; b < bands; ++b)
      c.spectrum(p)[static_cast<std::size_t>(b)] =
          static_cast<float>((1.0 + 0.2 * g(eng)) * std::sin(0.3 * b + lab[p]) + 0.05 * g(eng) + 0.3 * lab[p]);
  c.spectrum(5)[2] = std::numeric_limits<float>::quiet_NaN();
  const label_t l5 = lab[5];
  analysis::cluster_summaries ref_s;
  for (int threads : {1, 2, 3}) {
    analysis::summary_options o;
    o.threads = threads;
    auto s = analysis::summarize(c, lab.view(), o);
    if (threads == 1) {
      ref_s = s;
      CHECK(s.nonfinite_pixels == (l5 > 0 ? 1 : 0));
      index_t labelled = 0;
      for (auto l : lab.storage()) labelled += l > 0;
      CHECK(s.labelled_pixels == labelled);
      for (label_t k = 1; k <= 4; ++k) {
        const auto& cs = s.clusters[static_cast<std::size_t>(k - 1)];
        Eigen::MatrixXd x(0, bands);
        std::vector<std::vector<double>> rowsv;
        index_t count = 0;
        for (index_t p = 0; p < c.pixel_count(); ++p) {
          if (lab[p] != k) continue;
          ++count;
          if (p == 5) continue;
          std::vector<double> r(c.spectrum(p).begin(), c.spectrum(p).end());
          rowsv.push_back(r);
        }
        CHECK(cs.pixels == count);
        CHECK(cs.spectrum_pixels == static_cast<index_t>(rowsv.size()));
        CHECK(cs.fraction == doctest::Approx(double(count) / double(labelled)));
        x.resize(static_cast<index_t>(rowsv.size()), bands);
        for (std::size_t i = 0; i < rowsv.size(); ++i)
          for (index_t b = 0; b < bands; ++b) x(static_cast<index_t>(i), b) = rowsv[i][static_cast<std::size_t>(b)];
        const Eigen::RowVectorXd mean = x.colwise().mean();
        for (index_t b = 0; b < bands; ++b) {
          CHECK(cs.mean[static_cast<std::size_t>(b)] == doctest::Approx(mean(b)).epsilon(1e-12));
          const double var = (x.col(b).array() - mean(b)).square().sum() / (x.rows() - 1);
          CHECK(cs.noise_of_mean[static_cast<std::size_t>(b)] ==
                doctest::Approx(std::sqrt(var / x.rows())).epsilon(1e-10));
        }
        Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(x.transpose() * x);
        Eigen::VectorXd u = es.eigenvectors().col(bands - 1);
        if (u.dot(mean.transpose()) < 0) u = -u;
        const double scale = u.dot(mean.transpose());
        for (index_t b = 0; b < bands; ++b)
          CHECK(cs.pc1[static_cast<std::size_t>(b)] == doctest::Approx(scale * u(b)).epsilon(1e-8));
      }
    } else {
      for (std::size_t k = 0; k < s.clusters.size(); ++k) {
        CHECK(s.clusters[k].mean == ref_s.clusters[k].mean);  // bitwise: thread-independent
        CHECK(s.clusters[k].pc1 == ref_s.clusters[k].pc1);
      }
    }
  }
  analysis::summary_options last;
  last.scaling = analysis::pc1_scaling::last_band;
  auto s = analysis::summarize(c, lab.view(), last);
  CHECK(s.clusters[0].pc1.back() == doctest::Approx(1.0));
}

namespace {
// Brute force NNLS: best feasible unconstrained LS over all supports.
double brute_nnls(const Eigen::MatrixXd& a, const Eigen::VectorXd& b) {
  const int k = static_cast<int>(a.cols());
  double best = b.squaredNorm();
  for (int mask = 1; mask < (1 << k); ++mask) {
    std::vector<int> cols;
    for (int j = 0; j < k; ++j)
      if (mask & (1 << j)) cols.push_back(j);
    Eigen::MatrixXd s(a.rows(), static_cast<index_t>(cols.size()));
    for (std::size_t j = 0; j < cols.size(); ++j) s.col(static_cast<index_t>(j)) = a.col(cols[j]);
    Eigen::VectorXd x = s.colPivHouseholderQr().solve(b);
    if ((x.array() < 0).any()) continue;
    best = std::min(best, (s * x - b).squaredNorm());
  }
  return best;
}
}  // namespace

TEST_CASE("nnls equals brute-force enumeration of supports") {
  for (int t = 0; t < 40; ++t) {
    auto eng = make_engine(21, t);
    boost::random::normal_distribution<double> g(0, 1);
    const int k = 1 + t % 5;
    Eigen::MatrixXd a(12, k);
    for (index_t i = 0; i < a.size(); ++i) a.data()[i] = g(eng);
    if (k >= 3 && t % 7 == 0) a.col(2) = a.col(0) + a.col(1);  // degenerate column
    Eigen::VectorXd b(12);
    for (index_t i = 0; i < 12; ++i) b(i) = g(eng);
    std::vector<double> bv(b.data(), b.data() + 12);
    auto r = analysis::nnls(a, bv);
    CAPTURE(t);
    CHECK(r.converged);
    for (double x : r.x) CHECK(x >= 0);
    CHECK(r.residual_norm * r.residual_norm == doctest::Approx(brute_nnls(a, b)).epsilon(1e-9));
  }
  Eigen::MatrixXd a(3, 1);
  a << 1, 1, 1;
  CHECK_THROWS_AS(analysis::nnls(a, std::vector<double>{1, 2}), invalid_argument);
}

TEST_CASE("unmix recovers non-negative mixtures, respects the mask, thread-independent") {
  const index_t bands = 40;
  Eigen::MatrixXd comp(bands, 3);
  for (index_t b = 0; b < bands; ++b) {
    comp(b, 0) = std::exp(-0.5 * std::pow((b - 10) / 4.0, 2));
    comp(b, 1) = std::exp(-0.5 * std::pow((b - 20) / 5.0, 2));
    comp(b, 2) = 1.0 / (1.0 + std::exp(-(b - 25) / 2.0));
  }
  cube<double> c({9, 7}, bands);
  std::vector<Eigen::Vector3d> truth;
  auto eng = make_engine(4);
  boost::random::uniform_real_distribution<double> u(0, 1);
  for (index_t p = 0; p < c.pixel_count(); ++p) {
    Eigen::Vector3d w(u(eng), u(eng), p % 3 == 0 ? 0.0 : u(eng));
    truth.push_back(w);
    Eigen::VectorXd s = comp * w;
    for (index_t b = 0; b < bands; ++b) c.spectrum(p)[static_cast<std::size_t>(b)] = s(b);
  }
  pixel_mask m({9, 7}, 1);
  m(0, 0) = 0;
  auto r1 = analysis::unmix(c, m.view(), comp, {false, {}, 1});
  auto r2 = analysis::unmix(c, m.view(), comp, {false, {}, 3});
  CHECK(r1.coefficients.storage() == r2.coefficients.storage());
  for (index_t p = 1; p < c.pixel_count(); ++p)
    for (int j = 0; j < 3; ++j)
      CHECK(r1.coefficients.view()(p / 7, p % 7, j) == doctest::Approx(truth[static_cast<std::size_t>(p)](j)).epsilon(1e-5));
  CHECK(r1.coefficients(0, 0, 0) == 0.0f);
  auto ratios = analysis::unmix(c, {}, comp, {true, {}, 2});
  float sum = 0;
  for (int j = 0; j < 3; ++j) sum += ratios.coefficients(1, 1, j);
  CHECK(sum == doctest::Approx(1.0f));
}

TEST_CASE("linear-combination and thickness flags on synthetic cluster means") {
  const std::size_t bands = 120;
  auto edge = [&](double e0, double peak, double width) {
    std::vector<double> s(bands);
    for (std::size_t b = 0; b < bands; ++b) {
      const double x = static_cast<double>(b);
      s[b] = 1.0 / (1.0 + std::exp(-(x - e0) / 2.0)) +
             peak * std::exp(-0.5 * std::pow((x - e0 - 6) / width, 2)) +
             0.05 * std::sin(x / 7.0 + e0);
    }
    return s;
  };
  analysis::cluster_summaries s;
  auto add = [&](std::vector<double> mean, index_t pixels) {
    analysis::cluster_summary c;
    c.label = static_cast<label_t>(s.clusters.size() + 1);
    c.pixels = c.spectrum_pixels = pixels;
    c.mean = std::move(mean);
    c.noise_of_mean.assign(bands, 0.002);
    s.clusters.push_back(c);
  };
  auto a = edge(40, 0.6, 3), b = edge(48, 0.3, 5), d = edge(55, 0.9, 2);
  add(a, 5000);
  add(b, 4000);
  add(d, 3000);
  std::vector<double> mix(bands), flat(bands);
  auto eng = make_engine(8);
  boost::random::normal_distribution<double> g(0, 0.002);
  for (std::size_t i = 0; i < bands; ++i) mix[i] = 0.6 * a[i] + 0.4 * b[i] + g(eng);
  // Flattened white line: concave compression of spectrum d.
  for (std::size_t i = 0; i < bands; ++i) flat[i] = d[i] - 0.15 * d[i] * d[i] + g(eng);
  add(mix, 800);
  add(flat, 600);
  auto f = analysis::find_linear_combinations(s);
  REQUIRE(f.size() == 5);
  CHECK(f[3].combination);
  CHECK(((f[3].component_a == 1 && f[3].component_b == 2) || (f[3].component_a == 2 && f[3].component_b == 1)));
  CHECK(f[3].weight_a + f[3].weight_b == doctest::Approx(1.0).epsilon(0.01));
  for (int i : {0, 1, 2, 4}) CHECK_FALSE(f[static_cast<std::size_t>(i)].combination);
  CHECK(f[4].thickness_distorted);
  CHECK(f[4].distorted_from == 3);
  CHECK(f[4].peak_ratio < 1.0);
  for (int i : {0, 1, 2, 3}) CHECK_FALSE(f[static_cast<std::size_t>(i)].thickness_distorted);
}

TEST_CASE("kmeans: separated clusters recovered; identical for any thread count; seeded") {
  const index_t rows = 40, cols = 50, bands = 16;
  cube<float> c({rows, cols}, bands);
  label_image truth({rows, cols});
  auto eng = make_engine(12);
  boost::random::normal_distribution<double> g(0, 0.05);
  for (index_t p = 0; p < c.pixel_count(); ++p) {
    const int k = static_cast<int>((p / cols) / 10);  // 4 bands of rows
    truth[p] = k + 1;
    for (index_t b = 0; b < bands; ++b)
      c.spectrum(p)[static_cast<std::size_t>(b)] = static_cast<float>(std::cos(0.4 * b * (k + 1)) + g(eng));
  }
  pixel_mask mask({rows, cols}, 1);
  mask(0, 0) = 0;
  c.spectrum(7)[3] = std::numeric_limits<float>::infinity();
  partition::kmeans km({4, 100, 1e-9, 5, 1});
  label_image l1({rows, cols});
  auto rep = km.partition(c.view(), mask.view(), l1.view());
  CHECK(rep.method == "kmeans");
  CHECK(rep.parameters["nonfinite_pixels"] == 1);
  CHECK(l1(0, 0) == 0);
  CHECK(l1[7] == 0);
  truth(0, 0) = 0;
  truth[7] = 0;
  CHECK(analysis::adjusted_rand_index(l1.view(), truth.view()) == doctest::Approx(1.0));
  for (int threads : {2, 3}) {
    label_image l2({rows, cols});
    partition::kmeans({4, 100, 1e-9, 5, threads}).partition(c.view(), mask.view(), l2.view());
    CHECK(l2 == l1);
  }
  // No mask, all finite, contiguous float: the in-place float GEMM path.
  c.spectrum(7)[3] = 0.5f;
  label_image d1({rows, cols}), d3({rows, cols});
  partition::kmeans({4, 100, 1e-9, 5, 1}).partition(c, {}, d1.view());
  partition::kmeans({4, 100, 1e-9, 5, 3}).partition(c, {}, d3.view());
  CHECK(d1 == d3);
  truth(0, 0) = 1;
  truth[7] = 1;
  CHECK(analysis::adjusted_rand_index(d1.view(), truth.view()) == doctest::Approx(1.0));
  CHECK_THROWS_AS((partition::kmeans({0}).partition(c.view(), mask.view(), l1.view())), invalid_argument);
  cube<float> tiny({1, 2}, 3);
  label_image lt({1, 2});
  CHECK_THROWS_WITH_AS((partition::kmeans({3}).partition(tiny.view(), {}, lt.view())),
                       "kmeans: k must not exceed the number of usable pixels 2 (got 3)", invalid_argument);
}

#include "spectromine/analysis/pca_baseline.hpp"

TEST_CASE("pca_baseline: two end-member phases and their mixtures; a third phase is poorly fitted") {
  const index_t rows = 30, cols = 30, bands = 60;
  auto shape_of = [&](double centre, double width) {
    std::vector<double> s(static_cast<std::size_t>(bands));
    for (index_t b = 0; b < bands; ++b)
      s[static_cast<std::size_t>(b)] = 1.0 / (1.0 + std::exp(-(b - centre) / 2.0)) +
                                       0.5 * std::exp(-0.5 * std::pow((b - centre - 5) / width, 2));
    return s;
  };
  const auto a = shape_of(20, 3), b = shape_of(30, 6), third = shape_of(40, 2);
  cube<float> c({rows, cols}, bands);
  label_image truth({rows, cols});
  auto eng = make_engine(3);
  boost::random::normal_distribution<double> g(0, 0.01);
  for (index_t r = 0; r < rows; ++r)
    for (index_t col = 0; col < cols; ++col) {
      const index_t p = r * cols + col;
      const bool is_third = r >= 12 && r < 18 && col >= 12 && col < 18;
      const double w = static_cast<double>(col) / (cols - 1);  // a -> b gradient
      truth[p] = is_third ? 3 : (w <= 0.5 ? 1 : 2);
      for (index_t k = 0; k < bands; ++k) {
        const auto kk = static_cast<std::size_t>(k);
        const double v = is_third ? third[kk] : (1 - w) * a[kk] + w * b[kk];
        c.spectrum(p)[kk] = static_cast<float>(v + g(eng));
      }
    }
  pixel_mask mask({rows, cols}, 1);
  label_image l1({rows, cols}), l2({rows, cols});
  auto rep = analysis::pca_baseline({2, 0.05, 5.0, 1}).partition(c, mask.view(), l1.view());
  analysis::pca_baseline({2, 0.05, 5.0, 2}).partition(c, mask.view(), l2.view());
  CHECK(l1 == l2);
  CHECK(rep.method == "pca");
  CHECK(rep.parameters["explained_variance_ratio"].get<double>() > 0.9);
  index_t third_ok = 0, third_total = 0, wrong_third = 0;
  for (index_t p = 0; p < l1.pixel_count(); ++p) {
    if (truth[p] == 3) {
      ++third_total;
      third_ok += l1[p] == 3;
    } else {
      wrong_third += l1[p] == 3;
    }
  }
  CHECK(third_ok == third_total);
  CHECK(wrong_third < l1.pixel_count() / 100);
  // Mixtures split between the two end-member classes (which is which is arbitrary).
  label_image two = truth, got = l1;
  for (index_t p = 0; p < l1.pixel_count(); ++p)
    if (truth[p] == 3) two[p] = got[p] = 0;
  CHECK(analysis::adjusted_rand_index(got.view(), two.view()) > 0.8);
}
