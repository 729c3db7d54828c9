#!/usr/bin/python3
"""Peer benchmark: spectromine's exact DBSCAN vs scikit-learn's DBSCAN on THE
SAME features (10 PCA features of standardized spectra by default), same eps
and MinPts, in the same run.

    /usr/bin/python3 benchmarks/peers/dbscan_sklearn.py \
        --bench build-dbscan/benchmarks/dbscan/bench_dbscan --size 400 --bands 160

1. Runs `bench_dbscan --run` (C++): builds the scene (400 x 400 x 160 from real
   Fe K references + sCMOS noise, ~100,000 sample pixels), clusters it
   (eps auto unless --eps), writes the features, labels and core flags; its
   peak RSS is measured (getrusage of the child).
2. Runs sklearn.cluster.DBSCAN(eps, min_samples=MinPts) on the written
   features in a child process capped by --sklearn-memory GiB of address
   space (RLIMIT_AS) and --sklearn-timeout seconds, so an O(n^2)-memory run
   fails cleanly instead of taking the machine down.
3. Checks identical core flags and noise sets, and the same partition of the
   core points (a one-to-one label mapping), then prints the time ratio.
Extra radii: --also-eps 0.03 runs both at that eps too (sklearn capped).
"""
import argparse, json, os, resource, subprocess, sys, tempfile, time

SKLEARN_CHILD = r'''
import sys, time, json, numpy as np
from sklearn.cluster import DBSCAN
f = np.load(sys.argv[1]); eps = float(sys.argv[2]); mp = int(sys.argv[3]); out = sys.argv[4]
t = time.perf_counter()
m = DBSCAN(eps=eps, min_samples=mp, n_jobs=int(sys.argv[5])).fit(f)
dt = time.perf_counter() - t
core = np.zeros(len(f), dtype=np.int32); core[m.core_sample_indices_] = 1
np.save(out + ".labels.npy", m.labels_.astype(np.int32)); np.save(out + ".core.npy", core)
import resource
print(json.dumps({"seconds": dt, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''


def run_cpp(args, eps, tmp):
    cmd = [args.bench, "--run", "--size", str(args.size), "--bands", str(args.bands),
           "--components", str(args.components), "--eps", str(eps), "--index", args.index,
           "--threads", str(args.threads), "--features-out", f"{tmp}/f.npy",
           "--labels-out", f"{tmp}/l.npy", "--core-out", f"{tmp}/c.npy"]
    if args.min_pts:
        cmd += ["--min-pts", str(args.min_pts)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - t
    r = json.loads(out)
    r["process_wall_seconds"] = wall
    r["cmd"] = " ".join(cmd)
    return r


def run_sklearn(args, eps, min_pts, tmp):
    limit = int(args.sklearn_memory * 2**30)

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    script = f"{tmp}/sk.py"
    open(script, "w").write(SKLEARN_CHILD)
    try:
        p = subprocess.run([sys.executable, script, f"{tmp}/f.npy", str(eps), str(min_pts), f"{tmp}/sk",
                            str(args.sklearn_jobs)], capture_output=True, text=True,
                           timeout=args.sklearn_timeout, preexec_fn=cap)
    except subprocess.TimeoutExpired:
        return {"failed": f"timeout after {args.sklearn_timeout} s"}
    if p.returncode != 0:
        last = (p.stderr.strip().splitlines() or ["?"])[-1]
        return {"failed": f"exit {p.returncode}: {last[:200]} (address space capped at {args.sklearn_memory} GiB)"}
    return json.loads(p.stdout)


def compare(tmp):
    import numpy as np
    ours_l, ours_c = np.load(f"{tmp}/l.npy"), np.load(f"{tmp}/c.npy")
    sk_l, sk_c = np.load(f"{tmp}/sk.labels.npy"), np.load(f"{tmp}/sk.core.npy")
    same_core = bool((ours_c == sk_c).all())
    same_noise = bool(((ours_l == -1) == (sk_l == -1)).all())
    core = ours_c == 1
    pairs = set(zip(ours_l[core].tolist(), sk_l[core].tolist()))
    one_to_one = len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs})
    return {"identical_core_flags": same_core, "identical_noise": same_noise,
            "same_core_partition": one_to_one, "core_mismatches": int((ours_c != sk_c).sum()),
            "clusters_ours": int(ours_l.max()), "clusters_sklearn": int(sk_l.max()) + 1}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--size", type=int, default=400)
    ap.add_argument("--bands", type=int, default=160)
    ap.add_argument("--components", type=int, default=10)
    ap.add_argument("--eps", default="auto")
    ap.add_argument("--also-eps", type=float, nargs="*", default=[])
    ap.add_argument("--min-pts", type=int, default=0)
    ap.add_argument("--index", default="kdtree")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sklearn-jobs", type=int, default=2)
    ap.add_argument("--sklearn-memory", type=float, default=12.0, help="GiB address-space cap")
    ap.add_argument("--sklearn-timeout", type=float, default=900.0)
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        eps_list = [args.eps] + [str(e) for e in args.also_eps]
        for eps in eps_list:
            ours = run_cpp(args, eps, tmp)
            e, mp = ours["eps"], ours["min_pts"]
            print(f"\n== eps {e:.6g} ({ours['eps_source']}), MinPts {mp}, {args.components} features, "
                  f"{ours['core_points'] + ours['border_points'] + ours['noise_points']} points")
            print(f"spectromine ({args.index}, {ours['threads']} threads): dbscan {ours['seconds_dbscan']:.3f} s "
                  f"(+ index {ours['seconds_index']:.3f} s, eps {ours['seconds_eps']:.3f} s, features+PCA "
                  f"{ours['seconds_features']:.3f} s); whole partition {ours['seconds_partition_total']:.3f} s; "
                  f"process peak RSS {ours['peak_rss_mib']:.0f} MiB (incl. the scene); clusters {ours['clusters']}, "
                  f"noise {ours['noise_points']}")
            sk = run_sklearn(args, e, mp, tmp)
            if "failed" in sk:
                print(f"scikit-learn: FAILED ({sk['failed']})")
                continue
            print(f"scikit-learn (n_jobs={args.sklearn_jobs}): {sk['seconds']:.3f} s, peak RSS {sk['peak_rss_mib']:.0f} MiB")
            print("agreement:", json.dumps(compare(tmp)))
            ours_t = ours["seconds_dbscan"] + ours["seconds_index"]
            print(f"ratio scikit-learn / spectromine (index + dbscan): {sk['seconds'] / ours_t:.1f}x; "
                  f"vs whole partition (features, PCA, auto eps included): {sk['seconds'] / ours['seconds_partition_total']:.1f}x")
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
