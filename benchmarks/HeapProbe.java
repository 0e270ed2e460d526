import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.tokenizer.Tokenizer;
import dev.magvit4j.tokenizer.TokenizerConfig;

/**
 * Encodes one image with a released tokenizer architecture (random weights, encoder only, as
 * {@code ./magvit4j encode} loads it) and exits 0, or exits 3 when the heap is too small.
 * Run by benchmarks/heap.sh at decreasing -Xmx:  java -cp target/magvit4j.jar benchmarks/HeapProbe.java 256
 */
public class HeapProbe {
    public static void main(String[] args) {
        String preset = args.length > 0 ? args[0] : "256";
        try {
            TokenizerConfig c = TokenizerConfig.preset(preset);
            Tokenizer tok = new Tokenizer(c, Tokenizer.Parts.ENCODER);
            int size = 16 * c.downsampling();
            Tensor image = Tensor.uniform(new Generator(1), -1, 1, 1, 3, size, size);
            System.out.println("encoded: " + tok.encode(image).indices().numel() + " tokens");
        } catch (OutOfMemoryError e) {
            System.exit(3);
        }
    }
}
