#!/usr/bin/env bash
# Long local fuzzing: runs each target (or those named) for SECONDS, one at a time, single job,
# with overflow checks (-a). New inputs go to fuzz/corpus-local/<target> (git-ignored; seed it
# from ../shared/captures with the write_fuzz_seeds test, see crates/wiretale/tests/regressions.rs);
# the committed seeds in fuzz/corpus/<target> are read but not written. Crashes land in
# fuzz/artifacts/<target>/. Logs: fuzz/logs/<target>.log (last status line = plateau numbers).
#
# usage: fuzz/plateau.sh SECONDS [target...]
set -uo pipefail
cd "$(dirname "$0")"
secs=${1:?seconds per target}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(tcp_reassembly tls_stream http_stream pipeline capture_reader net_decode ntlm_message display_filter)
fi
export RUSTC_BOOTSTRAP=1
mkdir -p logs
for t in "${targets[@]}"; do
  case $t in
    pipeline|capture_reader) max_len=65536 ;;
    tcp_reassembly|tls_stream|http_stream) max_len=16384 ;;
    *) max_len=4096 ;;
  esac
  mkdir -p "corpus-local/$t"
  echo "== $t ($secs s)"
  cargo fuzz run -a "$t" "corpus-local/$t" "corpus/$t" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" \
    -print_final_stats=1 >"logs/$t.log" 2>&1
  echo "exit $? ; $(grep -E '^#[0-9]+' "logs/$t.log" | tail -1)"
done
