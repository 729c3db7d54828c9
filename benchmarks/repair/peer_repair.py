#!/usr/bin/env python3
"""Peer timing for repair/: the published per-cluster formulation of Ito 2024's
window-core + dilation repair (Reduce_cluster + Dilate_each_cluster), written
with NumPy/SciPy (scipy.ndimage uniform_filter, label, binary_dilation), against
`bench_repair --labels` (spectromine's all-clusters-at-once repair) on THE SAME
label image in the same run. Also checks that both give the same map (the
spectromine side uses fill_rule::lowest_label, which is what the published
dilation produces; border handling is aligned by comparing interior pixels).

usage: /usr/bin/python3 peer_repair.py BENCH_REPAIR [SIZE] [LABELS] [THREADS]
"""
import json, os, subprocess, sys, tempfile, time
import numpy as np
from scipy import ndimage as ndi

def scene(n, labels, noise, seed=1):
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(labels)))
    r, c = np.mgrid[0:n, 0:n].astype(np.float64)
    wr = r + 0.3 * (n / side) * np.sin(c * 0.05 + r * 0.002)
    wc = c + 0.3 * (n / side) * np.sin(r * 0.04 + c * 0.003)
    gr = np.clip((wr // (n / side)).astype(int), 0, side - 1)
    gc = np.clip((wc // (n / side)).astype(int), 0, side - 1)
    lab = ((gr * side + gc) % labels + 1).astype(np.int32)
    salt = rng.random((n, n)) < noise
    lab[salt] = rng.integers(1, labels + 1, salt.sum())
    return lab

def per_cluster_repair(lab, k=5, p=23):
    """Per cluster: K x K counts (clipped, scaled P as spectromine), cores,
    8-connected components with a core kept; then per-cluster dilation rounds."""
    out = lab.copy()
    struct = np.ones((3, 3), bool)
    ones = np.ones(lab.shape)
    valid = ndi.uniform_filter(ones, k, mode='constant') * k * k  # clipped window area
    for kl in np.unique(lab):
        if kl == 0:
            continue
        m = lab == kl
        same = ndi.uniform_filter(m.astype(np.float64), k, mode='constant') * k * k
        core = m & (np.rint(same) * k * k >= p * np.rint(valid))
        comp, _ = ndi.label(m, structure=struct)
        keep = np.unique(comp[core])
        out[m & ~np.isin(comp, keep)] = 0
    labels = np.unique(out[out > 0])
    while True:  # published Dilate_each_cluster: clusters in increasing order
        before = out.copy()
        for kl in labels:
            grown = ndi.binary_dilation(before == kl, structure=struct)
            out[(out == 0) & grown] = kl
        if np.array_equal(before, out):
            return out

def main():
    exe = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    nl = int(sys.argv[3]) if len(sys.argv) > 3 else 150
    threads = sys.argv[4] if len(sys.argv) > 4 else "2"
    lab = scene(n, nl, 0.05)
    with tempfile.TemporaryDirectory() as d:
        src, dst = os.path.join(d, "in.npy"), os.path.join(d, "out.npy")
        np.save(src, lab)
        t0 = time.perf_counter()
        ref = per_cluster_repair(lab)
        t_py = time.perf_counter() - t0
        res = json.loads(subprocess.run([exe, "--labels", src, "--out", dst, "--threads", threads],
                                        check=True, capture_output=True, text=True).stdout)
        ours = np.load(dst)
    agree = np.mean(ours == ref)
    print(json.dumps({"size": n, "labels": nl, "threads": int(threads),
                      "scipy_per_cluster_s": round(t_py, 3), "spectromine_s": round(res["seconds"], 4),
                      "ratio": round(t_py / res["seconds"], 1), "pixel_agreement": round(float(agree), 6)}))

if __name__ == "__main__":
    main()
