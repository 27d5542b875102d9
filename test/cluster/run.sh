#!/usr/bin/env bash
# npm run test:cluster — `ffn-lens index --slurm` on a real, private, single-node Slurm.
#
# As root: installs Debian's slurm-wlm and munge when missing, starts munged, slurmctld and
# slurmd on 127.0.0.1 with every file (key, configuration, state, logs) in one temp folder,
# then:
#   1. indexes a WikiText-2 slice with gpt2-books in one process (the reference);
#   2. submits a 4-task array + merge with `ffn-lens index --slurm 4`, waits, and checks the
#      merged index is byte-identical to the reference;
#   3. submits again into a fresh folder, cancels task 1 with scancel once it has written a
#      checkpoint, checks the merge job is left waiting, reruns the same command (which
#      resubmits task 1 alone; it resumes from its checkpoint), and checks identity again.
# Every daemon it started is stopped, and the temp folder removed, on success and on failure.
# Prints the throughput of the array against the single process, and the merge time.
#
# Environment: FFN_LENS_SHARED (default ../shared), CLUSTER_PARAGRAPHS (slice size, default 1500),
# CLUSTER_KEEP=1 keeps the temp folder for inspection (daemons are stopped all the same).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${FFN_LENS_SHARED:-$ROOT/../shared}
MODEL=$(realpath -m "$SHARED/models/gpt2-books")
WIKI=$(realpath -m "$SHARED/corpora/wikitext-2-test.raw")
PARAGRAPHS=${CLUSTER_PARAGRAPHS:-1500}
TASKS=4
STARTED=$SECONDS

say() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

if [ ! -d "$MODEL" ] || [ ! -f "$WIKI" ]; then
  echo "SKIP: shared data not found ($MODEL, $WIKI); set FFN_LENS_SHARED"
  exit 0
fi
[ "$(id -u)" = 0 ] || fail "run as root: it installs packages and starts Slurm's daemons"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurm-wlm and munge (Debian packages)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

cd "$ROOT"
say "building the CLI"
npm run build --silent >/dev/null

T=$(mktemp -d /tmp/ffn-lens-cluster.XXXXXX)
PIDS=()
cleanup() {
  local rc=$?
  set +e
  if [ -n "${SLURM_CONF:-}" ] && [ -f "$T/slurmctld.pid" ]; then
    # every job on this private cluster is this script's own
    scancel --partition=ffn 2>/dev/null
    sleep 2
  fi
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[i]}" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null
  done
  if [ "$rc" != 0 ]; then
    echo "--- last lines of the daemon logs ($T)" >&2
    tail -n 15 "$T"/*.log "$T"/*.out "$T"/*/slurm/logs/* 2>/dev/null >&2
  fi
  if [ "${CLUSTER_KEEP:-}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
  echo "test:cluster took $((SECONDS - STARTED)) s ($([ "$rc" = 0 ] && echo passed || echo FAILED))"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "starting munged, slurmctld and slurmd in $T"
mkdir -p "$T/munge" "$T/state" "$T/spool"
head -c 1024 /dev/urandom >"$T/munge/munge.key"
chmod 700 "$T/munge"
chmod 400 "$T/munge/munge.key"
munged --foreground --force --key-file="$T/munge/munge.key" --socket="$T/munge/munge.sock" \
  --pid-file="$T/munge/munged.pid" --log-file="$T/munged.log" --seed-file="$T/munge/seed" >>"$T/munged.out" 2>&1 &
PIDS+=($!)

PORT=$((20000 + RANDOM % 20000))
CPUS=$(nproc)
MEM=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2))
export SLURM_CONF="$T/slurm.conf"
cat >"$SLURM_CONF" <<EOF
ClusterName=ffnlens
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$T/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
MailProg=/bin/true
SwitchType=switch/none
ReturnToService=2
MinJobAge=3600
KillWait=10
SlurmdParameters=config_overrides
NodeName=ffn-node NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=ffn Nodes=ffn-node Default=YES MaxTime=INFINITE State=UP
EOF
for _ in $(seq 50); do [ -S "$T/munge/munge.sock" ] && break; sleep 0.2; done
[ -S "$T/munge/munge.sock" ] || fail "munged did not start"
slurmctld -D -i -f "$SLURM_CONF" >>"$T/slurmctld.out" 2>&1 &
PIDS+=($!)
slurmd -D -N ffn-node -f "$SLURM_CONF" >>"$T/slurmd.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 150); do
  state=$(sinfo --noheader --format=%t 2>/dev/null || true)
  [ "$state" = idle ] && break
  sleep 0.2
done
[ "$state" = idle ] || fail "the Slurm node did not become idle (state: '$state')"
echo "Slurm is up: node ffn-node, $CPUS CPUs, controller on 127.0.0.1:$PORT"

CLI=(node "$ROOT/bin/ffn-lens.js")
CORPUS="$T/wikitext-2-slice.txt"
awk -v n="$PARAGRAPHS" 'BEGIN { RS = ""; ORS = "\n\n" } NR <= n' "$WIKI" >"$CORPUS"
COMMON=(--model "$MODEL" --corpus "$CORPUS" --cache "$T/cache")

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# Waits until none of the given jobs is queued or running (at most 15 minutes).
wait_jobs() {
  for _ in $(seq 4500); do
    [ -z "$(squeue --noheader --jobs="$1" --format=%i 2>/dev/null)" ] && return 0
    sleep 0.2
  done
  fail "jobs $1 still queued or running after 15 minutes"
}
job_state() { scontrol show job "$1" | grep -o 'JobState=[A-Z_]*' | head -1 | cut -d= -f2; }
submitted() { grep -o "submitted $1 job [0-9]*" "$2" | grep -o '[0-9]*$'; }

say "reference: one process over $PARAGRAPHS paragraphs of WikiText-2"
t0=$(now)
"${CLI[@]}" index "${COMMON[@]}" --out "$T/single" -q
t1=$(now)
SINGLE_S=$(elapsed "$t0" "$t1")
TOKENS=$(node -e 'const fs=require("fs");const b=fs.readFileSync(process.argv[1]);const n=b.readUInt32LE(8);console.log(JSON.parse(b.subarray(12,12+n)).totals.tokens)' "$T/single/triggers.idx")

say "array of $TASKS tasks + merge"
t0=$(now)
"${CLI[@]}" index "${COMMON[@]}" --out "$T/array" --slurm $TASKS --sbatch-args "--cpus-per-task=1" | tee "$T/submit-1.txt"
ARRAY=$(submitted array "$T/submit-1.txt")
MERGE=$(submitted merge "$T/submit-1.txt")
wait_jobs "$ARRAY"
t1=$(now)
wait_jobs "$MERGE"
t2=$(now)
ARRAY_S=$(elapsed "$t0" "$t1")
MERGE_JOB_S=$(elapsed "$t1" "$t2")
[ "$(job_state "$MERGE")" = COMPLETED ] || fail "merge job $MERGE ended $(job_state "$MERGE")"
"${CLI[@]}" index-status "$T/array"
cmp "$T/single/triggers.idx" "$T/array/triggers.idx" || fail "the merged index differs from the single run"
echo "OK: merged index of the array = single run, byte for byte"

say "cancel task 1 mid-run, resubmit it alone"
"${CLI[@]}" index "${COMMON[@]}" --out "$T/again" --slurm $TASKS --sbatch-args "--cpus-per-task=1" --checkpoint-seconds 0 | tee "$T/submit-2.txt"
ARRAY2=$(submitted array "$T/submit-2.txt")
MERGE2=$(submitted merge "$T/submit-2.txt")
SHARD1=$(ls -d "$T"/again/shards/shard-1-of-*)
for _ in $(seq 1500); do [ -f "$SHARD1/checkpoint.bin" ] && break; sleep 0.1; done
[ -f "$SHARD1/checkpoint.bin" ] || fail "task 1 wrote no checkpoint"
scancel "${ARRAY2}_1"
echo "cancelled task ${ARRAY2}_1 after its first checkpoint"
wait_jobs "$ARRAY2"
[ ! -f "$SHARD1/triggers.idx" ] || fail "task 1 finished before it was cancelled; nothing was tested (use a larger CLUSTER_PARAGRAPHS)"
[ -f "$SHARD1/checkpoint.bin" ] || fail "the cancelled task left no checkpoint"
# Slurm marks the dependency as never satisfied on its next scheduling pass; either way it must not run
read -r mstate reason <<<"$(squeue --noheader --jobs="$MERGE2" --format='%T %r')"
echo "merge job $MERGE2: $mstate ($reason)"
[ "$mstate" = PENDING ] && [[ "$reason" == Dependency* ]] || fail "the merge job should be left waiting on its dependency, not '$mstate ($reason)'"
"${CLI[@]}" index-status "$T/again"
"${CLI[@]}" index "${COMMON[@]}" --out "$T/again" --slurm $TASKS --sbatch-args "--cpus-per-task=1" --checkpoint-seconds 0 | tee "$T/submit-3.txt"
grep -q "shards 1 of $TASKS ($((TASKS - 1)) already done); 1 resume from their checkpoints" "$T/submit-3.txt" || fail "the rerun should resubmit task 1 alone, resuming"
grep -q "cancelled the pending merge job $MERGE2" "$T/submit-3.txt" || fail "the stale merge job was not cancelled"
ARRAY3=$(submitted array "$T/submit-3.txt")
MERGE3=$(submitted merge "$T/submit-3.txt")
wait_jobs "$ARRAY3,$MERGE3"
[ "$(job_state "$MERGE3")" = COMPLETED ] || fail "merge job $MERGE3 ended $(job_state "$MERGE3")"
grep -q -- "--resume" "$T"/again/slurm/logs/index-"${ARRAY3}"_1.out || fail "the resubmitted task did not resume from its checkpoint"
cmp "$T/single/triggers.idx" "$T/again/triggers.idx" || fail "after cancel + resubmit, the merged index differs from the single run"
echo "OK: cancelled, resubmitted alone, resumed, merged = single run, byte for byte"

t0=$(now)
"${CLI[@]}" merge --out "$T/merge-timing" "$T"/array/shards/shard-*
MERGE_S=$(elapsed "$t0" "$(now)")

say "figures ($CPUS CPUs, shared machine: compare within this run)"
awk -v tok="$TOKENS" -v s="$SINGLE_S" -v a="$ARRAY_S" -v m="$MERGE_S" -v mj="$MERGE_JOB_S" -v n="$TASKS" 'BEGIN {
  printf "tokens indexed:                 %d\n", tok
  printf "single process (all cores):     %6.1f s  %8.0f tok/s\n", s, tok / s
  printf "%d-task array, 1 CPU each:       %6.1f s  %8.0f tok/s  (%.2fx the single process; submit to last task done)\n", n, a, tok / a, s / a
  printf "merge of %d shards (CLI):        %6.1f s  (merge job, scheduling included: %.1f s)\n", n, m, mj
}'
