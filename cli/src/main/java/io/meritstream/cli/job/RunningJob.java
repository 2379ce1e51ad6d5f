package io.meritstream.cli.job;

import java.util.Optional;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;

/** A started job and the cluster it runs on. {@link #close()} cancels the job and stops the cluster; idempotent. */
public interface RunningJob extends AutoCloseable {
    JobID id();

    /** Flink's web UI of the cluster, when it serves one. */
    Optional<String> webUi();

    /** The job's current status; {@link JobStatus#FAILED} after a failure the job could not recover from. */
    JobStatus status() throws Exception;

    /** Why the job failed, when {@link #status()} is FAILED. */
    Optional<Throwable> failure() throws Exception;

    @Override
    void close();
}
