#!/usr/bin/env bash
# One-shot check of the CUDA path on a real GPU (issue 13, item 7): ci/gpu_check.sh OUTDIR
#
# From a checkout whose venv (.venv, or $PYTHON) has graphvar and CuPy installed; needs no network.
# Runs, each under its own time limit (about 7 minutes in all on one H100/H200):
#   1. the backend-parametrized suite on the real device (tests/backends/test_*every_backend*.py,
#      GRAPHVAR_TEST_BACKENDS=numpy,cupy: the NumPy reference and the real CuPy parameters, no fake)
#   2. tests/gpu (the real-device checks; -m "not slow" unless GPU_CHECK_SLOW=1)
#   3. python -m benchmarks --only gpu --only gpu_saver --quick
# and writes to OUTDIR: gpu_check.log (everything), versions.json (device, driver, CUDA, CuPy, Python),
# junit-*.xml, benchmarks.json and results.json (per step: exit status, seconds, test counts).
# Exits 2 at once, saying why, when CuPy is missing or sees no CUDA device; else non-zero if any step failed.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ $# -ne 1 ]; then
  echo "usage: ci/gpu_check.sh OUTDIR" >&2
  exit 64
fi
OUT=$1
mkdir -p "$OUT" || exit 1
OUT=$(cd "$OUT" && pwd)
PY=${PYTHON:-.venv/bin/python}
LOG="$OUT/gpu_check.log"
: >"$LOG"

# ---- the device, or a clear failure ----
if ! "$PY" - "$OUT/versions.json" >>"$LOG" 2>&1 <<'EOF'
import json, platform, sys
try:
    import cupy
except Exception as e:
    sys.exit(f"gpu_check: CuPy does not import ({type(e).__name__}: {e}); install graphvar[cuda12] first")
try:
    count = cupy.cuda.runtime.getDeviceCount()
except Exception as e:
    sys.exit(f"gpu_check: no usable CUDA device ({type(e).__name__}: {e})")
if count < 1:
    sys.exit("gpu_check: CuPy sees 0 CUDA devices")
rt = cupy.cuda.runtime
props = [rt.getDeviceProperties(i) for i in range(count)]
info = {
    "devices": [{"name": p["name"].decode() if isinstance(p["name"], bytes) else p["name"],
                 "compute_capability": f"{p['major']}.{p['minor']}", "memory_bytes": int(p["totalGlobalMem"]),
                 "sm_count": int(p["multiProcessorCount"])} for p in props],
    "driver_version": rt.driverGetVersion(), "runtime_version": rt.runtimeGetVersion(),
    "cupy": cupy.__version__, "python": platform.python_version(), "platform": platform.platform(),
}
try:
    import subprocess
    info["nvidia_smi"] = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                                        capture_output=True, text=True, timeout=30).stdout.strip()
except Exception as e:  # nvidia-smi is optional
    info["nvidia_smi"] = f"unavailable: {e}"
json.dump(info, open(sys.argv[1], "w"), indent=1)
print(json.dumps(info, indent=1))
EOF
then
  tail -n 3 "$LOG" >&2
  echo "gpu_check: FAILED: no GPU to check (see $LOG)" >&2
  exit 2
fi

declare -A STATUS SECONDS_TAKEN
run_step() {  # run_step NAME LIMIT_SECONDS COMMAND...
  local name=$1 limit=$2
  shift 2
  echo "==== $name: $* (limit ${limit}s)" | tee -a "$LOG"
  local t0=$SECONDS
  timeout --signal=INT --kill-after=20 "$limit" "$@" >>"$LOG" 2>&1
  STATUS[$name]=$?
  SECONDS_TAKEN[$name]=$((SECONDS - t0))
  echo "==== $name: exit ${STATUS[$name]} in ${SECONDS_TAKEN[$name]}s" | tee -a "$LOG"
}

SLOW=(-m "not slow")
[ "${GPU_CHECK_SLOW:-0}" = 1 ] && SLOW=()
export GRAPHVAR_TEST_BACKENDS=numpy,cupy  # the parametrized suite's real-device parameter, not the fake
run_step backend_suite 150 "$PY" -m pytest -q -p no:cacheprovider tests/backends/test_*every_backend*.py \
  --junitxml="$OUT/junit-backend_suite.xml"
run_step tests_gpu 150 "$PY" -m pytest -q -p no:cacheprovider tests/gpu "${SLOW[@]}" -rs \
  --junitxml="$OUT/junit-tests_gpu.xml"
run_step benchmarks 120 "$PY" -m benchmarks --only gpu --only gpu_saver --quick --json "$OUT/benchmarks.json"

"$PY" - "$OUT" "${STATUS[backend_suite]}" "${SECONDS_TAKEN[backend_suite]}" "${STATUS[tests_gpu]}" \
  "${SECONDS_TAKEN[tests_gpu]}" "${STATUS[benchmarks]}" "${SECONDS_TAKEN[benchmarks]}" <<'EOF' | tee -a "$LOG"
import datetime, json, os, sys
import xml.etree.ElementTree as ET
out, a = sys.argv[1], sys.argv[2:]
steps = {}
for k, name in enumerate(("backend_suite", "tests_gpu", "benchmarks")):
    step = {"exit": int(a[2 * k]), "seconds": int(a[2 * k + 1])}
    junit = os.path.join(out, f"junit-{name}.xml")
    if os.path.exists(junit):
        suite = ET.parse(junit).getroot()
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        step.update({key: int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")})
    steps[name] = step
doc = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
       "ok": all(s["exit"] == 0 for s in steps.values()), "steps": steps,
       "versions": json.load(open(os.path.join(out, "versions.json")))}
json.dump(doc, open(os.path.join(out, "results.json"), "w"), indent=1)
print(json.dumps({"ok": doc["ok"], "steps": steps}, indent=1))
EOF
for s in backend_suite tests_gpu benchmarks; do
  [ "${STATUS[$s]}" = 0 ] || { echo "gpu_check: FAILED ($s exited ${STATUS[$s]}); see $LOG" >&2; exit 1; }
done
echo "gpu_check: OK; results in $OUT"
