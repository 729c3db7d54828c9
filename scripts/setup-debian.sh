#!/usr/bin/env bash
# Installs the Debian packages spectromine needs to build, test, benchmark and
# run its demo. Does nothing when they are all present. Needs root (or sudo).
set -euo pipefail

packages=(
  # toolchain
  g++ cmake make pkg-config git
  # library dependencies (header-only or -dev)
  libeigen3-dev xtensor-dev xtl-dev libxsimd-dev libboost-dev nlohmann-json3-dev
  # optional components: TIFF, HDF5, PNG, MPI, xraylib (MBACK cross-sections)
  libtiff-dev libhdf5-dev libpng-dev libopenmpi-dev openmpi-bin libxrl-dev
  # command line, tests, benchmarks
  libcli11-dev doctest-dev libbenchmark-dev
  # API reference (docs/Doxyfile, ctest packaging_doxygen)
  doxygen
  # fuzzers and sanitizer builds (scripts/fuzz.sh, scripts/test-sanitizers.sh)
  clang-14 libclang-rt-14-dev llvm-14
  # peers timed by the benchmark scripts
  # OpenBLAS so the NumPy peers run at full speed (reference BLAS would flatter us)
  libopenblas0-pthread
  python3 python3-numpy python3-sklearn python3-xraylarch python3-skimage python3-h5py python3-tifffile python3-matplotlib
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} Debian packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install packages" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
