#!/usr/bin/env bash
# Porter side-by-side benchmark: Porter's turbocache vs Phusion Passenger's turbocache vs nginx proxy_cache vs Varnish,
# with a bare Kestrel program as the ceiling; one machine, one run.
#   bench/run.sh [--quick] [--no-micro | --micro-only] [--cases hit,fast,slow,vary,keys,herd,memory,cold,faults]
# --quick: 3 s wrk runs, fewer herd rounds / entries / cold starts, no micro-benchmarks (a previous micro
#          report is included if one exists). Everything listens on 127.0.0.1 only; every process started is
#          stopped by PID; every load run is bounded in time. Writes bench/RESULTS.md and bench/results.json.
# faults: the fault-injection scenarios of bench/faults.py (a Porter cluster on 127.0.0.2-6), run on their own.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$(pwd)

QUICK=0
FAULTS=0
HARNESS_ONLY_FAULTS=0
MICRO=1
MICRO_ONLY=0
HARNESS_ARGS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1; MICRO=0; HARNESS_ARGS+=(--quick) ;;
    --no-micro) MICRO=0 ;;
    --micro) MICRO=1 ;;
    --micro-only) MICRO_ONLY=1; MICRO=1 ;;
    --cases)
      # faults is bench/faults.py's; the rest go to the harness.
      [[ ",$2," == *",faults,"* ]] && FAULTS=1
      CASES=$(echo ",$2," | sed 's/,faults,/,/g; s/^,//; s/,$//')
      [[ -n "$CASES" ]] && HARNESS_ARGS+=(--cases "$CASES") || HARNESS_ONLY_FAULTS=1
      shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

say() { echo "[run.sh $(date +%H:%M:%S)] $*"; }

# 1. Tools from Debian packages, only when missing (apt-get update once).
missing=()
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
command -v varnishd >/dev/null 2>&1 || [[ -x /usr/sbin/varnishd ]] || missing+=(varnish)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v passenger >/dev/null 2>&1 || missing+=(passenger)
if [[ ${#missing[@]} -gt 0 ]]; then
  say "installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update
  # Debian's packages would start system services; policy-rc.d (if present) or no init keeps them off.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y "${missing[@]}"
fi
export PATH="$PATH:/usr/sbin:/sbin"
command -v node >/dev/null || { echo "run.sh: node (Node.js) is required" >&2; exit 1; }
command -v python3 >/dev/null || { echo "run.sh: python3 is required" >&2; exit 1; }

# .NET diagnostics tools from the NuGet tool feed, optional: dotnet-gcdump induces a full GC before each RSS reading
# of the memory case; dotnet-counters and dotnet-trace profile Porter in separate runs after the measured ones.
TOOLS="${XDG_CACHE_HOME:-$HOME/.cache}/porter-bench-tools"
for tool in dotnet-gcdump dotnet-counters dotnet-trace; do
  if command -v "$tool" >/dev/null 2>&1; then
    path=$(command -v "$tool")
  else
    if [[ ! -x "$TOOLS/$tool" ]]; then
      say "installing $tool into $TOOLS"
      dotnet tool install --tool-path "$TOOLS" "$tool" >/dev/null || say "$tool unavailable: going on without it"
    fi
    path=""
    [[ -x "$TOOLS/$tool" ]] && path="$TOOLS/$tool"
  fi
  if [[ -n "$path" ]]; then
    case "$tool" in
      dotnet-gcdump) HARNESS_ARGS+=(--gcdump "$path") ;;
      dotnet-counters) HARNESS_ARGS+=(--dotnet-counters "$path") ;;
      dotnet-trace) HARNESS_ARGS+=(--dotnet-trace "$path") ;;
    esac
  fi
done

MICRO_REPORT="$REPO/bench/Micro/RESULTS-micro.md"

run_micro() {
  say "micro-benchmarks (BenchmarkDotNet, short job)"
  local art="$REPO/bench/Micro/BenchmarkDotNet.Artifacts"
  rm -rf "$art"
  dotnet run -c Release --project bench/Micro -- --filter '*' --job short --artifacts "$art" \
    --exporters github
  # One markdown file: every class's GitHub-flavoured table, in name order.
  {
    echo "Run: \`dotnet run -c Release --project bench/Micro -- --filter '*' --job short\` ($(date '+%Y-%m-%d %H:%M %Z'))."
    echo
    local first=1
    for f in $(ls "$art"/results/*-report-github.md | sort); do
      local name
      name=$(basename "$f" -report-github.md)
      echo "### ${name##*.}"
      echo
      # BenchmarkDotNet repeats the environment block per class: keep it once.
      if [[ $first -eq 1 ]]; then sed -n '/^```/,/^```/p' "$f"; echo; first=0; fi
      sed '/^```/,/^```/d' "$f" | sed "s/&#39;/'/g" | cat -s
      echo
    done
  } > "$MICRO_REPORT"
  say "micro report: $MICRO_REPORT"
}

if [[ $MICRO_ONLY -eq 1 ]]; then
  run_micro
  exit 0
fi

# 2. Porter in Release, published with ahead-of-time (ReadyToRun) code as a deployment would be, and the Kestrel
#    ceiling (bench/Ceiling) published the same way, so that the two differ only in what they do per request.
say "publishing Porter and the Kestrel ceiling (Release, ReadyToRun)"
dotnet publish -c Release src/Gateway -p:PublishReadyToRun=true -o src/Gateway/bin/Release/net10.0/publish -v q -nologo
dotnet publish -c Release bench/Ceiling -p:PublishReadyToRun=true -o bench/Ceiling/bin/Release/net10.0/publish -v q -nologo

# Fault injection: its own script and cluster, right after the publish.
if [[ $FAULTS -eq 1 ]]; then
  say "faults: python3 bench/faults.py"
  python3 bench/faults.py $([[ $QUICK -eq 1 ]] && echo --quick)
  [[ $HARNESS_ONLY_FAULTS -eq 1 ]] && exit 0
fi

# 3. Micro-benchmarks first on a full run (the machine is quiet before the servers start).
if [[ $MICRO -eq 1 ]]; then run_micro; fi

# 4. The side-by-side run.
ARGS=("${HARNESS_ARGS[@]}")
[[ -f "$MICRO_REPORT" ]] && ARGS+=(--micro-report "$MICRO_REPORT")
say "harness: python3 bench/harness.py ${ARGS[*]}"
# The interpreter itself (not a version-manager shim that would fork it), so signals reach the harness.
PY=$(python3 -c "import sys; print(sys.executable)")
exec "$PY" bench/harness.py "${ARGS[@]}"
