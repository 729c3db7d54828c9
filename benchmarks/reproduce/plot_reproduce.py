#!/usr/bin/python3
"""PNG plots of the reproduce experiments (benchmarks/README.md).

    /usr/bin/python3 benchmarks/reproduce/plot_reproduce.py RUN_DIR OUT_DIR

RUN_DIR holds the CSV files written by `bench_reproduce all RUN_DIR`
(noise.csv, ksize.csv, twice.csv, rims.csv); writes noise_classes.png,
noise_error.png, ksize.png, twice_histogram.png, rims.png into OUT_DIR.
Needs python3-matplotlib (scripts/setup-debian.sh).
"""
import csv
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def rows(path, lead=None, tail=None, split=None):
    """CSV rows as dicts. Text fields are quoted by bench_reproduce; rows of
    older runs with unquoted commas inside a text field are repaired by
    keeping `lead` leading and `tail` trailing fields and `split`ting the
    middle into the text fields."""
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:  # an interrupted run
            return []
        out = []
        for r in reader:
            if len(r) != len(header):
                middle = ",".join(r[lead:len(r) - tail])
                r = r[:lead] + split(middle) + r[len(r) - tail:]
            out.append(dict(zip(header, r)))
        return out


def split_method_repair(middle):
    for repair in ("none", "window_core 5,23 + fill"):
        if middle.endswith("," + repair):
            return [middle[: -len(repair) - 1], repair]
    raise ValueError(middle)


def main(run, out):
    run, out = Path(run), Path(out)
    out.mkdir(parents=True, exist_ok=True)

    if (run / "noise.csv").exists():
        plot_noise(run, out)
    if (run / "ksize.csv").exists():
        plot_ksize(run, out)
    if (run / "twice.csv").exists():
        plot_twice(run, out)
    if (run / "rims.csv").exists():
        plot_rims(run, out)


def plot_noise(run, out):
    noise = rows(run / "noise.csv", 4, 5, split_method_repair)
    series = defaultdict(list)
    for r in noise:
        series[(r["method"], r["repair"])].append(
            (float(r["f"]), int(r["classes"]), 100 * float(r["error"])))
    for what, idx, ylabel, name in (("classes", 1, "number of classes", "noise_classes.png"),
                                    ("error", 2, "misclassified pixels (%)", "noise_error.png")):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for (method, repair), pts in series.items():
            label = method + ("" if repair == "none" else " + repair")
            ax.plot([p[0] for p in pts], [p[idx] for p in pts], marker="o", label=label,
                    linestyle="-" if repair == "none" else "--")
        ax.set_xlabel("noise level f (0: 2.7e4, 0.36, 1.56; 1: 2.0e4, 0.5, 2.5)")
        ax.set_ylabel(ylabel)
        if what == "classes":
            ax.set_yscale("log")
        ax.set_title(f"400 x 400 needle scene: {ylabel} vs noise")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        plt.close(fig)


def plot_ksize(run, out):
    ks = rows(run / "ksize.csv")
    fig, ax = plt.subplots(figsize=(6, 4))
    for f in sorted({r["f"] for r in ks}):
        smallest = {}
        for r in ks:
            if r["f"] == f and r["detected"] == "1":
                k = int(r["k"])
                smallest[k] = min(smallest.get(k, 10 ** 9), int(r["needle"]))
        kk = sorted(smallest)
        ax.plot(kk, [smallest[k] for k in kk], marker="o", label=f"noise f = {float(f):g}")
    ax.set_xlabel("K_size (P_num = round(0.92 K^2))")
    ax.set_ylabel("smallest detected needle side (px)")
    ax.set_title("Smallest detectable needle vs repair window")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "ksize.png", dpi=110)
    plt.close(fig)


def plot_twice(run, out):
    tw = rows(run / "twice.csv")
    groups = defaultdict(list)
    for r in tw:
        groups[(r["f"], r["method"])].append((int(r["difference"]), int(r["pixels"])))
    fig, axes = plt.subplots(1, len(groups), figsize=(3.2 * len(groups), 3.5), squeeze=False)
    for ax, ((f, method), pts) in zip(axes[0], sorted(groups.items())):
        ax.bar([p[0] for p in pts], [p[1] for p in pts])
        ax.set_yscale("log")
        ax.set_title(f"{method}\nnoise f = {float(f):g}", fontsize=8)
        ax.set_xlabel("label A - matched label B")
    axes[0][0].set_ylabel("pixels")
    fig.suptitle("Same sample, two noise realizations (Duan 2016 style)", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "twice_histogram.png", dpi=110)
    plt.close(fig)


def plot_rims(run, out):
    rims = rows(run / "rims.csv", 1, 5, lambda m: [m])
    if not rims:
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    labels = [f"f={float(r['f']):g}\n{r['repair'].split(' ')[0]}" for r in rims]
    kept = [100 * int(r["rim_kept"]) / max(1, int(r["rim_pixels"])) for r in rims]
    ax.bar(range(len(rims)), kept)
    for i, r in enumerate(rims):
        ax.text(i, kept[i] + 1, f"{r['classes']} cl", ha="center", fontsize=7)
    ax.set_xticks(range(len(rims)))
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_ylabel("rim pixels kept in the rim's class (%)")
    ax.set_title("3-pixel 50:50 rim: paper repair vs rim-keeping repair")
    fig.tight_layout()
    fig.savefig(out / "rims.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
