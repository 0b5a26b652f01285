#!/usr/bin/env bash
# The benchmark harness: our aggregator and its peers (Python's Manager().list(), Redis),
# measured in one run on this machine, printed as one Markdown table with the ratios.
#
#   bench/run.sh            the full run (about 10 minutes; builds Release first)
#   bench/run.sh --smoke    a few thousand items, no peers: checks that the harness works
#   bench/run.sh --main     only the single-aggregator rows (throughput, scaling, latency, memory, recovery)
#   bench/run.sh --startup  only the start-up rows (with BENCH_BASELINE, before and after)
#   bench/run.sh --routing  only the routing rows (our cluster gateway against Akka's ClusterClient)
#   bench/run.sh --cluster  only the cluster rows (three nodes on PostgreSQL: spread, failover)
#   bench/run.sh --big      only the big-list rows (200 M items in one journaled list, two SIGKILLs)
#   (section options combine; --smoke goes with any of them)
#
# Environment: BENCH_CONFIGURATION (Release), BENCH_NO_BUILD=1 to use what is built,
# BENCH_BASELINE=REV to time the start-up of revision REV too, in the same run (built in
# a temporary git worktree), side by side with ours. BENCH_KEEP=1 keeps the work directory
# (logs of every process) and says where it is. BENCH_AGGREGATOR_ENV="NAME=VALUE ..." puts
# those variables in the environment of every single aggregator the main and big sections
# start (a runtime setting tried against the same run without it; the table says so).
# Peers it cannot find or install (python3, redis-server) are skipped, saying why.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# The sections: main (throughput, latency, memory, recovery), startup, routing, cluster, big.
# Without a section option every one runs; with one or more, only those.
smoke=0
only=()
for arg in "$@"; do
  case $arg in
    --smoke) smoke=1 ;;
    --main|--startup|--routing|--cluster|--big) only+=("${arg#--}") ;;
    *) echo "bench: unknown option $arg (--smoke, --main, --startup, --routing, --cluster, --big)" >&2; exit 2 ;;
  esac
done
wants() { [ ${#only[@]} = 0 ] && return 0; local o; for o in "${only[@]}"; do [ "$o" = "$1" ] && return 0; done; return 1; }
config=${BENCH_CONFIGURATION:-Release}
if [ "$smoke" = 1 ]; then
  per_worker=2000; scale_total=4000; scale_workers="1 2"; latency_count=200
  memory_items=5000; recovery_items=5000; startup_runs=1
  cluster_per_worker=2000; failover_kills=1; big_items=40000
else
  per_worker=5000000; scale_total=10000000; scale_workers="1 2 4 8"; latency_count=10000
  memory_items=10000000; recovery_items=10000000; startup_runs=5
  cluster_per_worker=500000; failover_kills=3; big_items=${BENCH_BIG_ITEMS:-200000000}
fi

work=$(mktemp -d /tmp/actors-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  [ -n "${postgres_started:-}" ] && { .ci/postgres stop "$pg_dir" >/dev/null 2>&1; rm -rf "$pg_dir"; }
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: kept $work" >&2; else rm -rf "$work"; fi
  git worktree prune 2>/dev/null || true
}
trap cleanup EXIT

say() { echo "bench: $*" >&2; }
fail() { echo "bench: FAILED: $*" >&2; exit 1; }
# fail_workers MESSAGE: fail, killing the workers in $wpids first (launched in a command
# substitution's subshell, they are not in $pids, which the exit trap kills).
fail_workers() { for pid in "${wpids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done; fail "$@"; }

# poll SECONDS INTERVAL CMD...: runs CMD every INTERVAL seconds until it succeeds (0), or
# until SECONDS have passed (1). Every wait of this harness is one of these.
poll() {
  local deadline=$(($(date +%s) + $1)) interval=$2; shift 2
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep "$interval"
  done
}
# ready_in OUT PID WHAT ERR: OUT holds the ready line; stops the run if PID exited first.
ready_in() {
  grep -q '^ready ' "$1" 2>/dev/null && return 0
  kill -0 "$2" 2>/dev/null || fail "$3 exited: $(cat "$4")"
  return 1
}

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
  say "building ($config)"
  dotnet build Actors.sln -c "$config" -v q --nologo >&2 || fail "build"
fi
agg="$root/src/Aggregator/bin/$config/net10.0/Aggregator.dll"
wrk="$root/src/Worker/bin/$config/net10.0/Worker.dll"
[ -f "$agg" ] && [ -f "$wrk" ] || fail "$agg or $wrk is not built"

rows=()
row() { rows+=("| $1 | $2 | $3 | $4 | $5 |"); say "$1: $2 (peer: $3; ratio $4)"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a == "-" || b == "-") print "-"; else printf "%.2fx", a / b }'; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# Items "it-W-00000000": 13 bytes each.
items_file() {
  local worker=$1 count=$2 file="$work/items-$1-$2.txt"
  # Written once, and flushed to disk then, not by the kernel during a measured run.
  [ -f "$file" ] || { awk -v w="$worker" -v n="$count" 'BEGIN { for (i = 0; i < n; i++) printf "it-%d-%08d\n", w, i }' > "$file.tmp" \
    && sync "$file.tmp" && mv "$file.tmp" "$file"; }
  echo "$file"
}

# start_aggregator NAME ARGS...: starts serve (on a free port unless ARGS name --port),
# waits for "ready", sets $agg_pid and $agg_endpoint. agg_env: NAME=VALUE pairs for its environment.
read -r -a base_env <<< "${BENCH_AGGREGATOR_ENV:-}"
agg_env=("${base_env[@]}")
start_aggregator() {
  local name=$1; shift
  local port=(--port 0)
  [[ " $* " == *" --port "* ]] && port=()
  env "${agg_env[@]}" dotnet "$agg" serve "${port[@]}" "$@" > "$work/$name.out" 2> "$work/$name.err" &
  agg_pid=$!
  pids+=("$agg_pid")
  poll 30 0.05 ready_in "$work/$name.out" "$agg_pid" "aggregator $name" "$work/$name.err" || fail "aggregator $name not ready within 30 s"
  agg_endpoint=$(sed -n 's/^ready akka.tcp:\/\/aggregator@//p' "$work/$name.out")
}

# start_mode NAME memory|durable: an aggregator in memory, or journaling in a fresh directory.
start_mode() {
  if [ "$2" = memory ]; then start_aggregator "$1" --in-memory; else start_aggregator "$1" --data "$work/$1-data"; fi
}

stop_aggregator() { kill -9 "$agg_pid"; wait "$agg_pid" 2>/dev/null || true; }

peak_kib() { sed -n 's/^VmHWM:\s*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
rss_kib() { sed -n 's/^VmRSS:\s*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }

# launch_workers AGGREGATOR LIST WORKERS PER_WORKER [own]: starts the workers, all appending
# to LIST or, with "own", worker W to LIST-W; their pids in $wpids, their output in
# $work/LIST-wW.json and .err.
launch_workers() {
  local aggregator=$1 list=$2 workers=$3 count=$4 own=${5:-} w target files=()
  # Every worker's input exists before the first worker starts: written while a worker
  # already sends, a file of millions of lines took a core from the run it was measured in.
  for w in $(seq 0 $((workers - 1))); do files+=("$(items_file "$w" "$count")"); done
  wpids=()
  for w in $(seq 0 $((workers - 1))); do
    local file=${files[$w]}
    target=$list; [ -n "$own" ] && target="$list-$w"
    dotnet "$wrk" append --aggregator "$aggregator" --list "$target" --id "w$w" --file "$file" --json \
      > "$work/$list-w$w.json" 2> "$work/$list-w$w.err" &
    wpids+=($!)
  done
}

# run_workers LIST WORKERS PER_WORKER: N worker processes at once; prints items/s from the
# first send to the last acknowledgement over all of them, after checking the count.
run_workers() {
  local list=$1 workers=$2 count=$3 w
  launch_workers "$agg_endpoint" "$list" "$workers" "$count"
  for w in "${!wpids[@]}"; do
    wait "${wpids[$w]}" || fail_workers "worker $w of $list: $(cat "$work/$list-w$w.err")"
  done
  local stored; stored=$(dotnet "$wrk" count --aggregator "$agg_endpoint" --list "$list")
  [ "$stored" = $((workers * count)) ] || fail "$list holds $stored items, expected $((workers * count))"
  items_per_second $((workers * count)) "$work/$list"-w*.json
}

# items_per_second TOTAL JSON_FILES...: TOTAL over the time from the first send to the last
# acknowledgement of the workers whose --json summaries these are.
items_per_second() {
  local total=$1; shift
  cat "$@" | awk -v total="$total" '
    { match($0, /"firstSendUnix":[0-9.]+/); s = substr($0, RSTART + 16, RLENGTH - 16) + 0
      match($0, /"lastAckUnix":[0-9.]+/); e = substr($0, RSTART + 14, RLENGTH - 14) + 0
      if (NR == 1 || s < first) first = s; if (e > last) last = e }
    END { printf "%.0f", total / (last - first) }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
fmt() { awk -v n="$1" 'BEGIN { if (n == "-") print "-"; else if (n >= 1000000) printf "%.2fM", n / 1e6; else if (n >= 1000) printf "%.1fk", n / 1e3; else printf "%.0f", n }'; }

# ---------------------------------------------------------------- peers: availability
python=""; redis=""
if [ "$smoke" = 0 ] && { wants main || wants startup; }; then
  if command -v python3 >/dev/null; then python=python3
  elif [ "$(id -u)" = 0 ] && apt-get install -y -qq python3 >&2; then python=python3
  else say "skipping the Python peer: python3 is not installed (apt-get install python3)"; fi
  if command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then redis=yes
  elif [ "$(id -u)" = 0 ] && { apt-get update -qq >&2; apt-get install -y -qq redis-server >&2; }; then redis=yes
  else say "skipping the Redis peer: redis-server is not installed (apt-get install redis-server)"; fi
fi

redis_port=63790
start_redis() {
  mkdir -p "$work/redis"
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/redis" --save '' "$@" > "$work/redis.log" 2>&1 &
  redis_pid=$!; pids+=("$redis_pid")
  poll 5 0.05 redis_answers || fail "redis-server did not start: $(cat "$work/redis.log")"
}
redis_answers() { redis-cli -p "$redis_port" ping >/dev/null 2>&1; }
stop_redis() { redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true; wait "$redis_pid" 2>/dev/null || true; rm -rf "$work/redis"; }
redis_rpush() {
  # Items per second of pipelined RPUSH of 13-byte values from 2 clients.
  redis-benchmark -p "$redis_port" -t rpush -d 13 -c 2 -P 1000 -n "$1" -q 2>/dev/null | tr '\r' '\n' \
    | sed -n 's/^RPUSH: \([0-9.]*\) requests per second.*/\1/p' | tail -n 1
}

if wants main; then
# ---------------------------------------------------------------- throughput, 2 workers
for mode in memory durable; do
  start_mode "tp-$mode" "$mode"
  ours=$(run_workers "tp" 2 "$per_worker")
  peak=$(peak_kib "$agg_pid")
  stop_aggregator
  peer="-"; peer_name="Redis RPUSH -P 1000"
  if [ -n "$redis" ]; then
    if [ "$mode" = memory ]; then start_redis --appendonly no; else start_redis --appendonly yes --appendfsync everysec; peer_name="Redis RPUSH -P 1000, AOF everysec"; fi
    peer=$(redis_rpush $((2 * per_worker)))
    stop_redis
  fi
  row "append throughput, 2 workers x $(fmt "$per_worker") items, $mode (items/s; aggregator peak RSS $((peak / 1024)) MiB)" \
    "$(fmt "$ours")" "$(fmt "$peer") ($peer_name)" "$(ratio "$ours" "$peer")" "$([ "$mode" = memory ] && echo "≥ 3x" || echo "≥ 2x")"
  if [ "$mode" = durable ]; then
    # The like-for-like durable peer: Redis answers after its fsync, once per event-loop
    # pass, so pipelining makes it group commit too (as our journal batches).
    peer="-"
    if [ -n "$redis" ]; then
      start_redis --appendonly yes --appendfsync always
      peer=$(redis_rpush $((2 * per_worker)))
      stop_redis
    fi
    row "append throughput, 2 workers, durable, vs Redis acknowledging after fsync (items/s)" \
      "$(fmt "$ours")" "$(fmt "$peer") (Redis RPUSH -P 1000, AOF always)" "$(ratio "$ours" "$peer")" "≥ 4x"
  fi
  if [ "$mode" = memory ] && [ -n "$python" ]; then
    append=$($python bench/peers/manager_list.py append 2 100000 | sed -n 's/^items_per_second=\([0-9]*\).*/\1/p')
    extend=$($python bench/peers/manager_list.py extend 2 1000000 1000 | sed -n 's/^items_per_second=\([0-9]*\).*/\1/p')
    row "append throughput, in memory, vs Manager().list() .append() (2 workers x 100k)" "$(fmt "$ours")" "$(fmt "$append")" "$(ratio "$ours" "$append")" "≥ 300x"
    row "append throughput, in memory, vs Manager().list() .extend() of 1000 (2 workers x 1M)" "$(fmt "$ours")" "$(fmt "$extend")" "$(ratio "$ours" "$extend")" "-"
  fi
done

# ---------------------------------------------------------------- scaling
for mode in memory durable; do
  for workers in $scale_workers; do
    start_mode "sc-$mode-$workers" "$mode"
    ours=$(run_workers "sc$workers" "$workers" $((scale_total / workers)))
    stop_aggregator
    rm -rf "$work/sc-$mode-$workers-data"
    row "scaling, $mode: $workers worker(s), $(fmt "$scale_total") items in all (items/s)" "$(fmt "$ours")" "-" "-" "-"
  done
done

# ---------------------------------------------------------------- latency
start_aggregator "latency" --in-memory
lat=$(dotnet "$wrk" latency --aggregator "$agg_endpoint" --count "$latency_count" --json)
stop_aggregator
p50=$(sed -n 's/.*"p50Us":\([0-9.]*\).*/\1/p' <<<"$lat"); p99=$(sed -n 's/.*"p99Us":\([0-9.]*\).*/\1/p' <<<"$lat")
peer50="-"; peer99="-"
if [ -n "$python" ]; then
  plat=$($python bench/peers/manager_latency.py "$latency_count")
  peer50=$(sed -n 's/.*p50_us=\([0-9.]*\).*/\1/p' <<<"$plat"); peer99=$(sed -n 's/.*p99_us=\([0-9.]*\).*/\1/p' <<<"$plat")
fi
row "acknowledged append, one at a time, p50 (µs, $latency_count appends)" "$p50" "$peer50 (Manager .append())" "$(ratio "$p50" "$peer50")" "-"
row "acknowledged append, one at a time, p99 (µs)" "$p99" "$peer99 (Manager .append())" "$(ratio "$p99" "$peer99")" "≤ 1000 µs"
t50=$(sed -n 's/.*"identifyP50Us":\([0-9.]*\).*/\1/p' <<<"$lat"); t99=$(sed -n 's/.*"identifyP99Us":\([0-9.]*\).*/\1/p' <<<"$lat")
row "acknowledged append p50 against Akka.Remote's own round trip in the same run (Identify to the lists actor, answered by Akka, one after each append), p50 (µs)" "$p50" "$t50 (Identify)" "$(ratio "$p50" "$t50")" "≤ 1.2x"
row "acknowledged append p99 against the same Identify round trip, p99 (µs)" "$p99" "$t99 (Identify)" "$(ratio "$p99" "$t99")" "-"

# ---------------------------------------------------------------- memory per item
# memory_run: sets per_item to the bytes per item of RSS growth while one worker appends
# $memory_items items, and next_item to the same for as many more after them (a second
# producer, same list): the fixed costs that come with the first items (the GC's young
# generation, the transport's buffer pool) are not in the second figure. Not in a subshell,
# so that the exit trap still sees the aggregator.
memory_run() {
  start_aggregator "memory" --in-memory
  dotnet "$wrk" append --aggregator "$agg_endpoint" --list warm --id warm x > /dev/null
  local before after more
  before=$(rss_kib "$agg_pid")
  dotnet "$wrk" append --aggregator "$agg_endpoint" --list mem --id m --file "$(items_file 0 "$memory_items")" > /dev/null 2>&1 || fail "memory run"
  after=$(rss_kib "$agg_pid")
  dotnet "$wrk" append --aggregator "$agg_endpoint" --list mem --id m2 --file "$(items_file 1 "$memory_items")" > /dev/null 2>&1 || fail "memory run, second half"
  more=$(rss_kib "$agg_pid")
  stop_aggregator
  per_item=$(awk -v a="$after" -v b="$before" -v n="$memory_items" 'BEGIN { printf "%.1f", (a - b) * 1024 / n }')
  next_item=$(awk -v a="$more" -v b="$after" -v n="$memory_items" 'BEGIN { printf "%.1f", (a - b) * 1024 / n }')
}
memory_run; ours=$per_item; ours_next=$next_item
# The same with the workstation GC instead of the aggregator's server GC: it sizes its gen0
# budget from the L3 cache, which some virtual machines report as hundreds of MiB
# (docs/operations.md).
agg_env=("${base_env[@]}" DOTNET_gcServer=0); memory_run; workstation=$per_item; agg_env=("${base_env[@]}")
peer="-"; peer_next="-"
if [ -n "$redis" ]; then
  start_redis --appendonly no
  base=$(redis-cli -p "$redis_port" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
  redis-benchmark -p "$redis_port" -t rpush -d 13 -c 2 -P 1000 -n "$memory_items" -q >/dev/null 2>&1
  used=$(redis-cli -p "$redis_port" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
  len=$(redis-cli -p "$redis_port" llen mylist)
  peer=$(awk -v a="$used" -v b="$base" -v n="$len" 'BEGIN { printf "%.1f", (a - b) / n }')
  redis-benchmark -p "$redis_port" -t rpush -d 13 -c 2 -P 1000 -n "$memory_items" -q >/dev/null 2>&1
  used2=$(redis-cli -p "$redis_port" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
  len2=$(redis-cli -p "$redis_port" llen mylist)
  peer_next=$(awk -v a="$used2" -v b="$used" -v n="$((len2 - len))" 'BEGIN { printf "%.1f", (a - b) / n }')
  stop_redis
fi
pypeer="-"
[ -n "$python" ] && pypeer=$($python bench/peers/list_memory.py "$memory_items" | sed -n 's/^bytes_per_item=//p')
row "memory per stored 13-byte item, $(fmt "$memory_items") items (bytes; aggregator RSS growth)" "$ours" "$peer (Redis used_memory)" "$(ratio "$ours" "$peer")" "≤ Redis"
row "memory per stored 13-byte item, the next $(fmt "$memory_items") items into the same list (bytes; aggregator RSS growth from the first to the second figure)" "$ours_next" "$peer_next (Redis used_memory)" "$(ratio "$ours_next" "$peer_next")" "-"
row "memory per stored 13-byte item, the same with the workstation GC, DOTNET_gcServer=0 (bytes; aggregator RSS growth)" "$workstation" "$peer (Redis used_memory)" "$(ratio "$workstation" "$peer")" "-"
row "memory per stored 13-byte item vs a Python list of str (bytes)" "$ours" "$pypeer" "$(ratio "$ours" "$pypeer")" "-"

# ---------------------------------------------------------------- the client library in one process
# bench/ClientBench: producers of one AggregatorClient in one process, on the same item files
# as the workers, each run against a fresh aggregator; the Worker processes run again just
# before, so that both sides see the machine alike.
cb="$root/bench/ClientBench/bin/$config/net10.0/ClientBench.dll"
[ -f "$cb" ] || fail "$cb is not built"
# lib_produce NAME FILES...: items/s of one producer per file, all in one process (it checks the counts).
lib_produce() {
  local name=$1; shift
  dotnet "$cb" produce "$agg_endpoint" "$name" "$@" > "$work/$name.out" 2> "$work/$name.err" || fail "ClientBench $name: $(cat "$work/$name.err")"
  sed -n 's/.*items_per_second=\([0-9]*\).*/\1/p' "$work/$name.out"
}
for mode in memory durable; do
  start_mode "libw-$mode" "$mode"; workers=$(run_workers "libw" 2 "$per_worker"); stop_aggregator
  start_mode "lib2-$mode" "$mode"; lib2=$(lib_produce lib2 "$(items_file 0 "$per_worker")" "$(items_file 1 "$per_worker")"); stop_aggregator
  eight=(); for w in $(seq 0 7); do eight+=("$(items_file "$w" $((per_worker / 4)))"); done
  start_mode "lib8-$mode" "$mode"; lib8=$(lib_produce lib8 "${eight[@]}"); stop_aggregator
  rm -rf "$work"/lib*-data
  row "library: 2 producers in one process vs 2 Worker processes, $mode, 2 x $(fmt "$per_worker") items (items/s)" \
    "$(fmt "$lib2")" "$(fmt "$workers") (2 Worker processes)" "$(ratio "$lib2" "$workers")" "≥ 0.95x"
  row "library: 8 producers in one process vs 2, $mode, the same $(fmt $((2 * per_worker))) items in all (items/s)" \
    "$(fmt "$lib8")" "$(fmt "$lib2") (2 producers)" "$(ratio "$lib8" "$lib2")" "≥ 0.9x"
done
start_aggregator "lib-latency" --in-memory
lat=$(dotnet "$cb" latency "$agg_endpoint" "$latency_count" 2> "$work/lib-latency.err") || fail "ClientBench latency: $(cat "$work/lib-latency.err")"
stop_aggregator
a50=$(sed -n 's/.*append_p50_us=\([0-9.]*\).*/\1/p' <<<"$lat"); a99=$(sed -n 's/.*append_p99_us=\([0-9.]*\).*/\1/p' <<<"$lat")
i50=$(sed -n 's/.*identify_p50_us=\([0-9.]*\).*/\1/p' <<<"$lat"); i99=$(sed -n 's/.*identify_p99_us=\([0-9.]*\).*/\1/p' <<<"$lat")
row "library: one AppendAsync call of one item, acknowledged, p50 (µs, $latency_count calls)" "$a50" "$i50 (Identify)" "$(ratio "$a50" "$i50")" "-"
row "library: one AppendAsync call of one item, acknowledged, p99 (µs)" "$a99" "$i99 (Identify)" "$(ratio "$a99" "$i99")" "-"

fi

# ---------------------------------------------------------------- start-up
if wants startup; then
# time_demo AGGREGATOR_DLL: seconds of one demo run, checked.
time_demo() {
  local s; s=$(now)
  dotnet "$1" demo > "$work/demo.out" 2> "$work/demo.err" || fail "demo: $(cat "$work/demo.err")"
  grep -q '"ten"' "$work/demo.out" || fail "demo printed $(cat "$work/demo.out")"
  elapsed "$s" "$(now)"; echo
}
# time_ready AGGREGATOR_DLL: seconds from starting serve to its ready line, in memory.
time_ready() {
  local s pid; s=$(now)
  dotnet "$1" serve --in-memory --port 0 > "$work/ready.out" 2> "$work/ready.err" &
  pid=$!; pids+=("$pid")
  poll 60 0.01 ready_in "$work/ready.out" "$pid" serve "$work/ready.err" || fail "serve not ready within 60 s"
  elapsed "$s" "$(now)"; echo
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
baseline_agg=""
if [ -n "${BENCH_BASELINE:-}" ]; then
  say "building the baseline ${BENCH_BASELINE} ($config)"
  git worktree add -q --detach "$work/baseline" "$BENCH_BASELINE" >&2 || fail "worktree for $BENCH_BASELINE"
  dotnet build "$work/baseline/Actors.sln" -c "$config" -v q --nologo >&2 || fail "baseline build"
  baseline_agg="$work/baseline/src/Aggregator/bin/$config/net10.0/Aggregator.dll"
fi
# Ours and the baseline alternate, run by run, so that the machine's drift hits both alike.
: > "$work/demo-ours"; : > "$work/demo-base"; : > "$work/ready-ours"; : > "$work/ready-base"
for _ in $(seq 1 "$startup_runs"); do
  time_demo "$agg" >> "$work/demo-ours"
  time_ready "$agg" >> "$work/ready-ours"
  if [ -n "$baseline_agg" ]; then
    time_demo "$baseline_agg" >> "$work/demo-base"
    time_ready "$baseline_agg" >> "$work/ready-base"
  fi
done
ours=$(median < "$work/demo-ours")
peer="-"
if [ -n "$python" ]; then
  peer=$(for _ in $(seq 1 "$startup_runs"); do s=$(now); $python bench/peers/reference.py > /dev/null; elapsed "$s" "$(now)"; echo; done | median)
fi
row "reference scenario wall time, built binaries (s, median of $startup_runs)" "$ours" "$peer (Python script)" "$(ratio "$ours" "$peer")" "≤ 0.8 s"
row "aggregator start to ready line, in memory (s, median of $startup_runs)" "$(median < "$work/ready-ours")" "-" "-" "-"
# A newcomer's loop, in Debug as `dotnet build` and `dotnet run` build by default: a second
# build with nothing changed, and a second `dotnet run … demo` against the built binary's demo.
if [ "$smoke" = 0 ]; then
  time_in() { local dir=$1 s; shift; s=$(now); (cd "$dir" && "$@") > /dev/null 2>&1 || fail "$* in $dir"; elapsed "$s" "$(now)"; echo; }
  build_once() { # LABEL DIR: the first build and run, untimed
    (cd "$2" && dotnet build > /dev/null 2>&1) || fail "$1: dotnet build"
    (cd "$2" && dotnet run --project src/Aggregator -- demo > /dev/null 2>&1) || fail "$1: dotnet run"
    : > "$work/nobuild-$1"; : > "$work/run-$1"; : > "$work/debugbin-$1"
  }
  build_round() { # LABEL DIR: one timed round
    time_in "$2" dotnet build >> "$work/nobuild-$1"
    time_in "$2" dotnet run --project src/Aggregator -- demo >> "$work/run-$1"
    time_in "$2" dotnet src/Aggregator/bin/Debug/net10.0/Aggregator.dll demo >> "$work/debugbin-$1"
  }
  # The SDK's own floor, as a peer: an empty `dotnet new console` project (one project, no
  # package) outside the repository, its second `dotnet run` against its built binary.
  floor_once() {
    (cd "$work" && dotnet new console -o floor --name floor > /dev/null 2>&1) || fail "dotnet new console"
    (cd "$work/floor" && dotnet build > /dev/null 2>&1) || fail "floor: dotnet build"
    (cd "$work/floor" && dotnet run > /dev/null 2>&1) || fail "floor: dotnet run"
    : > "$work/run-floor"; : > "$work/bin-floor"
  }
  floor_round() {
    time_in "$work/floor" dotnet run >> "$work/run-floor"
    time_in "$work/floor" dotnet bin/Debug/net10.0/floor.dll >> "$work/bin-floor" # as ours: dotnet X.dll
  }
  build_once ours "$root"
  [ -n "$baseline_agg" ] && build_once base "$work/baseline"
  floor_once
  # Ours, the baseline and the floor alternate round by round, as the demo rows above do.
  for _ in $(seq 1 "$startup_runs"); do
    build_round ours "$root"
    [ -n "$baseline_agg" ] && build_round base "$work/baseline"
    floor_round
  done
  for who in ours base; do
    [ -s "$work/run-$who" ] || continue
    label=$([ "$who" = ours ] && echo "" || echo ", baseline ${BENCH_BASELINE}")
    row "second \`dotnet build\` at the root, nothing changed$label (s, median of $startup_runs)" "$(median < "$work/nobuild-$who")" "-" "-" "≤ 5 s"
    run=$(median < "$work/run-$who"); bin=$(median < "$work/debugbin-$who")
    row "second \`dotnet run --project src/Aggregator -- demo\`$label (s, median of $startup_runs)" "$run" "$bin (the built Debug binary)" \
      "+$(awk -v a="$run" -v b="$bin" 'BEGIN { printf "%.2f", a - b }') s" "≤ +1.5 s"
  done
  run=$(median < "$work/run-floor"); bin=$(median < "$work/bin-floor")
  row "second \`dotnet run\` of an empty \`dotnet new console\` project, the SDK's floor (s, median of $startup_runs)" "$run" "$bin (its built binary)" \
    "+$(awk -v a="$run" -v b="$bin" 'BEGIN { printf "%.2f", a - b }') s" "-"
fi
if [ -n "$baseline_agg" ]; then
  base=$(median < "$work/demo-base")
  row "reference scenario wall time, baseline ${BENCH_BASELINE} in the same run (s)" "$ours" "$base (baseline)" "$(ratio "$ours" "$base")" "≤ 1.00x"
  base=$(median < "$work/ready-base")
  row "aggregator start to ready line, baseline ${BENCH_BASELINE} in the same run (s)" "$(median < "$work/ready-ours")" "$base (baseline)" "$(ratio "$(median < "$work/ready-ours")" "$base")" "-"
  git worktree remove --force "$work/baseline" >&2 || true
fi
fi

if wants main; then
# ---------------------------------------------------------------- recovery
start_aggregator "rec1" --data "$work/rec-data"
file=$(items_file 0 "$recovery_items")
dotnet "$wrk" append --aggregator "$agg_endpoint" --list big --id r --file "$file" > /dev/null 2>&1 || fail "recovery fill"
port=${agg_endpoint##*:}
stop_aggregator
s=$(now)
start_aggregator "rec2" --data "$work/rec-data" --port "$port"
dotnet "$wrk" append --aggregator "127.0.0.1:$port" --list big --id probe --connect-timeout 60 x > /dev/null || fail "append after restart"
wall=$(elapsed "$s" "$(now)")
list_ms=$(sed -n 's/.*Recovered list big: .* in \([0-9]*\) ms.*/\1/p' "$work/rec2.err")
stop_aggregator
row "recovery of $(fmt "$recovery_items") journaled items: restart to first acknowledged append (s)" "$wall" "-" "-" "≤ 1 s"
row "recovery of the list alone (every event read back, from the aggregator's log, ms)" "${list_ms:--}" "-" "-" "-"

fi

# ---------------------------------------------------------------- a big list
# BENCH_BIG_ITEMS (200 M) 13-byte items, 2.6 GB of them, past every 2 GiB array and 1 GB
# blob limit, appended by 4 workers into one journaled list in two halves. After each half
# the aggregator is SIGKILLed right after the last acknowledgement and started again (restart
# to first acknowledged append: recovery of half the items, then of all of them); at the end
# count, get --from and follow on the whole list. The smoke run uses 4 KiB segments, so that
# its few items still make many segments in memory.
if wants big; then
big_per_worker=$((big_items / 4))
big_args=(--data "$work/big-data")
if [ "$smoke" = 1 ]; then
  printf 'actors.aggregator { segment-bytes = 4096 }\n' > "$work/big.hocon"
  big_args+=(--config "$work/big.hocon")
fi
say "big list: writing 4 files of $(fmt "$big_per_worker") items"
for w in 0 1 2 3; do items_file "$w" "$big_per_worker" > /dev/null & done
wait
# big_half N: the workers append the first N items of their files (resuming where their
# producer id stopped); prints items/s.
big_half() {
  local n=$1 w
  wpids=()
  for w in 0 1 2 3; do
    head -n "$n" "$(items_file "$w" "$big_per_worker")" | dotnet "$wrk" append --aggregator "$agg_endpoint" --list big --id "w$w" --json - \
      > "$work/bighalf-w$w.json" 2> "$work/bighalf-w$w.err" &
    wpids+=($!)
  done
  for w in "${!wpids[@]}"; do wait "${wpids[$w]}" || fail_workers "big-list worker $w: $(cat "$work/bighalf-w$w.err")"; done
  local appended; appended=$(cat "$work"/bighalf-w*.json | sed -n 's/.*"appended":\([0-9]*\).*/\1/p' | awk '{ t += $1 } END { print t }')
  [ "$appended" = $((2 * big_per_worker)) ] || fail "the big-list workers appended $appended items, expected $((2 * big_per_worker))"
  items_per_second "$appended" "$work"/bighalf-w*.json
}
# big_restart NAME: SIGKILL, start again on the same port; sets $restart_wall, the seconds to
# the first acknowledged append (one probe item), and $restart_ms, the list's own recovery
# time from the log.
big_restart() {
  local port=${agg_endpoint##*:} s
  stop_aggregator
  s=$(now)
  start_aggregator "$1" "${big_args[@]}" --port "$port"
  dotnet "$wrk" append --aggregator "127.0.0.1:$port" --list big --id "probe-$1" --connect-timeout 120 x > /dev/null || fail "append after restart $1"
  restart_wall=$(elapsed "$s" "$(now)")
  restart_ms=$(sed -n 's/.*Recovered list big: .* in \([0-9]*\) ms.*/\1/p' "$work/$1.err")
}
start_aggregator "big1" "${big_args[@]}"
first_half=$(big_half $((big_per_worker / 2)))
big_restart big2
half_wall=$restart_wall; half_ms=$restart_ms
second_half=$(big_half "$big_per_worker")
peak=$(peak_kib "$agg_pid")
big_restart big3
total=$((big_items + 2))
stored=$(dotnet "$wrk" count --aggregator "$agg_endpoint" --list big)
[ "$stored" = "$total" ] || fail "the big list holds $stored items after the restart, expected $total"
[ "$(dotnet "$wrk" get --aggregator "$agg_endpoint" --list big --from $((total - 5)) | wc -l)" = 5 ] || fail "get --from on the big list"
dotnet "$wrk" follow --aggregator "$agg_endpoint" --list big --from $((total - 1)) > "$work/big-follow.out" 2> "$work/big-follow.err" &
pids+=($!)
poll 60 0.1 test -s "$work/big-follow.out" || fail "follow on the big list printed nothing in 60 s: $(cat "$work/big-follow.err")"
kill "${pids[-1]}"
[ "$(head -n 1 "$work/big-follow.out")" = x ] || fail "follow on the big list printed '$(head -n 1 "$work/big-follow.out")', expected the last probe item"
stop_aggregator
items_mib=$((big_items * 13 / 1048576))
row "big list: $(fmt "$big_items") 13-byte items by 4 workers into one journaled list, first half (items/s)" "$(fmt "$first_half")" "-" "-" "-"
row "big list: second half, onto $(fmt $((big_items / 2))) items recovered (items/s)" "$(fmt "$second_half")" "-" "-" "-"
row "big list: aggregator peak RSS over recovering the first half and appending the second (MiB; $items_mib MiB of items)" "$((peak / 1024))" "-" "-" "≤ $((2 * items_mib + 100)) MiB"
row "recovery of $(fmt $((big_items / 2))) journaled items: restart to first acknowledged append (s; the list alone ${half_ms:--} ms)" "$half_wall" "-" "-" "-"
row "recovery of $(fmt "$big_items") journaled items: restart to first acknowledged append (s; the list alone ${restart_ms:--} ms)" "$restart_wall" "-" "-" "≤ 10 s"
rm -rf "$work/big-data"
fi

# ---------------------------------------------------------------- routing
# How a worker outside the cluster reaches a list inside it, two ways side by side in one
# run (bench/RoutingProbe: a one-node cluster whose lists acknowledge at once, so that only
# the route is measured, and a worker actor system, over TCP on 127.0.0.1): our gateway
# (/user/lists forwarding to the shard region; the list answers the worker directly) and
# Akka's ClusterClient (through the node's receptionist, both ways); and, for what the route
# costs at all, the list's actor reached directly.
if wants routing; then
probe="$root/bench/RoutingProbe/bin/$config/net10.0/RoutingProbe.dll"
[ -f "$probe" ] || fail "$probe is not built"
if [ "$smoke" = 1 ]; then probe_args=(400 4000); else probe_args=(20000 100000); fi
dotnet "$probe" "${probe_args[@]}" > "$work/routing.out" 2> "$work/routing.err" || fail "routing probe: $(tail -n 5 "$work/routing.err")"
read -r _ g50 g99 gput < <(grep '^gateway ' "$work/routing.out")
read -r _ c50 c99 cput < <(grep '^cluster-client ' "$work/routing.out")
read -r _ l50 l99 lput < <(grep '^list ' "$work/routing.out")
[ -n "${g50:-}" ] && [ -n "${c50:-}" ] && [ -n "${l50:-}" ] || fail "routing probe printed no figures: $(cat "$work/routing.out")"
row "routing to a list in a cluster: one acknowledged 1-item batch at a time through our gateway, p50 (µs, ${probe_args[0]} requests)" "$g50" "$c50 (Akka ClusterClient)" "$(ratio "$g50" "$c50")" "-"
row "routing: the same, p99 (µs)" "$g99" "$c99 (Akka ClusterClient)" "$(ratio "$g99" "$c99")" "-"
row "routing: 64 batches of 100 items in flight (batches/s, ${probe_args[1]} batches)" "$gput" "$cput (Akka ClusterClient)" "$(ratio "$gput" "$cput")" "-"
row "routing: through our gateway against no route at all (the list's actor reference resolved once), p50 (µs)" "$g50" "$l50 (p99 $l99, $lput batches/s)" "$(ratio "$g50" "$l50")" "-"
fi

# ---------------------------------------------------------------- cluster
# Three aggregator nodes on this machine sharing one PostgreSQL journal: append throughput
# with six lists spread over 1 node and over 3 nodes, and the failover time after SIGKILL
# of a list's node (median of several kills). The PostgreSQL server is ACTORS_TEST_POSTGRES
# if set, else a private one started with .ci/postgres (which installs it with apt).
if wants cluster; then
cluster_rows() {
  local pg
  if [ -n "${ACTORS_TEST_POSTGRES:-}" ]; then
    pg=$ACTORS_TEST_POSTGRES
  elif [ "$smoke" = 1 ]; then
    say "skipping the cluster rows: no PostgreSQL server (set ACTORS_TEST_POSTGRES)"; return 0
  else
    # Its own directory: the server runs as the postgres user, which cannot enter $work (0700).
    pg_dir=$(mktemp -d /tmp/actors-bench-pg.XXXXXX)
    pg=$(.ci/postgres start "$pg_dir" 54339) || { rm -rf "$pg_dir"; say "skipping the cluster rows: PostgreSQL did not start"; return 0; }
    postgres_started=1
  fi
  { cat "$(dirname "$agg")/aggregator.hocon"
    echo "akka.persistence.journal.sql { provider-name = \"PostgreSQL.15\", connection-string = \"$pg\" }"
  } > "$work/cluster.hocon"
  local spread=() run; run=$(date +%s%N | tail -c 7)
  # Each node: the workers' port, and the port of its traffic with the other nodes (the seeds).
  # Chosen in 10000-16000, below the kernel's range for outgoing connections
  # (ip_local_port_range, 32768 and up by default): a port in that range can be the local end
  # of any process's connection, and a node could not bind it ("Address already in use",
  # seen once in CI). Node i's ports are 2i and 2i+1 modulo 6, so no two nodes share one.
  cluster_ports=(); node_ports=(); local i
  for i in 0 1 2; do cluster_ports+=($((10000 + 2 * i + 6 * (RANDOM % 1000)))); node_ports+=($((cluster_ports[i] + 1))); done

  for nodes in 1 3; do
    start_cluster "$nodes"
    spread[$nodes]=$(run_spread "s$nodes$run" 6 "$cluster_per_worker")
    stop_cluster
  done
  row "cluster: append throughput, 6 workers x $(fmt "$cluster_per_worker") items into 6 lists, PostgreSQL, spread over 3 nodes on this one machine (items/s)" \
    "$(fmt "${spread[3]}")" "$(fmt "${spread[1]}") (all on 1 node)" "$(ratio "${spread[3]}" "${spread[1]}")" "-"

  # Failover: three workers stream without end into three lists; a list's node is killed,
  # restarted once the list is back, and killed again once the cluster has three members.
  start_cluster 3
  local w fpids=()
  for w in 0 1 2; do
    awk -v w="$w" 'BEGIN { for (i = 0; ; i++) printf "it-%d-%08d\n", w, i }' \
      | dotnet "$wrk" append --aggregator "$cluster_contacts" --list "f$w$run" --id "f$w" - > /dev/null 2> "$work/fail-w$w.err" &
    fpids+=($!); pids+=($!)
  done
  local k times=()
  for k in $(seq 1 "$failover_kills"); do
    wait_for_count "f0$run" $((k * 50000))
    local node; node=$(list_node "f0$run")
    local before; before=$(wc -l < "$work/fail-w0.err")
    local killed_at; killed_at=$(now)
    kill -9 "${node_pids[$node]}"; wait "${node_pids[$node]}" 2>/dev/null || true
    local resumed=""
    poll 60 0.1 resumed_after "$before" || fail "failover $k: the worker of f0$run did not resume within 60 s: $(tail -n 5 "$work/fail-w0.err")"
    times+=("$(elapsed "$killed_at" "$(date -u -d "$resumed UTC" +%s.%N)")")
    say "failover $k (node $node killed): appends resumed after ${times[-1]} s"
    start_node "$node"; wait_ready "$node"
    wait_for_log "$work/node$node-${node_starts[$node]}.err" '(3 members up)'
    sleep 5 # settled: shards rebalanced onto the restarted node, as before a failure in service
  done
  for w in "${fpids[@]}"; do kill "$w" 2>/dev/null || true; wait "$w" 2>/dev/null || true; done
  stop_cluster
  row "cluster: failover, SIGKILL of a list's node to its first acknowledged append on another node (s, median of ${#times[@]}: ${times[*]})" \
    "$(printf '%s\n' "${times[@]}" | median)" "-" "-" "≤ 10 s"
}

# start_cluster N: N nodes seeding from each other; waits until every one is ready.
start_cluster() {
  local n=$1 i seeds=()
  cluster_size=$n; node_pids=(); node_starts=(0 0 0)
  for i in $(seq 0 $((n - 1))); do seeds+=(--seed "127.0.0.1:${node_ports[$i]}"); done
  cluster_seeds=("${seeds[@]}")
  cluster_contacts=$(for i in $(seq 0 $((n - 1))); do printf '127.0.0.1:%s,' "${cluster_ports[$i]}"; done | sed 's/,$//')
  for i in $(seq 0 $((n - 1))); do start_node "$i"; done
  for i in $(seq 0 $((n - 1))); do wait_ready "$i"; done
}
start_node() {
  local i=$1
  node_starts[$i]=$((node_starts[$i] + 1))
  dotnet "$agg" serve --port "${cluster_ports[$i]}" --cluster "${cluster_seeds[@]}" --cluster-port "${node_ports[$i]}" --config "$work/cluster.hocon" \
    > "$work/node$i-${node_starts[$i]}.out" 2> "$work/node$i-${node_starts[$i]}.err" &
  node_pids[$i]=$!; pids+=($!)
}
wait_ready() {
  local i=$1 f="$work/node$1-${node_starts[$1]}"
  poll 60 0.1 ready_in "$f.out" "${node_pids[$i]}" "cluster node $i" "$f.err" || fail "cluster node $i not ready within 60 s: $(tail -n 5 "$f.err")"
}
# resumed_after LINE: the first worker log line past LINE of fail-w0.err saying it was
# acknowledged again; its time in $resumed.
resumed_after() {
  resumed=$(tail -n +$(($1 + 1)) "$work/fail-w0.err" | grep -m1 -E 'Resuming at offset|Acknowledged again' \
    | sed -n 's/^\[WARNING\]\[\([0-9: .-]*\)\].*/\1/p' || true)
  [ -n "$resumed" ]
}
stop_cluster() {
  local pid
  for pid in "${node_pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
}
# list_node LIST: the index of the node that holds LIST, as stats says. A page taken while
# the list's shard moves (a rebalance onto a restarted node) may not place it: asked again,
# for 10 s at most.
list_node() {
  poll 10 0.2 placed "$1" || fail "stats does not place list $1 on a node (asked for 10 s)"
  cat "$work/placed"
}
# placed LIST: whether stats places LIST on a node now (its index then in $work/placed).
placed() {
  local address i
  address=$(dotnet "$wrk" stats --aggregator "$cluster_contacts" --json | grep -o "{[^}]*\"list\":\"$1\"[^}]*}" \
    | sed -n 's/.*"node":"[^"]*:\([0-9]*\)".*/\1/p' || true)
  for i in "${!cluster_ports[@]}"; do [ "${cluster_ports[$i]}" = "$address" ] && { echo "$i" > "$work/placed"; return 0; }; done
  return 1
}
wait_for_count() { poll 300 0.1 count_reaches "$1" "$2" || fail "list $1 did not reach $2 items within 300 s"; }
count_reaches() { [ "$(dotnet "$wrk" count --aggregator "$cluster_contacts" --list "$1" 2>/dev/null || echo 0)" -ge "$2" ]; }
# run_spread PREFIX WORKERS PER_WORKER: one worker a list, through every node; items/s over all.
run_spread() {
  local prefix=$1 workers=$2 count=$3 w
  launch_workers "$cluster_contacts" "$prefix" "$workers" "$count" own
  for w in "${!wpids[@]}"; do
    wait "${wpids[$w]}" || fail_workers "worker $w of $prefix: $(cat "$work/$prefix-w$w.err")"
    local stored; stored=$(dotnet "$wrk" count --aggregator "$cluster_contacts" --list "$prefix-$w")
    [ "$stored" = "$count" ] || fail "$prefix-$w holds $stored items, expected $count"
  done
  items_per_second $((workers * count)) "$work/$prefix"-w*.json
}
# wait_for_log FILE TEXT: until FILE holds TEXT (60 s at most).
wait_for_log() { poll 60 0.1 grep -qF "$2" "$1" || fail "$1 did not say '$2' within 60 s"; }
cluster_rows
fi

# ---------------------------------------------------------------- the table
[ ${#base_env[@]} = 0 ] || echo "Every single aggregator of this run had in its environment: ${base_env[*]}"
echo "| measure | ours | peer | ours / peer | target |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
