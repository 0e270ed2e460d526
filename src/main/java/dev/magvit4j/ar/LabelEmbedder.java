package dev.magvit4j.ar;

import dev.magvit4j.nn.Embedding;
import dev.magvit4j.nn.Module;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;

/**
 * The class embedding: a table of classNum + 1 rows, the last being "no class" (the label of
 * the unconditional half in classifier-free guidance, and of dropped labels in training).
 */
public final class LabelEmbedder extends Module {

    public final Embedding embeddingTable;
    public final int classNum;

    LabelEmbedder(int classNum, int dim, Generator gen) {
        this.classNum = classNum;
        embeddingTable = child("embedding_table", new Embedding(classNum + 1, dim, gen));
    }

    /** Embeddings [B, dim] of labels [B] (0 .. classNum, where classNum means no class). */
    public Tensor forward(Tensor labels) {
        long[] l = labels.toLongArray();
        for (long v : l) {
            if (v < 0 || v > classNum) throw new IndexOutOfBoundsException("class label " + v + " is out of range 0.." + (classNum - 1) + " (" + classNum + " = no class)");
        }
        return embeddingTable.forward(labels);
    }
}
