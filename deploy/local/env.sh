# Settings of the local cluster (deploy/local/start, stop, smoke, submit), sourced by each script. Every value can be
# overridden from the environment, e.g. MERIT_FLINK_REST_PORT=28081 deploy/local/start.
# shellcheck shell=bash

MERIT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MERIT_LOCAL="${MERIT_LOCAL:-$MERIT_ROOT/target/local-cluster}" # state: configs, data, pids; logs under logs/
MERIT_LOGS="$MERIT_LOCAL/logs"

MERIT_KAFKA_PORT="${MERIT_KAFKA_PORT:-19092}"
MERIT_KAFKA_CONTROLLER_PORT="${MERIT_KAFKA_CONTROLLER_PORT:-19093}"
MERIT_FLINK_RPC_PORT="${MERIT_FLINK_RPC_PORT:-16123}"
MERIT_FLINK_REST_PORT="${MERIT_FLINK_REST_PORT:-18081}"
# Flink's Prometheus reporter: the JobManager takes the first free port of the range, the TaskManager the next.
MERIT_FLINK_METRICS_PORTS="${MERIT_FLINK_METRICS_PORTS:-19250-19251}"
MERIT_PROMETHEUS_PORT="${MERIT_PROMETHEUS_PORT:-19090}"
MERIT_TM_SLOTS="${MERIT_TM_SLOTS:-2}"
MERIT_TM_MEMORY="${MERIT_TM_MEMORY:-2048m}"
MERIT_JM_MEMORY="${MERIT_JM_MEMORY:-1024m}"
MERIT_TM_THREAD_STACK="${MERIT_TM_THREAD_STACK:-16m}" # see start: ONNX Runtime needs more than the default 1 MB
# -Pgpu builds the cluster classpath with onnxruntime_gpu (and the job runs with --inference.device cuda).
MERIT_MAVEN_PROFILES="${MERIT_MAVEN_PROFILES:-}"

MERIT_BOOTSTRAP="127.0.0.1:$MERIT_KAFKA_PORT"
MERIT_REST="http://127.0.0.1:$MERIT_FLINK_REST_PORT"
MERIT_FLINK_LIB="$MERIT_ROOT/deploy/local/classpath/flink/target/lib"
MERIT_KAFKA_LIB="$MERIT_ROOT/deploy/local/classpath/kafka/target/lib"
MERIT_JOB_JAR="$MERIT_ROOT/flink-job/target/merit-job.jar"
MERIT_TOPICS=(audio-frames audio-dlq enhanced-audio emotion-events emotion-trends emotion-alerts call-summaries)

# What the distribution's config.yaml passes to every Flink JVM on Java 17 (reflection into the JDK).
MERIT_JAVA_OPENS="--add-exports=java.base/sun.net.util=ALL-UNNAMED --add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED \
--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED \
--add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED \
--add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED \
--add-opens=java.base/java.text=ALL-UNNAMED --add-opens=java.base/java.time=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED \
--add-opens=java.base/java.util.concurrent=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED \
--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED"

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { echo "[$(date +%H:%M:%S)] FAILED: $*" >&2; exit 1; }

# Waits until "$@" succeeds, up to $1 seconds after the description $2.
wait_for() {
  local timeout="$1" what="$2"; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$what: not ready after ${timeout}s (logs: $MERIT_LOGS)"
    sleep 1
  done
}

classpath() { local dir="$1"; ls "$dir"/*.jar | tr '\n' ':'; }

# Runs a Kafka command-line tool class against the local broker.
kafka_tool() {
  java -Xmx256m -Dlog4j2.configurationFile="$MERIT_LOCAL/conf/kafka/log4j2-tools.properties" \
    -cp "$(classpath "$MERIT_KAFKA_LIB")" "$@"
}

# PID files: stop only ever signals processes that start recorded.
pid_alive() { local f="$MERIT_LOCAL/pids/$1.pid"; [[ -f "$f" ]] && kill -0 "$(cat "$f")" 2>/dev/null; }
