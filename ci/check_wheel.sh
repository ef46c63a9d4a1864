#!/usr/bin/env bash
# Builds graphvar's wheel, installs it (not editable) into a fresh venv outside the checkout, and from
# there runs a Session, reads every kernel source through the installed package and compiles each
# .cu with NVRTC (libnvrtc from the checkout's .venv, where the test extra installed it).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# build in a copy: setuptools leaves build/ and *.egg-info next to the sources it builds
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$work" --one-top-level=src
.venv/bin/pip wheel -q --no-deps "$work/src" -w "$work/dist"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$work"/dist/graphvar-*.whl
nvrtc="$(.venv/bin/python -c 'import sys; sys.path.insert(0, "ci"); import nvrtc; print(nvrtc.find_nvrtc() or "")')"
cd "$work"
"$work/venv/bin/python" "$repo/ci/wheel_smoke.py" "$work/src" ${nvrtc:+"$nvrtc"}
echo "check_wheel: ok ($(basename "$work"/dist/graphvar-*.whl))"
