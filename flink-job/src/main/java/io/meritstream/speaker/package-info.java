/**
 * Speaker-relative emotion: each window's prosody features ({@link io.meritstream.speaker.ProsodyAnalyzer}) and its
 * channel's running reference of how the speaker normally sounds ({@link io.meritstream.speaker.SpeakerReference}),
 * computed in the windower from the audio itself and handed to models whose card declares the speaker-reference inputs.
 * The Python twin is {@code model/merit/speaker_reference.py}; a committed fixture keeps the two equal.
 */
package io.meritstream.speaker;
