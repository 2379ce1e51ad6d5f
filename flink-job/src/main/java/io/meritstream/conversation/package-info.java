/**
 * Conversation metrics per call, after analytics: {@link io.meritstream.conversation.CallConversation}, keyed by
 * session, sees every channel of a call and writes {@link io.meritstream.avro.CallSummary} records to the
 * call-summaries topic: talk time per channel, silence, overtalk, interruptions, speech level, monologues, and each
 * channel's emotion share, peak negativity and alerts.
 *
 * <pre>{@code
 * ConversationConfig config = ConversationConfig.fromConfiguration(jobConfiguration); // fails fast on bad options
 * DataStream<CallSummary> summaries = ConversationStage.apply(analytics.channelActivity(), config);
 * }</pre>
 *
 * <h2>Definitions</h2>
 *
 * <ul>
 *   <li>Talk: a channel talks from a frame its speech gate ({@code analytics.vad.kind}) judged speech until {@code
 *       conversation.talk-hangover} of non-speech has followed. Talk time counts those frames.
 *   <li>Silence: no channel talks. Overtalk: two or more talk at once. Shares are of the call time lined up so far.
 *   <li>Interruption: a channel starts talking while another channel was talking in the frame before.
 *   <li>Monologue: a channel talking while no other does, through its own pauses up to {@code
 *       conversation.monologue-max-pause}; the longest counts. The customer's ({@code conversation.customer-channel})
 *       is also reported on the call.
 *   <li>Speech level: mean square of the enhanced audio over the channel's speech frames, in dBFS.
 *   <li>Emotion share: speech time per most probable class of the channel's speech windows.
 * </ul>
 *
 * All channels' timelines are taken to start together (sample 0 of each is the start of the call), as the replayer
 * and a telephony bridge that opens both legs at once produce them.
 */
package io.meritstream.conversation;
