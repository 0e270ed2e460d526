package dev.magvit4j.ar;

/**
 * How each sub-token is drawn (SPEC.md section 2): the pre sub-token first, then the post
 * sub-token, each with its own settings. The released models' settings are the defaults of
 * their presets ({@link #released}).
 */
public record Sampling(SubToken pre, SubToken post) {

    /**
     * Settings of one sub-token. Logits are first guided, u + guidance·(c - u) with c the
     * conditional and u the "no class" logits (guidance 1 means c alone and no unconditional
     * rows are computed when both sub-tokens use 1), then divided by the temperature (0 means
     * argmax), then cut to the topK most likely (0: all) and to the smallest set whose
     * probability reaches topP (1: all).
     */
    public record SubToken(float temperature, int topK, float topP, float guidance) {
        public SubToken {
            if (!(temperature >= 0f) || Float.isInfinite(temperature)) throw new IllegalArgumentException("temperature must be >= 0 (0 = argmax), got " + temperature);
            if (topK < 0) throw new IllegalArgumentException("top-k must be >= 0 (0 = off), got " + topK);
            if (!(topP > 0f && topP <= 1f)) throw new IllegalArgumentException("top-p must be in (0, 1] (1 = off), got " + topP);
            if (!Float.isFinite(guidance)) throw new IllegalArgumentException("guidance scale must be finite, got " + guidance);
        }

        public boolean greedy() {
            return temperature == 0f;
        }
    }

    /** True when classifier-free guidance needs the unconditional rows. */
    public boolean guided() {
        return pre.guidance() != 1f || post.guidance() != 1f;
    }

    /** The settings the released B, L and XL models were evaluated with (top-k and top-p off). */
    public static Sampling released(String preset) {
        return switch (preset.toUpperCase(java.util.Locale.ROOT)) {
            case "B" -> of(1.0f, 1.0f, 1.9f, 2.0f);
            case "L" -> of(1.1f, 1.0f, 1.9f, 1.9f);
            case "XL" -> of(1.1f, 1.0f, 1.75f, 1.85f);
            default -> throw new IllegalArgumentException("unknown AR preset '" + preset + "': use B, L or XL");
        };
    }

    /** Plain sampling with the given temperatures and guidance scales, top-k and top-p off. */
    public static Sampling of(float temperaturePre, float temperaturePost, float guidancePre, float guidancePost) {
        return new Sampling(new SubToken(temperaturePre, 0, 1f, guidancePre), new SubToken(temperaturePost, 0, 1f, guidancePost));
    }

    /** Argmax at every sub-token, with the given guidance scales. */
    public static Sampling greedy(float guidancePre, float guidancePost) {
        return of(0f, 0f, guidancePre, guidancePost);
    }
}
