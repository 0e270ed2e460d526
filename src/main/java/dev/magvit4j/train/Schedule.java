package dev.magvit4j.train;

/** A learning rate per step (0-based index of the step about to be taken). */
@FunctionalInterface
public interface Schedule {

    float lr(long step);

    /** The tokenizer's: {@code base}, multiplied by {@code factor} at each of the given steps (the reference drops ×0.1 at epochs 200 and 250). */
    static Schedule drops(float base, long[] dropSteps, float factor) {
        long[] at = dropSteps.clone();
        return step -> {
            float lr = base;
            for (long s : at) if (step >= s) lr *= factor;
            return lr;
        };
    }

    /**
     * The AR model's: linear warmup from base/warmup to {@code base} over {@code warmup} steps,
     * then a cosine decay to {@code base · minRatio} at step {@code total}, flat after it.
     */
    static Schedule warmupCosine(float base, long warmup, long total, float minRatio) {
        return step -> {
            if (step < warmup) return base * (step + 1) / warmup;
            if (total <= warmup) return base;
            double t = Math.min(1.0, (step - warmup) / (double) (total - warmup));
            return (float) (base * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * t))));
        };
    }
}
