package io.meritstream.conversation;

import io.meritstream.analytics.ChannelActivity;
import io.meritstream.analytics.Emotions;
import io.meritstream.avro.AlertMark;
import io.meritstream.avro.CallSummary;
import io.meritstream.avro.CallSummaryKind;
import io.meritstream.avro.ChannelConversation;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The conversation of one call so far: its channels' talk lined up frame by frame on the call's timeline (every
 * channel's frame 0 is the start of the call), and the counts the call summary reports. A Flink POJO, the one value
 * {@link CallConversation} keeps per call.
 *
 * <p>A frame is lined up when every channel that has not ended has sent its decision for it (an ended channel is
 * silent from then on) and the expected number of channels has shown up; a channel more than the maximum lag behind
 * (or one that never shows up) is counted silent for the frames it owes.
 */
public class CallState {
    public String sessionId;
    public ChannelTalk[] channels = new ChannelTalk[0];
    /** Samples per speech-gate frame (the same gate judges every channel). */
    public int frameSamples;

    public String speechGate = "";
    public String modelVersion = "";
    /** Frames lined up over all channels: the call time the metrics cover. */
    public long alignedFrames;

    public long silenceFrames;
    public long overtalkFrames;
    /** Call time at which the next PROGRESS summary is due, milliseconds. */
    public long nextProgressMs;

    public CallState() {}

    /** Folds one activity record in; returns the frames it lined up. */
    long add(ChannelActivity activity, ConversationConfig config) {
        if (sessionId == null) {
            sessionId = activity.sessionId;
            nextProgressMs = config.progressIntervalMs;
        }
        if (frameSamples == 0 && activity.frameSamples > 0) {
            frameSamples = activity.frameSamples;
        }
        if (activity.speechGate != null && !activity.speechGate.isEmpty()) {
            speechGate = activity.speechGate;
        }
        if (activity.modelVersion != null && !activity.modelVersion.isEmpty()) {
            modelVersion = activity.modelVersion;
        }
        ChannelTalk talk = channel(activity.channel);
        talk.receive(activity.firstFrame, activity.speechFrames);
        talk.speechSumOfSquares += activity.speechSumOfSquares;
        talk.speechSamples += (long) activity.speechFrameCount * activity.frameSamples;
        if (activity.speech && activity.emotionProbabilities != null) {
            talk.emotionMs[Emotions.argmax(activity.emotionProbabilities)] += activity.ownedMs;
        }
        if (activity.negativity > talk.peakNegativity) {
            talk.peakNegativity = activity.negativity;
            talk.peakNegativityTimeMs = activity.timeMs;
        }
        talk.addAlerts(activity.alerts);
        if (activity.finalRecord) {
            talk.ended = true;
        }
        return align(config);
    }

    /** True once every channel seen has ended and every frame is lined up. */
    boolean finished() {
        for (ChannelTalk talk : channels) {
            if (!talk.ended || talk.pendingCount > 0) {
                return false;
            }
        }
        return channels.length > 0;
    }

    long durationMs() {
        return toMs(alignedFrames);
    }

    /** Lines up every frame that all channels still talking have sent, or that one is too far ahead to wait for. */
    private long align(ConversationConfig config) {
        if (frameSamples == 0) {
            return 0;
        }
        long maxLagFrames = Math.max(1, config.maxChannelLagMs * 16 / frameSamples);
        long ready = Long.MAX_VALUE;
        long furthest = alignedFrames;
        boolean allEnded = true;
        for (ChannelTalk talk : channels) {
            furthest = Math.max(furthest, talk.receivedFrames);
            if (!talk.ended) {
                ready = Math.min(ready, talk.receivedFrames);
                allEnded = false;
            }
        }
        // Until the expected channels have all shown up, a channel's frames wait (up to the lag) for the others'.
        if (channels.length < config.expectedChannels) {
            ready = alignedFrames;
        }
        long target = allEnded ? furthest : Math.max(Math.min(ready, furthest), furthest - maxLagFrames);
        int n = (int) Math.max(0, target - alignedFrames);
        if (n == 0) {
            return 0;
        }
        long hangoverFrames = config.talkHangoverMs * 16 / frameSamples;
        long maxPauseFrames = config.monologueMaxPauseMs * 16 / frameSamples;
        boolean[] wasTalking = new boolean[channels.length];
        for (int i = 0; i < n; i++) {
            long frame = alignedFrames + i;
            int talkers = 0;
            for (int c = 0; c < channels.length; c++) {
                ChannelTalk talk = channels[c];
                wasTalking[c] = talk.talking;
                boolean speech = i < talk.pendingCount && talk.pending[i];
                if (speech) {
                    talk.talking = true;
                    talk.silentRun = 0;
                } else if (talk.talking && ++talk.silentRun > hangoverFrames) {
                    talk.talking = false;
                }
                if (talk.talking) {
                    talkers++;
                    talk.talkFrames++;
                }
            }
            if (talkers == 0) {
                silenceFrames++;
            } else if (talkers > 1) {
                overtalkFrames++;
            }
            for (int c = 0; c < channels.length; c++) {
                ChannelTalk talk = channels[c];
                boolean othersTalk = talkers > (talk.talking ? 1 : 0);
                if (talk.talking && !wasTalking[c] && othersWereTalking(wasTalking, c)) {
                    talk.interruptions++;
                }
                if (othersTalk) {
                    talk.monologueStart = -1;
                } else if (talk.talking) {
                    if (talk.monologueStart < 0 || frame - talk.monologueLastTalk > maxPauseFrames) {
                        talk.monologueStart = frame;
                    }
                    talk.monologueLastTalk = frame;
                    talk.longestMonologueFrames =
                            Math.max(talk.longestMonologueFrames, frame - talk.monologueStart + 1);
                }
            }
        }
        alignedFrames += n;
        for (ChannelTalk talk : channels) {
            talk.consume(n, alignedFrames);
        }
        return n;
    }

    private static boolean othersWereTalking(boolean[] wasTalking, int self) {
        for (int c = 0; c < wasTalking.length; c++) {
            if (c != self && wasTalking[c]) {
                return true;
            }
        }
        return false;
    }

    /** The summary of the call so far. */
    CallSummary summary(CallSummaryKind kind, ConversationConfig config) {
        long duration = durationMs();
        List<ChannelConversation> perChannel = new ArrayList<>(channels.length);
        long customerMonologue = 0;
        for (ChannelTalk talk : channels) {
            long monologueMs = toMs(talk.longestMonologueFrames);
            if (talk.channel.equals(config.customerChannel)) {
                customerMonologue = monologueMs;
            }
            perChannel.add(channelSummary(talk, duration, monologueMs));
        }
        return CallSummary.newBuilder()
                .setSessionId(sessionId)
                .setKind(kind)
                .setDurationMs(duration)
                .setSpeechGate(speechGate)
                .setSilenceMs(toMs(silenceFrames))
                .setSilenceShare(share(toMs(silenceFrames), duration))
                .setOvertalkMs(toMs(overtalkFrames))
                .setOvertalkShare(share(toMs(overtalkFrames), duration))
                .setLongestCustomerMonologueMs(customerMonologue)
                .setChannels(perChannel)
                .setModelVersion(modelVersion)
                .build();
    }

    private ChannelConversation channelSummary(ChannelTalk talk, long durationMs, long monologueMs) {
        long talkMs = toMs(talk.talkFrames);
        double meanSquare = talk.speechSamples == 0 ? 0 : talk.speechSumOfSquares / talk.speechSamples;
        float level = meanSquare > 1e-12 ? (float) (10 * Math.log10(meanSquare)) : -120f;
        long speechMs = Arrays.stream(talk.emotionMs).sum();
        float[] share = new float[talk.emotionMs.length];
        int dominant = Emotions.NEUTRAL;
        for (int e = 0; e < share.length; e++) {
            share[e] = speechMs == 0 ? 0f : (float) talk.emotionMs[e] / speechMs;
            if (speechMs > 0 && talk.emotionMs[e] > talk.emotionMs[dominant]) {
                dominant = e;
            }
        }
        List<AlertMark> alerts = new ArrayList<>(talk.alerts.length);
        for (ChannelActivity.Alert alert : talk.alerts) {
            alerts.add(AlertMark.newBuilder()
                    .setKind(alert.kind)
                    .setTimeMs(alert.timeMs)
                    .setScore(alert.score)
                    .build());
        }
        return ChannelConversation.newBuilder()
                .setChannel(talk.channel)
                .setTalkMs(talkMs)
                .setTalkShare(share(talkMs, durationMs))
                .setSpeechLevelDbfs(level)
                .setInterruptions(talk.interruptions)
                .setLongestMonologueMs(monologueMs)
                .setDominant(Emotions.label(dominant))
                .setEmotionShare(Emotions.probabilities(share))
                .setPeakNegativity(talk.peakNegativity)
                .setPeakNegativityTimeMs(talk.peakNegativityTimeMs)
                .setAlerts(alerts)
                .build();
    }

    private ChannelTalk channel(String name) {
        for (ChannelTalk talk : channels) {
            if (talk.channel.equals(name)) {
                return talk;
            }
        }
        ChannelTalk talk = new ChannelTalk(name);
        // A channel that joins late was silent so far.
        talk.receivedFrames = alignedFrames;
        channels = Arrays.copyOf(channels, channels.length + 1);
        channels[channels.length - 1] = talk;
        return talk;
    }

    private long toMs(long frames) {
        return frames * frameSamples / 16;
    }

    private static float share(long part, long whole) {
        return whole <= 0 ? 0f : (float) Math.min(1.0, (double) part / whole);
    }
}
