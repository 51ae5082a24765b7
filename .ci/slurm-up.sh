#!/usr/bin/env bash
# Start a throw-away single-node SLURM on 127.0.0.1 (no systemd, no cgroups, no accounting database),
# so that tests can run the workflow through profiles/slurm. Needs root and Debian's packages.
# Rewrites /etc/slurm/slurm.conf: never run it on a machine that is part of a real cluster.
#   STATE_DIR (required): writable folder for state, logs, pid files and the fake GPU devices
#   FAKE_GPUS (default 2): GPUs the node declares as GRES (gpu:fake:N), device files that are links to /dev/null,
#                          so that GPU requests (--gpus, --gres) are scheduled and CUDA_VISIBLE_DEVICES is set
set -euo pipefail
STATE_DIR=${STATE_DIR:?set STATE_DIR to a writable folder}
FAKE_GPUS=${FAKE_GPUS:-2}

if command -v sinfo >/dev/null && timeout 5 sinfo -h -o %T 2>/dev/null | grep -q '^idle' \
    && { [ "$FAKE_GPUS" = 0 ] || timeout 5 sinfo -h -o %G | grep -q "gpu:fake:$FAKE_GPUS"; }; then
  echo "slurm: already up, reusing it"
  exit 0
fi

packages="munge slurmctld slurmd slurm-client"
missing=$(for p in $packages; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
if [ -d /run/systemd/system ]; then systemctl stop slurmd slurmctld 2>/dev/null || true; fi

mkdir -p "$STATE_DIR"/{state,spool,log,pids,dev} /etc/slurm /run/munge
cpus=$(nproc)
mem_mb=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.8}' /proc/meminfo)  # above the real amount the node drains

gres_types="" node_gres=""
rm -f /etc/slurm/gres.conf
if [ "$FAKE_GPUS" -gt 0 ]; then
  # GRES files must be device nodes: links to /dev/null are; regular files are refused
  for i in $(seq 0 $((FAKE_GPUS - 1))); do ln -sfn /dev/null "$STATE_DIR/dev/fakegpu$i"; done
  echo "NodeName=localhost Name=gpu Type=fake File=$STATE_DIR/dev/fakegpu[0-$((FAKE_GPUS - 1))]" > /etc/slurm/gres.conf
  gres_types="GresTypes=gpu" node_gres="Gres=gpu:fake:$FAKE_GPUS"
fi

# The config must sit at the compiled-in path: the jobstep plugin drops SLURM_CONF before its nested srun.
# MinJobAge keeps finished jobs visible to squeue, which the profile uses for job status.
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=evrepro-ci
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=600
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
$gres_types
StateSaveLocation=$STATE_DIR/state
SlurmdSpoolDir=$STATE_DIR/spool
SlurmctldPidFile=$STATE_DIR/pids/slurmctld.pid
SlurmdPidFile=$STATE_DIR/pids/slurmd.pid
SlurmctldLogFile=$STATE_DIR/log/slurmctld.log
SlurmdLogFile=$STATE_DIR/log/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb $node_gres State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF

chown munge:munge /run/munge
[ -s /etc/munge/munge.key ] || runuser -u munge -- mungekey --create
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged
  cp /run/munge/munged.pid "$STATE_DIR/pids/munged.pid"
fi
munge -n | unmunge >/dev/null

/usr/sbin/slurmctld
/usr/sbin/slurmd -N localhost
for _ in $(seq 150); do
  timeout 5 sinfo -h -o %T 2>/dev/null | grep -q '^idle' && break
  sleep 0.2
done
if ! timeout 5 sinfo -h -o %T | grep -q '^idle'; then
  tail -n 30 "$STATE_DIR"/log/*.log
  exit 1
fi
echo "slurm: node idle, GRES: $(sinfo -h -o %G)"
