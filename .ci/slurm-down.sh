#!/usr/bin/env bash
# Stop what slurm-up.sh started, by its pid files only.
STATE_DIR=${STATE_DIR:?set STATE_DIR to the folder given to slurm-up.sh}
for daemon in slurmd slurmctld munged; do
  file="$STATE_DIR/pids/$daemon.pid"
  [ -s "$file" ] || continue
  pid=$(cat "$file")
  kill "$pid" 2>/dev/null && for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"  # slurmd can hang in registration retries
  rm -f "$file"
done
