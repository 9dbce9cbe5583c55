#!/usr/bin/env bash
# Fuzzes one parser of outside input with libFuzzer: scripts/fuzz.sh TARGET SECONDS
# Targets: ledger, intake, alert-rules, series-csv, ets-model, api-query (Sources/Fuzzing).
#
# The fuzzing build lives in .build-fuzz, apart from the ordinary one: every Swift module is compiled with
# AddressSanitizer and coverage, and linked with libFuzzer's library without its main (empmon-fuzz calls
# LLVMFuzzerRunDriver itself). Seeds come from Fuzz/corpus/TARGET; what the fuzzer learns stays in .build-fuzz.
# A crash leaves its input in .build-fuzz/crashes/TARGET and fails the script: copy it into
# Fuzz/regressions/TARGET, where the test suite replays it for ever.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh TARGET SECONDS}
seconds=${2:?usage: scripts/fuzz.sh TARGET SECONDS}
source scripts/env.sh

resource=$(dirname "$(dirname "$(command -v swift)")")/lib/clang
fuzzer_library=$(ls "$resource"/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a 2>/dev/null | head -1)
[[ -n "$fuzzer_library" ]] || { echo "fuzz.sh: this toolchain has no libclang_rt.fuzzer_no_main" >&2; exit 1; }

if [[ "${EMPMON_FUZZ_SKIP_BUILD:-}" != 1 ]]; then
  swift build --scratch-path .build-fuzz --product empmon-fuzz \
    -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table \
    -Xlinker "$fuzzer_library" -Xlinker -lstdc++ \
    -Xlinker --undefined=LLVMFuzzerRunDriver -Xlinker --export-dynamic-symbol=LLVMFuzzerRunDriver 2>&1 \
    | grep -v -e "Cannot export local symbol" -e "unhandled; explicitly declare" -e "CMakeLists.txt" -e "PrivacyInfo" -e "^\[[0-9]*/[0-9]*\]" || true
fi
binary=.build-fuzz/debug/empmon-fuzz
[[ -x "$binary" ]] || { echo "fuzz.sh: the fuzzing build failed" >&2; exit 1; }

corpus=.build-fuzz/corpus/$target
crashes=.build-fuzz/crashes/$target
mkdir -p "$corpus" "$crashes"
cp -n Fuzz/corpus/"$target"/* "$corpus"/ 2>/dev/null || true
log=.build-fuzz/$target.log
set +e
# -rss_limit_mb: a parser that needs more than this for a small input is a finding too, and so is memory that grows
# with every input. -detect_leaks=0: LeakSanitizer reports the Swift runtime's and Foundation's one-time caches
# (type metadata, string encoders) as leaks, during the run and again at exit; those are not findings.
# EMPMON_FUZZ_SEED fixes libFuzzer's random seed (CI sets one, so that a run can be repeated); unset, each run differs.
ASAN_OPTIONS=detect_leaks=0 "$binary" "$target" -seed="${EMPMON_FUZZ_SEED:-0}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -detect_leaks=0 \
  -artifact_prefix="$crashes/" -print_final_stats=1 "$corpus" > "$log" 2>&1
status=$?
set -e
grep -v "^#[0-9]*	\(NEW\|REDUCE\|pulse\)" "$log" | grep -v "^    #[0-9]" | tail -25
grep -q "stat::number_of_executed_units" "$log" || { echo "fuzz.sh: libFuzzer did not run (see $log)" >&2; exit 1; }
if [[ $status -ne 0 ]] || compgen -G "$crashes/*" > /dev/null; then
  grep -m1 -A30 -e "Fatal error" -e "ERROR: AddressSanitizer" -e "deadly signal" -e "out-of-memory" -e "timeout" "$log" | head -40 >&2
  echo "fuzz.sh: $target found a failing input: $(ls "$crashes")" >&2
  exit 1
fi
echo "fuzz.sh: $target ran ${seconds} s without a crash"
