package io.meritstream.cli.job;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobmaster.JobResult;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Runs the job on a Flink MiniCluster in this JVM: one TaskManager with as many slots as the job's parallelism. The
 * cluster belongs to the returned {@link RunningJob}, so closing it cancels the job and stops the cluster.
 */
public final class MiniClusterJobLauncher implements JobLauncher {
    private final JobTopology topology;

    public MiniClusterJobLauncher(JobTopology topology) {
        this.topology = Objects.requireNonNull(topology, "topology");
    }

    @Override
    public RunningJob start(Configuration conf) throws Exception {
        int parallelism = conf.get(CoreOptions.DEFAULT_PARALLELISM);
        Configuration clusterConf = new Configuration(conf);
        // A free port rather than 8081, which another Flink on this machine may hold.
        if (!clusterConf.contains(RestOptions.BIND_PORT)) {
            clusterConf.set(RestOptions.BIND_PORT, "0");
        }
        if (!clusterConf.contains(RestOptions.ADDRESS)) {
            clusterConf.set(RestOptions.ADDRESS, "127.0.0.1");
        }
        MiniCluster cluster = new MiniCluster(new MiniClusterConfiguration.Builder()
                .setConfiguration(clusterConf)
                .setNumTaskManagers(1)
                .setNumSlotsPerTaskManager(parallelism)
                .build());
        try {
            cluster.start();
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
            topology.build(conf, env);
            JobGraph graph = env.getStreamGraph().getJobGraph();
            JobID id = cluster.submitJob(graph).get(2, TimeUnit.MINUTES).getJobID();
            return new Job(cluster, id);
        } catch (Exception e) {
            cluster.close();
            throw e;
        }
    }

    private static final class Job implements RunningJob {
        private final MiniCluster cluster;
        private final JobID id;
        private boolean closed;

        Job(MiniCluster cluster, JobID id) {
            this.cluster = cluster;
            this.id = id;
        }

        @Override
        public JobID id() {
            return id;
        }

        @Override
        public Optional<String> webUi() {
            try {
                return Optional.of(
                        cluster.getRestAddress().get(5, TimeUnit.SECONDS).toString());
            } catch (Exception e) {
                return Optional.empty();
            }
        }

        @Override
        public JobStatus status() throws Exception {
            return cluster.getJobStatus(id).get(30, TimeUnit.SECONDS);
        }

        @Override
        public Optional<Throwable> failure() throws Exception {
            if (status() != JobStatus.FAILED) {
                return Optional.empty();
            }
            JobResult result = cluster.requestJobResult(id).get(30, TimeUnit.SECONDS);
            return result.getSerializedThrowable()
                    .map(t -> (Throwable) t.deserializeError(MiniClusterJobLauncher.class.getClassLoader()));
        }

        @Override
        public synchronized void close() {
            if (closed) {
                return;
            }
            closed = true;
            try {
                if (!cluster.getJobStatus(id).get(10, TimeUnit.SECONDS).isGloballyTerminalState()) {
                    cluster.cancelJob(id).get(Duration.ofSeconds(30).toMillis(), TimeUnit.MILLISECONDS);
                }
            } catch (Exception e) {
                // Closing the cluster below stops the job anyway.
            }
            try {
                cluster.close();
            } catch (Exception e) {
                throw new IllegalStateException("cannot stop the Flink MiniCluster: " + e.getMessage(), e);
            }
        }
    }
}
