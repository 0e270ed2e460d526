package dev.magvit4j.train;

import dev.magvit4j.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One of the two things {@link Training} trains: the tokenizer ({@link TokenizerTraining}) or
 * the AR transformer ({@link ArTraining}). The loop owns steps, checkpoints, metrics and
 * pictures; a stage owns its models, optimisers, data and random state.
 */
public interface Stage extends AutoCloseable {

    /** "tokenizer" or "ar": names the stage in checkpoints and messages. */
    String name();

    /** Metric columns, in CSV order (loss terms first). */
    List<String> columns();

    /** The columns shown on the progress line. */
    List<String> shown();

    /** Images (or token grids) consumed per step. */
    int batchSize();

    /** The outcome of one step: its metrics, and why its update was skipped (null when it was not). */
    record Result(Map<String, Double> values, String skipped) {}

    /** Puts each loss term's value into {@code values}; returns a description of the first non-finite one, or null. */
    static String record(Map<String, Tensor> terms, Map<String, Double> values) {
        String bad = null;
        for (Map.Entry<String, Tensor> e : terms.entrySet()) {
            double v = e.getValue().item();
            values.put(e.getKey(), v);
            if (!Double.isFinite(v) && bad == null) bad = "loss term '" + e.getKey() + "' is " + v;
        }
        return bad;
    }

    /** Takes training step {@code step} (0-based). A non-finite loss term or gradient skips the update and says so in the result. */
    Result step(long step) throws IOException;

    /** Everything a resume needs, as tensors (models, optimisers, averages, random and data state). */
    Map<String, Tensor> state();

    /** Strings stored beside the state (the settings, for a human reading the file). */
    Map<String, String> metadata();

    /** Restores what {@link #state} saved. */
    void restore(Map<String, Tensor> state);

    /** Writes the stage's pictures (reconstructions or samples) for {@code step} under {@code dir}. */
    void pictures(Path dir, long step) throws IOException;

    /** Writes the stage's plots under {@code dir}. */
    void plots(Metrics metrics, Path dir) throws IOException;

    /** Stops the stage's background data loading. */
    @Override
    void close();
}
