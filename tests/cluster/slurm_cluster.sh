#!/usr/bin/env bash
# A real single-node SLURM cluster with accounting (slurmdbd + MariaDB, so `sacct` works as on
# a real site), for tests and CI. Everything it writes lives under one scratch folder.
#
#   tests/cluster/slurm_cluster.sh start DIR   # installs Debian's packages if missing (root),
#                                              # starts munged, mysqld, slurmdbd, slurmctld, slurmd
#   tests/cluster/slurm_cluster.sh stop DIR    # stops the daemons this script started
#
# Clients find the cluster through `SLURM_CONF=DIR/etc/slurm.conf` (printed by `start`) and
# through /etc/slurm/slurm.conf, linked to it while the cluster is up: the jobstep plugin strips
# SLURM_* variables (SLURM_CONF too) before its nested `srun`, which then finds no config.
# A machine whose /etc/slurm/slurm.conf is not this script's link is left alone (exit 3).
# The node has one fake GPU (gres `gpu:1`, File=/dev/null): jobs that ask for one are
# scheduled as on a GPU node and see CUDA_VISIBLE_DEVICES=0; nothing runs on a GPU.
# Facts and pitfalls: ../shared/notes/slurm-single-node.md. No systemd: daemons by hand.
set -euo pipefail

ACTION=${1:?usage: slurm_cluster.sh start|stop DIR}
DIR=${2:?usage: slurm_cluster.sh start|stop DIR}
DIR=$(mkdir -p "$DIR" && cd "$DIR" && pwd)
NODE=$(hostname -s)
CLUSTER=brainbehave
# Ports away from the defaults, so a site's own SLURM or MariaDB on this machine is untouched.
CTLD_PORT=${BB_SLURMCTLD_PORT:-16817}
SLURMD_PORT=${BB_SLURMD_PORT:-16818}
DBD_PORT=${BB_SLURMDBD_PORT:-16819}
DB_PORT=${BB_MYSQL_PORT:-13306}
export SLURM_CONF="$DIR/etc/slurm.conf"

log() { echo "slurm_cluster: $*" >&2; }

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local limit=$1 what=$2 i
  shift 2
  for ((i = 0; i < limit * 2; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  log "timed out after ${limit}s waiting for $what; logs under $DIR/log"
  tail -n 20 "$DIR"/log/*.log >&2 2>/dev/null || true
  return 1
}

install_packages() {
  local missing=()
  command -v slurmctld >/dev/null || missing+=(slurm-wlm)
  command -v slurmdbd >/dev/null || missing+=(slurmdbd)
  command -v munged >/dev/null || missing+=(munge)
  command -v mariadbd >/dev/null || command -v mysqld >/dev/null || missing+=(mariadb-server)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    log "missing Debian packages (${missing[*]}); install them as root: apt-get install ${missing[*]}"
    return 1
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" >/dev/null
}

start_munge() {
  if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then return 0; fi
  [ -s /etc/munge/munge.key ] || {
    (umask 077 && dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none)
    chown munge:munge /etc/munge/munge.key
  }
  # munged refuses log/pid/socket folders not owned by munge or root.
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  runuser -u munge -- munged
  touch "$DIR/started-munged"
  wait_for 10 munged bash -c 'munge -n </dev/null | unmunge'
}

start_mysql() {
  local db="$DIR/mysql" server
  server=$(command -v mariadbd || command -v mysqld)
  if [ ! -d "$db/mysql" ]; then
    mkdir -p "$db"
    mariadb-install-db --user=root --datadir="$db" --auth-root-authentication-method=socket \
      --skip-test-db >"$DIR/log/mysql-install.log" 2>&1
  fi
  "$server" --user=root --datadir="$db" --socket="$DIR/run/mysql.sock" \
    --pid-file="$DIR/run/mysqld.pid" --bind-address=127.0.0.1 --port="$DB_PORT" \
    --log-error="$DIR/log/mysqld.log" --innodb-buffer-pool-size=64M \
    --skip-name-resolve >/dev/null 2>&1 &
  wait_for 60 mysqld mariadb --socket="$DIR/run/mysql.sock" -e 'select 1'
  mariadb --socket="$DIR/run/mysql.sock" <<SQL
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm';
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurm';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
SQL
}

write_config() {
  local cpus sockets cores threads mem
  mkdir -p "$DIR"/{etc,log,run,state,spool}
  # The node's real shape; RealMemory above the real memory drains the node.
  read -r cpus sockets cores threads mem < <(slurmd -C | awk '/^NodeName/ {
    for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    print v["CPUs"], v["SocketsPerBoard"] ? v["SocketsPerBoard"] : v["Sockets"],
          v["CoresPerSocket"], v["ThreadsPerCore"], v["RealMemory"] }')
  mem=$((mem * 9 / 10))
  cat >"$DIR/etc/slurm.conf" <<EOF
ClusterName=$CLUSTER
SlurmctldHost=localhost
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Without a default, a job with no memory request takes the whole node and jobs serialise.
DefMemPerCPU=500
MinJobAge=300
ReturnToService=2
GresTypes=gpu
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus Sockets=$sockets CoresPerSocket=$cores ThreadsPerCore=$threads RealMemory=$mem Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
  echo "NodeName=$NODE Name=gpu File=/dev/null" >"$DIR/etc/gres.conf"
  cat >"$DIR/etc/slurmdbd.conf" <<EOF
AuthType=auth/munge
DbdHost=localhost
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$DIR/run/slurmdbd.pid
LogFile=$DIR/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
EOF
  chmod 600 "$DIR/etc/slurmdbd.conf"  # slurmdbd refuses a readable config
}

# Whether the test cluster whose config is $1 (DIR/etc/slurm.conf) still runs its slurmctld.
# Its folder can outlive it: pytest keeps the last temporary folders of a killed session.
earlier_cluster_is_up() {
  local conf=$1 pid
  [ -e "$conf" ] || return 1
  grep -q '^ClusterName=brainbehave$' "$conf" || return 0  # not ours: treat as a site's
  pid=$(cat "$(dirname "$(dirname "$conf")")/run/slurmctld.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

link_config() {
  local site=/etc/slurm/slurm.conf
  if [ -e "$site" ] || [ -L "$site" ]; then
    if [ "$(readlink "$site" 2>/dev/null)" = "$SLURM_CONF" ]; then return 0; fi
    if [ -L "$site" ] && [[ "$(readlink "$site")" == */etc/slurm.conf ]] \
      && ! earlier_cluster_is_up "$(readlink "$site")"; then
      rm -f "$site"  # a link left by an earlier test cluster that is gone or was killed
    else
      log "$site exists (a site SLURM?): not starting a test cluster over it"
      exit 3
    fi
  fi
  mkdir -p /etc/slurm
  ln -s "$SLURM_CONF" "$site"
}

start() {
  if [ -f "$DIR/run/slurmctld.pid" ] && sinfo -h >/dev/null 2>&1; then
    log "already up ($SLURM_CONF)"
    echo "SLURM_CONF=$SLURM_CONF"
    return 0
  fi
  install_packages
  write_config
  link_config
  start_munge
  start_mysql
  slurmdbd </dev/null >>"$DIR/log/daemons.out" 2>&1
  wait_for 60 slurmdbd sacctmgr -n list cluster
  # The cluster must be known to the database before slurmctld starts.
  sacctmgr -i add cluster "$CLUSTER" >/dev/null 2>&1 || true
  slurmctld </dev/null >>"$DIR/log/daemons.out" 2>&1
  slurmd -N "$NODE" </dev/null >>"$DIR/log/daemons.out" 2>&1
  wait_for 60 "node $NODE idle" bash -c "sinfo -h -N -o %t | grep -qx idle"
  wait_for 30 "sacct" sacct -n -X
  log "up: $(sinfo -h -o '%P %D %t %G')"
  echo "SLURM_CONF=$SLURM_CONF"
}

stop_pidfile() {  # stop_pidfile FILE: SIGTERM, then SIGKILL after 10 s
  local file=$1 pid i
  [ -s "$file" ] || return 0
  pid=$(cat "$file")
  kill "$pid" 2>/dev/null || { rm -f "$file"; return 0; }
  for ((i = 0; i < 20; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$file"
}

stop() {
  scancel --full --quiet --partition debug 2>/dev/null || true
  stop_pidfile "$DIR/run/slurmd.pid"
  stop_pidfile "$DIR/run/slurmctld.pid"
  stop_pidfile "$DIR/run/slurmdbd.pid"
  stop_pidfile "$DIR/run/mysqld.pid"
  if [ "$(readlink /etc/slurm/slurm.conf 2>/dev/null)" = "$SLURM_CONF" ]; then
    rm -f /etc/slurm/slurm.conf
  fi
  if [ -f "$DIR/started-munged" ] && [ -s /run/munge/munged.pid ]; then
    stop_pidfile /run/munge/munged.pid
    rm -f "$DIR/started-munged"
  fi
  log "stopped"
}

case "$ACTION" in
  start) start ;;
  stop) stop ;;
  *) log "unknown action '$ACTION' (start|stop)"; exit 2 ;;
esac
