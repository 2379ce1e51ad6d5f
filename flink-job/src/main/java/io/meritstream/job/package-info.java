/**
 * The job: its options, its Kafka connectors and the topology that puts the stages together.
 *
 * <h2>Wiring</h2>
 *
 * <pre>{@code
 * // Kafka to Kafka from options (what main, `merit run` and `merit demo` do); validates every option first:
 * MeritStreamJob.fromConfiguration(conf).build(env);        // or MeritStreamJob.buildFromConfiguration(conf, env)
 * env.execute(MeritStreamJob.JOB_NAME);
 *
 * // Injected source and sinks (tests):
 * new MeritStreamJob(source, new MeritStreamJob.Sinks(deadLetters, enhancedAudio, events, trends, alerts, summaries),
 *         ingest, windowing, speakerReference, inference, analytics, conversation).build(env);
 * }</pre>
 *
 * <h2>Options</h2>
 *
 * {@link io.meritstream.job.KafkaOptions} (brokers, topics, group, starting offsets, delivery guarantee, transactional
 * id prefix, {@code kafka.properties.*} pass-through), {@link io.meritstream.job.IngestOptions}, the windowing options
 * of {@link io.meritstream.session.WindowingConfig}, the speaker-reference options of {@link
 * io.meritstream.speaker.SpeakerReferenceConfig}, {@link io.meritstream.inference.InferenceOptions}, {@link
 * io.meritstream.analytics.AnalyticsOptions} and {@link io.meritstream.conversation.ConversationOptions}; each group has a validating reader that names the offending option.
 *
 * <h2>Delivery</h2>
 *
 * Every Kafka sink is {@code EXACTLY_ONCE} by default ({@code kafka.delivery-guarantee}); a job built from options
 * therefore always checkpoints ({@code execution.checkpointing.interval}, else {@link
 * io.meritstream.job.MeritStreamJob#DEFAULT_CHECKPOINT_INTERVAL}), and read_committed consumers see its output at each
 * completed checkpoint. {@code EndToEndITCase} and {@code ExactlyOnceFailureITCase} prove both on a real broker,
 * the latter across an injected failure and restart.
 */
package io.meritstream.job;
