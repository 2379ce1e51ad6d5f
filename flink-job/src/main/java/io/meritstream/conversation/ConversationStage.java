package io.meritstream.conversation;

import io.meritstream.analytics.ChannelActivity;
import io.meritstream.avro.CallSummary;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

/** Wires {@link CallConversation} into a topology: keys the channels' activity by session, returns the summaries. */
public final class ConversationStage {
    /** Operator name and uid (the uid keeps state across job upgrades: never change it). */
    public static final String NAME = "conversation: talk, silence, overtalk, call summaries";

    public static final String UID = "conversation";

    private ConversationStage() {}

    public static SingleOutputStreamOperator<CallSummary> apply(
            DataStream<ChannelActivity> activity, ConversationConfig config) {
        return activity.keyBy(CallConversation.keySelector(), Types.STRING)
                .process(new CallConversation(config), CallConversation.CALL_SUMMARY_TYPE)
                .name(NAME)
                .uid(UID);
    }
}
