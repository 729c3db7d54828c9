#!/usr/bin/python3
"""Peer benchmark: PCA of a spectral cube in NumPy vs spectromine, on THE
SAME float32 spectra in the same run.

    /usr/bin/python3 benchmarks/peers/pca_numpy.py \
        --bench build-noise/benchmarks/noise_metric/bench_noise_metric \
        --pixels 2000000 --fit-pixels 500000

Writes a cube of --pixels spectra x 178 energies (float32, saved as a
1 x N x 178 .npy) to --tmp. Times NumPy (best of --repeats):
  fit:     covariance of the first --fit-pixels spectra in float64
           (center, X^T X / (n - 1)) + numpy.linalg.eigh, 10 components;
  project: scores = X @ C^T - mean @ C^T in float32 (one BLAS sgemm; no
           centered copy of X).
The components and mean NumPy fitted are handed to the C++ benchmark, so
both project with the same model; the first 1,000 score rows are compared.
"""
import argparse, json, os, subprocess, sys, time
import numpy as np


def cube(n, bands=178, seed=0):
    rng = np.random.default_rng(seed)
    e = 7009.2 + 312.0 * np.arange(bands) / (bands - 1)
    basis = []
    for k in range(6):
        x = e - (7118 + 1.5 * k)
        basis.append(0.5 * (1 + np.tanh(x / 3)) + 0.3 * np.exp(-0.5 * (x - 8 - k) ** 2 / 30))
    basis = np.array(basis, dtype=np.float32)
    out = np.empty((n, bands), dtype=np.float32)
    step = 200000
    for i in range(0, n, step):
        m = min(step, n - i)
        w = rng.random((m, 6), dtype=np.float32)
        w /= w.sum(1, keepdims=True)
        out[i:i + m] = w @ basis + rng.normal(0, 0.01, (m, bands)).astype(np.float32)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True)
    ap.add_argument("--pixels", type=int, default=2000000)
    ap.add_argument("--fit-pixels", type=int, default=500000)
    ap.add_argument("--components", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--tmp", default="/tmp/spectromine_pca_bench")
    args = ap.parse_args()
    os.makedirs(args.tmp, exist_ok=True)
    x = cube(args.pixels)
    paths = {k: os.path.join(args.tmp, k + ".npy") for k in ("cube", "components", "mean", "scores")}
    np.save(paths["cube"], x.reshape(1, *x.shape))
    k = args.components

    fit_best = float("inf")
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        xf = x[:args.fit_pixels].astype(np.float64)
        mean = xf.mean(0)
        xf -= mean
        cov = xf.T @ xf / (xf.shape[0] - 1)
        vals, vecs = np.linalg.eigh(cov)
        comps = vecs[:, ::-1][:, :k].T.copy()
        fit_best = min(fit_best, time.perf_counter() - t0)
        del xf
    np.save(paths["components"], comps)
    np.save(paths["mean"], mean)

    proj_best = float("inf")
    c32 = comps.T.astype(np.float32)
    off = (mean @ comps.T).astype(np.float32)
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        scores = x @ c32
        scores -= off
        proj_best = min(proj_best, time.perf_counter() - t0)

    # Free NumPy's copy before the C++ side loads the same cube from disk, so
    # 1e7 spectra (7.1 GB) fit twice over in memory one after the other.
    bands = x.shape[1]
    scores = scores[:100000].copy()
    del x
    env = dict(os.environ, SPECTROMINE_BENCH_CUBE=paths["cube"],
               SPECTROMINE_BENCH_COMPONENTS=paths["components"], SPECTROMINE_BENCH_MEAN=paths["mean"],
               SPECTROMINE_BENCH_FIT_PIXELS=str(args.fit_pixels), SPECTROMINE_BENCH_SCORES_OUT=paths["scores"])
    proc = subprocess.run([args.bench, "--benchmark_filter=BM_fit_pca/2|BM_project/2",
                           "--benchmark_format=json", "--benchmark_min_time=0.1"],
                          env=env, capture_output=True, text=True, check=True)
    ours = {b["name"]: b["real_time"] / 1e3 for b in json.loads(proc.stdout)["benchmarks"]}
    ours_scores = np.load(paths["scores"])
    diff = np.abs(ours_scores - scores[:ours_scores.shape[0]]).max()
    print(f"agreement: max |score difference| over {ours_scores.shape[0]} pixels = {diff:.2e}")
    if diff > 1e-3:
        sys.exit("scores disagree")
    print(f"cube: {args.pixels} spectra x {bands} energies float32; fit on {args.fit_pixels}; "
          f"{k} components; numpy {np.__version__}")
    print(f"numpy fit (cov + eigh):   {fit_best:8.3f} s   spectromine BM_fit_pca/2: "
          f"{ours['BM_fit_pca/2/real_time']:8.3f} s   ratio {fit_best / ours['BM_fit_pca/2/real_time']:6.1f}x")
    print(f"numpy project:            {proj_best:8.3f} s   spectromine BM_project/2: "
          f"{ours['BM_project/2/real_time']:8.3f} s   ratio {proj_best / ours['BM_project/2/real_time']:6.1f}x")


if __name__ == "__main__":
    main()
