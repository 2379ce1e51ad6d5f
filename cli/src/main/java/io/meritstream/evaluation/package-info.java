/**
 * Evaluation of a model through the job's streaming path ({@code merit evaluate}), with metrics that reproduce the
 * Python evaluation ({@code model/merit/metrics.py}, {@code model/merit/evaluate.py}).
 *
 * <h2>What runs</h2>
 *
 * {@link io.meritstream.evaluation.Evaluator} reads each {@link io.meritstream.evaluation.Manifest} entry's noisy WAV
 * and hands it to {@link io.meritstream.evaluation.WindowedInference}, which uses the job's classes rather than copies:
 * windows where the job's windower puts them ({@link io.meritstream.session.WindowingConfig#windowStart}, cut by
 * {@link io.meritstream.evaluation.StreamWindows}, the one rule here that mirrors an operator instead of calling it:
 * {@code SessionWindower} keeps it inside keyed Flink state), the model through the job's {@link
 * io.meritstream.inference.OrtModelLoader} / {@link io.meritstream.inference.WindowModel}, probabilities by {@link
 * io.meritstream.inference.ModelOutputs#softmax}, and the enhanced audio reassembled by the analytics' {@link
 * io.meritstream.analytics.OverlapAdd}.
 *
 * <h2>Where it differs from the Python evaluation</h2>
 *
 * <ul>
 *   <li>Python runs the model once on the whole utterance; here the utterance goes window by window (3 s / 1 s by
 *       default, the first windows left-padded with zeros as in the job) and its emotion is the mean of the window
 *       probabilities. Model-dependent numbers (the enhanced SE scores, SER) may therefore differ a little; the
 *       noisy-input scores do not depend on the model and agree to Python's 5-decimal rounding.
 *   <li>Items without an emotion count only for SE, items without a clean reference only for SER, items without
 *       {@code snr_db} group under "unknown" (Python requires all three). The result adds {@code by_noise_type}.
 * </ul>
 *
 * <h2>Agreement</h2>
 *
 * {@link io.meritstream.evaluation.SpeechMetrics}, {@link io.meritstream.evaluation.EmotionMetrics} and {@link
 * io.meritstream.evaluation.EvaluationSummary} follow the Python definitions exactly (numpy's Hann windows, scipy's
 * {@code resample_poly} filter for STOI's 10 kHz, pystoi's frame and band rules, sklearn's F1 conventions, Python's
 * {@code %g} SNR keys). {@code MetricsAgreementTest} checks them against values the Python code computed on the fixture
 * in {@code model/tests/fixtures/metrics/} (written by {@code model/merit/metrics_fixture.py}); {@code
 * model/tests/test_metrics_fixture.py} checks those values against the current Python code.
 */
package io.meritstream.evaluation;
