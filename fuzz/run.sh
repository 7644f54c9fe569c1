#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (default 60 s each) and prints
# how many inputs each one ran. Usage: fuzz/run.sh [seconds] [target...]
# Needs cargo-fuzz (`cargo install cargo-fuzz`). The machine's Rust is
# stable: RUSTC_BOOTSTRAP lets cargo-fuzz pass the coverage flags it needs;
# no sanitizer is used (the code is safe Rust; what is looked for is panics,
# overflows included: debug assertions are on).
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH="${1:-60}"
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  mapfile -t TARGETS < <(cargo fuzz list)
fi
export RUSTC_BOOTSTRAP=1
cargo fuzz build --sanitizer none --debug-assertions
status=0
printf '%-16s %12s %8s\n' target runs seconds
for target in "${TARGETS[@]}"; do
  mkdir -p "corpus/$target"
  log="$(mktemp)"
  if ! cargo fuzz run --sanitizer none --debug-assertions "$target" "corpus/$target" -- \
      -max_total_time="$SECONDS_EACH" -max_len=4096 -print_final_stats=1 >"$log" 2>&1; then
    echo "$target: FAILED (see artifacts/$target)"
    grep -A4 'panicked' "$log" | head -12 || true
    grep -A2 'Failing input' "$log" || true
    status=1
  fi
  runs="$(grep -Eo 'Done [0-9]+ runs' "$log" | grep -Eo '[0-9]+' | tail -1 || true)"
  printf '%-16s %12s %8s\n' "$target" "${runs:-?}" "$SECONDS_EACH"
  rm -f "$log"
done
exit $status
