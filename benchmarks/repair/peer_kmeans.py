#!/usr/bin/env python3
"""Peer timing for partition/kmeans.hpp: scikit-learn KMeans (Lloyd, k-means++,
one init) against `spectromine cluster --method kmeans` on THE SAME cube in
the same run. spectromine's time is the "partition" stage of summary.json (the
clustering itself; loading and standardizing are timed separately there).
Both sides cluster the standardized spectra (mean 0, norm 1).

usage: /usr/bin/python3 peer_kmeans.py SPECTROMINE [ROWS] [BANDS] [K] [THREADS]
"""
import json, os, subprocess, sys, tempfile, time
import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

def cube(rows, bands, k, seed=0):
    rng = np.random.default_rng(seed)
    e = np.linspace(0, 1, bands)
    ends = np.stack([1 / (1 + np.exp(-(e - 0.3 - 0.05 * j) / 0.02)) +
                     0.4 * np.exp(-0.5 * ((e - 0.35 - 0.05 * j) / 0.03) ** 2) for j in range(k)])
    w = rng.dirichlet(np.full(k, 0.3), size=rows * rows)
    x = w @ ends + rng.normal(0, 0.02, (rows * rows, bands))
    return x.reshape(rows, rows, bands).astype(np.float32)

def main():
    exe = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 256
    bands = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    k = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    threads = sys.argv[5] if len(sys.argv) > 5 else "2"
    c = cube(rows, bands, k)
    with tempfile.TemporaryDirectory() as d:
        np.save(os.path.join(d, "cube.npy"), c)
        with open(os.path.join(d, "energy.txt"), "w") as f:
            f.write("\n".join(str(7000 + i) for i in range(bands)))
        subprocess.run([exe, "cluster", "--method", "kmeans", "--k", str(k), "--input",
                        os.path.join(d, "cube.npy"), "--energy", os.path.join(d, "energy.txt"),
                        "--no-normalize", "--mask", "none", "--out", os.path.join(d, "out"),
                        "--threads", threads, "--quiet"], check=True)
        summary = json.load(open(os.path.join(d, "out", "summary.json")))
        ours = np.load(os.path.join(d, "out", "labels.npy")).ravel()
    t_ours = summary["wall_time_s"]["partition"]
    x = c.reshape(-1, bands).astype(np.float64)
    x -= x.mean(axis=1, keepdims=True)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    t0 = time.perf_counter()
    km = KMeans(n_clusters=k, init="k-means++", n_init=1, algorithm="lloyd", max_iter=300,
                tol=1e-4, random_state=0).fit(x)
    t_sk = time.perf_counter() - t0
    print(json.dumps({"pixels": rows * rows, "bands": bands, "k": k, "threads": int(threads),
                      "sklearn_s": round(t_sk, 3), "spectromine_partition_s": round(t_ours, 3),
                      "ratio": round(t_sk / t_ours, 2),
                      "ratio_per_iteration": round((t_sk / km.n_iter_) /
                                                   (t_ours / summary["parameters"]["method"]["iterations"]), 2),
                      "sklearn_iterations": int(km.n_iter_),
                      "spectromine_iterations": summary["parameters"]["method"]["iterations"],
                      "ari_between": round(float(adjusted_rand_score(km.labels_, ours)), 4)}))

if __name__ == "__main__":
    main()
