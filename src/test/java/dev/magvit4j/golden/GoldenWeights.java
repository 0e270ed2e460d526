package dev.magvit4j.golden;

import dev.magvit4j.io.Checkpoint;
import dev.magvit4j.tensor.Tensor;

import java.io.IOException;
import java.util.Map;

/** The weights of a golden case, read from its Lightning checkpoint (model.ckpt), by their names there. */
final class GoldenWeights {

    private GoldenWeights() {}

    static Map<String, Tensor> load(Goldens g) throws IOException {
        try (Checkpoint ckpt = Checkpoint.open(g.path("model.ckpt"))) {
            return ckpt.stateDict();
        }
    }
}
