package io.meritstream.conversation;

import io.meritstream.analytics.ChannelActivity;
import io.meritstream.avro.CallSummary;
import io.meritstream.avro.CallSummaryKind;
import io.meritstream.metrics.MetricNames;
import java.time.Duration;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * The conversation metrics of a call, keyed by session: lines up its channels' speech decisions ({@link
 * ChannelActivity}, from analytics) frame by frame and counts talk per channel, silence, overtalk, interruptions and
 * monologues ({@link CallState}). Emits a PROGRESS {@link CallSummary} every {@code conversation.progress-interval} of
 * call time and a FINAL one when every channel of the call has ended; then the call's state is cleared.
 *
 * <p>A channel that sends its first record after the others have ended opens a new call state with the same session
 * id (and so a second FINAL summary); analytics' idle timeout ends every channel, so each call ends. No timers: the
 * state TTL ({@code conversation.state-ttl}) is the backstop for a call whose channels never end.
 */
public class CallConversation extends KeyedProcessFunction<String, ChannelActivity, CallSummary> {
    private static final long serialVersionUID = 1L;

    public static final TypeInformation<CallSummary> CALL_SUMMARY_TYPE = TypeInformation.of(CallSummary.class);

    private final ConversationConfig config;

    private transient ValueState<CallState> state;
    transient Counter summaries;
    transient Counter callsFinished;
    transient Counter silenceMs;
    transient Counter overtalkMs;
    transient Counter callMs;
    transient Counter interruptions;

    public CallConversation(ConversationConfig config) {
        this.config = config;
    }

    /** The key this function must be keyed by: the session id. */
    public static KeySelector<ChannelActivity, String> keySelector() {
        return new SessionKeySelector();
    }

    /** The session id as a named class, so Flink sees the String key type without lambda analysis. */
    public static final class SessionKeySelector implements KeySelector<ChannelActivity, String> {
        private static final long serialVersionUID = 1L;

        @Override
        public String getKey(ChannelActivity activity) {
            return activity.sessionId;
        }
    }

    @Override
    public void open(OpenContext openContext) {
        ValueStateDescriptor<CallState> descriptor =
                new ValueStateDescriptor<>("conversation-call", TypeInformation.of(CallState.class));
        descriptor.enableTimeToLive(StateTtlConfig.newBuilder(Duration.ofMillis(config.stateTtlMs))
                .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
                .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
                .build());
        state = getRuntimeContext().getState(descriptor);
        MetricGroup metrics = getRuntimeContext().getMetricGroup();
        summaries = metrics.counter(MetricNames.CALL_SUMMARIES);
        callsFinished = metrics.counter(MetricNames.CALLS_FINISHED);
        silenceMs = metrics.counter(MetricNames.CONVERSATION_SILENCE_MS);
        overtalkMs = metrics.counter(MetricNames.CONVERSATION_OVERTALK_MS);
        callMs = metrics.counter(MetricNames.CONVERSATION_CALL_MS);
        interruptions = metrics.counter(MetricNames.CONVERSATION_INTERRUPTIONS);
    }

    @Override
    public void processElement(ChannelActivity activity, Context ctx, Collector<CallSummary> out) throws Exception {
        CallState call = state.value();
        if (call == null) {
            call = new CallState();
        }
        long silenceBefore = call.silenceFrames;
        long overtalkBefore = call.overtalkFrames;
        long callBefore = call.alignedFrames;
        int interruptionsBefore = interruptionCount(call);
        call.add(activity, config);
        if (call.frameSamples > 0) {
            silenceMs.inc((call.silenceFrames - silenceBefore) * call.frameSamples / 16);
            overtalkMs.inc((call.overtalkFrames - overtalkBefore) * call.frameSamples / 16);
            callMs.inc((call.alignedFrames - callBefore) * call.frameSamples / 16);
        }
        interruptions.inc(interruptionCount(call) - interruptionsBefore);

        if (call.finished()) {
            out.collect(call.summary(CallSummaryKind.FINAL, config));
            summaries.inc();
            callsFinished.inc();
            state.clear();
            return;
        }
        if (call.durationMs() >= call.nextProgressMs) {
            out.collect(call.summary(CallSummaryKind.PROGRESS, config));
            summaries.inc();
            call.nextProgressMs = (call.durationMs() / config.progressIntervalMs + 1) * config.progressIntervalMs;
        }
        state.update(call);
    }

    private static int interruptionCount(CallState call) {
        int n = 0;
        for (ChannelTalk talk : call.channels) {
            n += talk.interruptions;
        }
        return n;
    }
}
