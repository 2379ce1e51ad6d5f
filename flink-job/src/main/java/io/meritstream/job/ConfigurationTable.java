package io.meritstream.job;

import io.meritstream.analytics.AnalyticsOptions;
import io.meritstream.conversation.ConversationOptions;
import io.meritstream.inference.InferenceOptions;
import io.meritstream.session.WindowingConfig;
import io.meritstream.speaker.SpeakerReferenceConfig;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.description.Formatter;
import org.apache.flink.configuration.description.TextElement;
import org.apache.flink.util.TimeUtils;

/**
 * The README's configuration table, generated from the job's {@link ConfigOption} constants so that it cannot drift
 * from the code ({@code ConfigurationTableTest} fails when the README's copy differs). Print it with {@code java -cp
 * <job classpath> io.meritstream.job.ConfigurationTable}.
 */
public final class ConfigurationTable {
    /** Every class that declares the job's options, in the order the table lists them. */
    static final List<Class<?>> OPTION_CLASSES = List.of(
            KafkaOptions.class,
            IngestOptions.class,
            WindowingConfig.class,
            SpeakerReferenceConfig.class,
            InferenceOptions.class,
            AnalyticsOptions.class,
            ConversationOptions.class);

    private ConfigurationTable() {}

    public static void main(String[] args) {
        System.out.print(markdown());
    }

    /** One row per option: key, default, meaning. */
    public static String markdown() {
        StringBuilder out = new StringBuilder("| option | default | meaning |\n|---|---|---|\n");
        for (ConfigOption<?> option : options()) {
            out.append("| `")
                    .append(option.key())
                    .append("` | ")
                    .append(option.hasDefaultValue() ? "`" + formatDefault(option.defaultValue()) + "`" : "(none)")
                    .append(" | ")
                    .append(new PlainText()
                            .format(option.description())
                            .replace("|", "\\|")
                            .replace("\n", " "))
                    .append(" |\n");
        }
        return out.toString();
    }

    static List<ConfigOption<?>> options() {
        List<ConfigOption<?>> options = new ArrayList<>();
        for (Class<?> type : OPTION_CLASSES) {
            for (Field field : type.getFields()) {
                if (Modifier.isStatic(field.getModifiers()) && ConfigOption.class.isAssignableFrom(field.getType())) {
                    try {
                        options.add((ConfigOption<?>) field.get(null));
                    } catch (IllegalAccessException e) {
                        throw new IllegalStateException("cannot read " + type.getName() + "." + field.getName(), e);
                    }
                }
            }
        }
        return options;
    }

    private static String formatDefault(Object value) {
        return value instanceof Duration duration ? TimeUtils.formatWithHighestUnit(duration) : String.valueOf(value);
    }

    /** Flink's description formatter, writing plain text (its own HTML formatter would escape for a web page). */
    private static final class PlainText extends Formatter {
        @Override
        protected void formatLink(StringBuilder state, String link, String description) {
            state.append(description).append(" (").append(link).append(')');
        }

        @Override
        protected void formatLineBreak(StringBuilder state) {
            state.append(' ');
        }

        @Override
        protected void formatText(
                StringBuilder state,
                String format,
                String[] elements,
                java.util.EnumSet<TextElement.TextStyle> styles) {
            state.append(String.format(format, (Object[]) elements));
        }

        @Override
        protected void formatList(StringBuilder state, String[] entries) {
            state.append(String.join("; ", entries));
        }

        @Override
        protected Formatter newInstance() {
            return new PlainText();
        }
    }
}
