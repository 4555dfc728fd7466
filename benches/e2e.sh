#!/usr/bin/env bash
# End-to-end benchmark: wiretale, the wiretale library, tshark and the read floor on the same
# generated captures, in the same run, page cache warm (each file evicted, then read once in
# order, so that its cached layout is the same in every run). Prints a Markdown table.
#
#   benches/e2e.sh [--small] [--cmd "story"] [--runs N] [--shapes "mixed bulk-tls many-conns"]
#                  [--threads "1 2"] [--no-tshark] [--dir DIR]
#
#   --small       ~64 MiB mixed, ~64 MiB bulk-tls, 50 k connections (a quick run)
#   --cmd CMD     the wiretale command line under test, before the file (default: "flows";
#                 e.g. "story", "timeline --format jsonl")
#   --runs N      best of N runs for the wiretale and library rows (default 1)
#   --threads L   one CLI row per thread count in L, run as `wiretale CMD --threads N FILE`
#                 (default: one row with the CLI's default)
#   --dir DIR     where the workloads go (default /tmp/wiretale-bench; never in the repo)
#
# Rows per capture:
#   read floor     pcap-parser + etherparse slicing every packet (benches/src/bin/read-floor.rs)
#   wiretale lib   wiretale::pipeline::analyze with a sink that ignores events (analyze-null)
#   wiretale CMD   the CLI, output to /dev/null
#   tshark         tshark -T fields with the fields of issue 6, output to /dev/null
# Columns: wall seconds, MB/s (10^6 bytes of file per second), packets/s, peak RSS, speed as a
# multiple of tshark's, speed as a share of the read floor's, RSS as a share of tshark's, and
# user-space instructions per packet (`perf stat -e instructions:u`, one more run of each
# wiretale and read-floor row; "–" without a working perf). Wall time on a shared machine can
# swing 2× within minutes; the instruction count does not, so compare runs by it.
set -euo pipefail
cd "$(dirname "$0")/.."

small=0
cmd="flows"
runs=1
shapes="mixed bulk-tls many-conns"
tshark=1
threads=""
dir=/tmp/wiretale-bench
while [ $# -gt 0 ]; do
  case "$1" in
    --small) small=1 ;;
    --cmd) cmd="$2"; shift ;;
    --runs) runs="$2"; shift ;;
    --shapes) shapes="$2"; shift ;;
    --no-tshark) tshark=0 ;;
    --dir) dir="$2"; shift ;;
    --threads) threads="$2"; shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

# perf's count of user-space instructions in its CSV output FILE (empty when not counted).
instructions_in() {
  awk -F, '$3 ~ /^instructions/ && $1 ~ /^[0-9]+$/ {print $1}' "$1"
}

# Whether perf can count instructions here: it needs the hardware counters, which many virtual
# machines do not expose ("<not supported>"), and perf_event_paranoid <= 2 or root.
perf_ok=0
if command -v perf >/dev/null 2>&1 && mkdir -p "$dir" &&
   perf stat -x, -e instructions:u -o "$dir/.perf" true 2>/dev/null &&
   [ -n "$(instructions_in "$dir/.perf")" ]; then
  perf_ok=1
else
  echo "== no instruction counts: perf cannot count instructions here" >&2
fi

if [ "$tshark" = 1 ] && ! command -v tshark >/dev/null 2>&1; then
  echo "== installing tshark" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y tshark >/dev/null
fi
[ -x /usr/bin/time ] || { echo "/usr/bin/time is needed (apt-get install -y time)" >&2; exit 1; }

echo "== building (release)" >&2
cargo build --release --locked -p wiretale-cli -p wiretale-benches --bins \
  -p wiretale-fixtures --bin gen-workload >&2
bin=target/release
mkdir -p "$dir"

size_args() {
  case "$1:$small" in
    many-conns:0) echo "--conns 1000000" ;;
    many-conns:1) echo "--conns 50000" ;;
    *:0) echo "--bytes 1G" ;;
    *:1) echo "--bytes 64M" ;;
  esac
}

# measure N CMD...: best wall time of N runs of CMD; sets secs and rss_kb (of the last run).
measure() {
  local n=$1; shift
  local best="" rss=0 t m
  for _ in $(seq "$n"); do
    /usr/bin/time -o "$dir/.time" -f "%e %M" "$@" >/dev/null 2>"$dir/.stderr" || {
      echo "failed: $* (see $dir/.stderr)" >&2; tail -3 "$dir/.stderr" >&2; return 1; }
    read -r t m <"$dir/.time"
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$t; fi
    rss=$m
  done
  secs=$best
  rss_kb=$rss
}

# count CMD...: user-space instructions of one run of CMD (sets instr; empty without perf).
count() {
  instr=""
  [ "$perf_ok" = 1 ] || return 0
  perf stat -x, -e instructions:u -o "$dir/.perf" -- "$@" >/dev/null 2>"$dir/.stderr" || return 0
  instr=$(instructions_in "$dir/.perf")
}

fields=(-e frame.number -e tcp.stream -e tls.handshake.type -e http.request.method
        -e http.response.code -e ntlmssp.messagetype)

machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"
machine="$machine $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM"
echo "## wiretale end-to-end benchmark"
echo
echo "$(date -u +%Y-%m-%d) · $machine · load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "· wiretale $(git rev-parse --short HEAD) · $(tshark --version 2>/dev/null | head -1 || echo 'no tshark')"
echo "· command under test: \`wiretale $cmd FILE\` · best of $runs"
echo

for shape in $shapes; do
  if [ "$small" = 1 ]; then file="$dir/$shape-small.pcap"; else file="$dir/$shape.pcap"; fi
  if [ ! -s "$file" ]; then
    echo "== generating $file" >&2
    # shellcheck disable=SC2046
    "$bin/gen-workload" "$shape" "$file" $(size_args "$shape") >&2
  fi
  bytes=$(stat -c %s "$file")
  # Warm the page cache the way reading the file from disk does: evict the file's pages, then
  # read it once in order. How the pages got into the cache matters as much as whether they
  # are there: read in order they are large folios, and the kernel copies them out at ~13 GB/s
  # here; cached piecemeal (e.g. long ago, then partly reclaimed) they can be 4 KiB pages,
  # copied at ~6-7 GB/s, which halves the read floor's speed and moves every ratio to it
  # (docs/performance.md, "The page cache's layout").
  dd if="$file" iflag=nocache count=0 status=none 2>/dev/null || true
  cat "$file" >/dev/null
  packets=$("$bin/read-floor" "$file" --records-only | awk '{print $1}')
  echo "### $shape: $(awk -v b="$bytes" 'BEGIN{printf "%.2f GB", b/1e9}'), $packets packets"
  echo
  echo "| tool | seconds | MB/s | packets/s | peak RSS | × tshark speed | % of read floor | RSS / tshark | instructions / packet |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  declare -A S=() R=() I=()
  echo "== $shape: read floor" >&2
  measure "$runs" "$bin/read-floor" "$file"; S[floor]=$secs; R[floor]=$rss_kb
  count "$bin/read-floor" "$file"; I[floor]=$instr
  echo "== $shape: library" >&2
  measure "$runs" "$bin/analyze-null" "$file"; S[lib]=$secs; R[lib]=$rss_kb
  count "$bin/analyze-null" "$file"; I[lib]=$instr
  cli_rows=""
  if [ -z "$threads" ]; then
    echo "== $shape: wiretale $cmd" >&2
    # shellcheck disable=SC2086
    measure "$runs" "$bin/wiretale" $cmd "$file"; S[cli]=$secs; R[cli]=$rss_kb; cli_rows=cli
    # shellcheck disable=SC2086
    count "$bin/wiretale" $cmd "$file"; I[cli]=$instr
  else
    for n in $threads; do
      echo "== $shape: wiretale $cmd --threads $n" >&2
      # shellcheck disable=SC2086
      measure "$runs" "$bin/wiretale" $cmd --threads "$n" "$file"
      S[cli$n]=$secs; R[cli$n]=$rss_kb; cli_rows="$cli_rows cli$n"
      # shellcheck disable=SC2086
      count "$bin/wiretale" $cmd --threads "$n" "$file"; I[cli$n]=$instr
    done
  fi
  if [ "$tshark" = 1 ]; then
    echo "== $shape: tshark (slow)" >&2
    measure 1 tshark -r "$file" -T fields "${fields[@]}"; S[tshark]=$secs; R[tshark]=$rss_kb
  fi
  for row in floor lib $cli_rows tshark; do
    [ -n "${S[$row]:-}" ] || continue
    case $row in
      floor) label="read floor (pcap-parser + etherparse)" ;;
      lib) label="wiretale library (analyze, events ignored)" ;;
      cli) label="\`wiretale $cmd\`" ;;
      cli*) label="\`wiretale $cmd --threads ${row#cli}\`" ;;
      tshark) label="tshark -T fields" ;;
    esac
    awk -v label="$label" -v s="${S[$row]}" -v r="${R[$row]}" -v b="$bytes" -v p="$packets" \
        -v ts="${S[tshark]:-}" -v tr="${R[tshark]:-}" -v fs="${S[floor]}" -v i="${I[$row]:-}" 'BEGIN{
      s = (s < 0.01) ? 0.01 : s
      x_tshark = (ts == "") ? "–" : sprintf("%.1f×", ts / s)
      rss_share = (tr == "") ? "–" : sprintf("%.1f %%", 100 * r / tr)
      per_packet = (i == "") ? "–" : sprintf("%.0f", i / p)
      printf "| %s | %.2f | %.0f | %.2f M | %.1f MiB | %s | %.0f %% | %s | %s |\n",
        label, s, b / s / 1e6, p / s / 1e6, r / 1024, x_tshark, 100 * fs / s, rss_share, per_packet
    }'
  done
  unset S R I
  echo
done
