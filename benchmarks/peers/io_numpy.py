#!/usr/bin/python3
"""Peer benchmark: reading a cube into pixel-major (H x W x E) memory with
NumPy / tifffile / h5py vs spectromine's readers, on THE SAME files in the
same run.

    /usr/bin/python3 benchmarks/peers/io_numpy.py \
        --bench build-io/benchmarks/io/bench_io --shape 512,512,256 --repeats 5

Writes a seeded float32 cube with NumPy (cube_f32.npy, cube_f64.npy),
tifffile (cube.tif: one page per energy) and h5py (cube.h5 /data as
rows x cols x energies; cube_ehw.h5 /data as energies x rows x cols) into
--tmp, times the Python readers (best of --repeats; TIFF and ehw results
made pixel-major with np.ascontiguousarray(np.moveaxis(...)), since that is
the layout every spectral kernel needs), runs the C++ benchmark binary on
the same files (JSON), checks both read the same values, and prints GB/s
and the ratio. Files are read from the page cache on both sides.
"""
import argparse, json, os, subprocess, time
import numpy as np
import h5py
import tifffile


def best(f, repeats):
    t = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = f()
        t.append(time.perf_counter() - t0)
    return min(t), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True)
    ap.add_argument("--shape", default="512,512,256")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--tmp", default="/tmp/spectromine_io_peer")
    a = ap.parse_args()
    H, W, E = map(int, a.shape.split(","))
    os.makedirs(a.tmp, exist_ok=True)
    rng = np.random.default_rng(0)
    cube = rng.random((H, W, E), dtype=np.float32)
    np.save(os.path.join(a.tmp, "cube_f32.npy"), cube)
    np.save(os.path.join(a.tmp, "cube_f64.npy"), cube.astype(np.float64))
    tifffile.imwrite(os.path.join(a.tmp, "cube.tif"), np.ascontiguousarray(np.moveaxis(cube, 2, 0)),
                     photometric="minisblack")
    with h5py.File(os.path.join(a.tmp, "cube.h5"), "w") as f:
        f["data"] = cube
    with h5py.File(os.path.join(a.tmp, "cube_ehw.h5"), "w") as f:
        f["data"] = np.ascontiguousarray(np.moveaxis(cube, 2, 0))
    gb = cube.nbytes / 1e9

    def h5(path):
        with h5py.File(path, "r") as f:
            return f["data"][()]

    peers = {
        "BM_read_npy_float32": lambda: np.load(os.path.join(a.tmp, "cube_f32.npy")),
        "BM_read_npy_float64_to_float32": lambda: np.load(os.path.join(a.tmp, "cube_f64.npy")).astype(np.float32),
        "BM_read_tiff": lambda: np.ascontiguousarray(np.moveaxis(tifffile.imread(os.path.join(a.tmp, "cube.tif")), 0, 2)),
        "BM_read_hdf5_hwe": lambda: h5(os.path.join(a.tmp, "cube.h5")),
        "BM_read_hdf5_ehw": lambda: np.ascontiguousarray(np.moveaxis(h5(os.path.join(a.tmp, "cube_ehw.h5")), 0, 2)),
        "BM_memcpy": lambda: cube.copy(),
    }
    times = {}
    for name, f in peers.items():
        t, out = best(f, a.repeats)
        assert out.shape == cube.shape and np.array_equal(out, cube), name
        times[name] = t

    env = dict(os.environ, SPECTROMINE_BENCH_DIR=a.tmp)
    res = subprocess.run([a.bench, "--benchmark_format=json",
                          "--benchmark_repetitions=%d" % a.repeats,
                          "--benchmark_filter=" + "|".join(peers)],
                         env=env, check=True, capture_output=True, text=True)
    cpp = {}
    for b in json.loads(res.stdout)["benchmarks"]:
        if b.get("run_type") == "iteration":
            name = b["name"].split("/")[0]
            ms = b["real_time"] * {"ms": 1e-3, "us": 1e-6, "ns": 1e-9, "s": 1.0}[b["time_unit"]]
            cpp[name] = min(cpp.get(name, 1e30), ms)
    print(f"cube {H} x {W} x {E} float32 = {gb:.3f} GB, best of {a.repeats}, page cache warm")
    print(f"{'read':34s} {'python':>20s} {'spectromine':>20s} {'ratio':>7s}")
    for name in peers:
        tp, tc = times[name], cpp[name]
        print(f"{name:34s} {tp*1e3:9.1f} ms {gb/tp:5.2f} GB/s {tc*1e3:9.1f} ms {gb/tc:5.2f} GB/s {tp/tc:6.2f}x")


if __name__ == "__main__":
    main()
