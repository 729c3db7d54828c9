#!/usr/bin/python3
"""Peer benchmark: registering every frame of an energy stack to a reference
frame, scikit-image's phase_cross_correlation (Guizar-Sicairos 2008 upsampled
DFT, the same upsample factor) vs spectromine's register_stack, on THE SAME
frames in the same run.

    /usr/bin/python3 benchmarks/peers/register_skimage.py \
        --bench build-align/benchmarks/align/bench_align_stack --size 1024 --bands 178

Writes a float32 stack (size x size x bands, pixel-major as spectromine
reads it) to --tmp: a smooth random texture whose frames drift by known
integer offsets (a slow random walk) and change contrast with energy, plus
noise. Then:
  - spectromine: bench_align_stack (registration only, frames extracted from
    the pixel-major cube inside the timing; gradient filter + Tukey window,
    i.e. MORE work per frame than scikit-image does), 1 and 2 threads;
  - scikit-image: frames pre-extracted to contiguous arrays (not timed), then
    (a) phase_cross_correlation(reference, frame, upsample_factor=U) per frame
        (the documented call: 3 FFTs per frame), and
    (b) the fastest form of its API: the reference FFT computed once, then
        fft2(frame) + phase_cross_correlation(..., space="fourier") per frame.
Prints wall and CPU times (CPU: the contention-free measure on a shared
machine), ratios against the faster of (a)/(b), and the error of each
method's shifts against the known drifts (scikit-image has no window, so
content entering/leaving at the borders costs it accuracy).
"""
import argparse, json, os, subprocess, sys, time
import numpy as np
from skimage.registration import phase_cross_correlation
import skimage


def make_stack(size, bands, seed, margin=16):
    rng = np.random.default_rng(seed)
    n = size + 2 * margin
    noise = rng.standard_normal((n, n))
    fy = np.fft.fftfreq(n)[:, None]
    fx = np.fft.fftfreq(n)[None, :]
    # Smooth texture: Gaussian low-pass (sigma ~ 2.5 px) of white noise, plus
    # a second coarser texture whose contrast flips with energy.
    base = np.real(np.fft.ifft2(np.fft.fft2(noise) * np.exp(-2 * np.pi**2 * 2.5**2 * (fy**2 + fx**2))))
    other = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal((n, n))) *
                                 np.exp(-2 * np.pi**2 * 6.0**2 * (fy**2 + fx**2))))
    base /= base.std()
    other /= other.std()
    steps = rng.integers(-1, 2, size=(bands, 2))
    drift = np.cumsum(steps, axis=0)
    drift -= drift[bands // 2]
    drift = np.clip(drift, -margin + 1, margin - 1)
    stack = np.empty((size, size, bands), dtype=np.float32)
    for b in range(bands):
        t = b / max(bands - 1, 1)
        frame = base + (2 * t - 1) * other
        dy, dx = drift[b]
        # frame_b(y, x) = scene(y - dy, x - dx): content moved by +drift.
        crop = frame[margin - dy:margin - dy + size, margin - dx:margin - dx + size]
        stack[:, :, b] = crop + 0.05 * rng.standard_normal((size, size))
    return stack, drift


def errors(shifts, drift):
    # Applied shift should be -(drift_b - drift_ref) with drift_ref = 0.
    e = np.abs(np.asarray(shifts) + drift)
    return float(np.median(e)), float(e.max())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True, help="path to bench_align_stack")
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--bands", type=int, default=178)
    ap.add_argument("--upsample", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tmp", default="/tmp/spectromine_register_peer")
    ap.add_argument("--skip-plain", action="store_true", help="skip skimage form (a)")
    args = ap.parse_args()
    os.makedirs(args.tmp, exist_ok=True)
    path = os.path.join(args.tmp, "stack_%d_%d.npy" % (args.size, args.bands))
    stack, drift = make_stack(args.size, args.bands, args.seed)
    np.save(path, stack)
    ref_band = args.bands // 2
    print("stack %d x %d x %d float32 (%.2f GB), upsample %d, reference band %d, scikit-image %s, numpy %s"
          % (args.size, args.size, args.bands, stack.nbytes / 1e9, args.upsample, ref_band,
             skimage.__version__, np.__version__))

    results = {}
    for threads in (1, 2):
        out = subprocess.run([args.bench, path, "--threads", str(threads), "--upsample",
                              str(args.upsample), "--mode", "reference"],
                             check=True, capture_output=True, text=True).stdout
        r = json.loads(out)
        assert r["reference_band"] == ref_band
        results["spectromine %d thread%s" % (threads, "s" if threads > 1 else "")] = (
            r["seconds"], r["cpu_seconds"], r["shifts"])

    frames = [np.ascontiguousarray(stack[:, :, b], dtype=np.float64) for b in range(args.bands)]
    del stack
    ref = frames[ref_band]
    if not args.skip_plain:
        t0, c0 = time.perf_counter(), time.process_time()
        shifts = [phase_cross_correlation(ref, f, upsample_factor=args.upsample)[0] for f in frames]
        results["scikit-image (a) plain call"] = (time.perf_counter() - t0, time.process_time() - c0, shifts)
    t0, c0 = time.perf_counter(), time.process_time()
    ref_fft = np.fft.fft2(ref)
    shifts = [phase_cross_correlation(ref_fft, np.fft.fft2(f), upsample_factor=args.upsample,
                                      space="fourier")[0] for f in frames]
    results["scikit-image (b) cached reference FFT"] = (time.perf_counter() - t0, time.process_time() - c0, shifts)

    sk = min(v[0] for k, v in results.items() if k.startswith("scikit"))
    sk_cpu = min(v[1] for k, v in results.items() if k.startswith("scikit"))
    print("| method | wall s | wall s/frame | wall ratio | CPU s (all threads) | CPU ratio "
          "| median / max error vs known drift (px) |")
    print("|---|---|---|---|---|---|---|")
    for k, (sec, cpu, shifts) in results.items():
        med, worst = errors(shifts, drift)
        print("| %s | %.2f | %.4f | %.2fx | %.2f | %.2fx | %.3f / %.3f |"
              % (k, sec, sec / args.bands, sk / sec, cpu, sk_cpu / cpu, med, worst))
    try:
        print("load average:", ", ".join("%.1f" % x for x in os.getloadavg()))
    except OSError:
        pass
    os.remove(path)


if __name__ == "__main__":
    main()
