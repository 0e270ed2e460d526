package dev.magvit4j.io;

import java.io.IOException;

/**
 * A checkpoint, archive or tensor file that cannot be read or written: corrupt, truncated, of an
 * unsupported kind, or hostile. The message is one line that names the file and the problem,
 * e.g. {@code "model.ckpt: truncated: zip central directory ends at byte 5120 but the file has
 * 4096 bytes"}. Every reader in this package ({@link Zip}, {@link Pickle}, {@link Checkpoint},
 * {@link SafeTensors}) reports bad input with this exception and nothing else.
 */
public class CheckpointException extends IOException {

    public CheckpointException(String message) {
        super(oneLine(message));
    }

    public CheckpointException(String message, Throwable cause) {
        super(oneLine(message), cause);
    }

    /** Escapes line breaks and other control characters (names and strings come from the file). */
    static String oneLine(String m) {
        if (m == null) return null;
        StringBuilder sb = null;
        for (int i = 0; i < m.length(); i++) {
            char c = m.charAt(i);
            boolean control = c < 0x20 || (c >= 0x7f && c < 0xa0) || c == '\u2028' || c == '\u2029';
            if (control && sb == null) sb = new StringBuilder(m.length() + 16).append(m, 0, i);
            if (!control) {
                if (sb != null) sb.append(c);
            } else {
                switch (c) {
                    case '\n' -> sb.append("\\n");
                    case '\r' -> sb.append("\\r");
                    case '\t' -> sb.append("\\t");
                    default -> sb.append(String.format("\\x%02x", (int) c));
                }
            }
        }
        return sb == null ? m : sb.toString();
    }
}
