package dev.magvit4j.golden;

import dev.magvit4j.ar.ArConfig;
import dev.magvit4j.ar.Transformer;
import dev.magvit4j.io.Json;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.tokenizer.Tokenizer;
import dev.magvit4j.tokenizer.TokenizerConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The presets of the released models against shared/manifests: a model built from the preset
 * must have exactly the released checkpoint's parameter names and shapes (and so its parameter
 * count), and the config read off those names and shapes must be the preset.
 */
class ManifestTest {

    static Map<String, Object> manifest(String file) throws Exception {
        Path p = Goldens.root().resolveSibling("manifests").resolve(file);
        if (!Files.isRegularFile(p)) fail("manifest " + p.toAbsolutePath().normalize() + " not found (next to goldens.dir)");
        return Json.object(Json.read(p), file);
    }

    /** name -> shape, from the manifest's "parameters" object. */
    static Map<String, List<Integer>> shapes(Map<String, Object> manifest) {
        Map<String, List<Integer>> out = new LinkedHashMap<>();
        Json.object(manifest.get("parameters"), "parameters").forEach((k, v) -> {
            List<Integer> s = new ArrayList<>();
            for (Object d : (List<?>) v) s.add(((Number) d).intValue());
            out.put(k, s);
        });
        return out;
    }

    static List<Integer> shape(Tensor t) {
        List<Integer> s = new ArrayList<>();
        for (int d : t.shapeRef()) s.add(d);
        return s;
    }

    @ParameterizedTest
    @CsvSource({"128, tokenizer_128_L.json", "256, tokenizer_256_L.json"})
    void tokenizerPresetsMatchTheReleasedModels(String preset, String file) throws Exception {
        Map<String, Object> m = manifest(file);
        Map<String, List<Integer>> expected = shapes(m);
        TokenizerConfig config = TokenizerConfig.preset(preset);
        assertEquals(TokenizerConfig.fromJson(Json.object(m.get("config"), "config")), config, "preset vs the manifest's config");

        Map<String, Tensor> params = new Tokenizer(config).namedParameters();
        assertEquals(List.copyOf(expected.keySet()), List.copyOf(params.keySet()), "parameter names, in checkpoint order");
        for (Map.Entry<String, List<Integer>> e : expected.entrySet()) {
            assertEquals(e.getValue(), shape(params.get(e.getKey())), "shape of " + e.getKey());
        }
        Map<String, Object> counts = Json.object(m.get("counts"), "counts");
        long encoder = 0, decoder = 0;
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
            if (e.getKey().startsWith("encoder.")) encoder += e.getValue().numel();
            else decoder += e.getValue().numel();
        }
        assertEquals(((Number) counts.get("encoder")).longValue(), encoder, "encoder parameters");
        assertEquals(((Number) counts.get("decoder")).longValue(), decoder, "decoder parameters");

        // The config read back off names and shapes alone is the preset.
        Map<String, Tensor> byShape = new LinkedHashMap<>();
        expected.forEach((k, s) -> byShape.put(k, params.get(k)));
        assertEquals(config, TokenizerConfig.infer(byShape));
        assertTrue(config.downsampling() == (preset.equals("128") ? 8 : 16));
    }

    @ParameterizedTest
    @CsvSource({"B, ar_B.json", "L, ar_L.json", "XL, ar_XL.json"})
    void arPresetsMatchTheReleasedModels(String preset, String file) throws Exception {
        Map<String, Object> m = manifest(file);
        Map<String, List<Integer>> expected = shapes(m);
        ArConfig config = ArConfig.preset(preset);
        ArConfig fromManifest = ArConfig.fromJson(Json.object(m.get("config"), "config"));
        assertEquals(fromManifest.withDropout(0, 0, 0, 0), config.withDropout(0, 0, 0, 0), "preset architecture vs the manifest's config");
        assertEquals(fromManifest.tokenDrop(), config.tokenDrop(), "token dropout");
        assertEquals(fromManifest.residDrop(), config.residDrop(), "residual dropout");

        // Shapes only: building the XL model's 1.5 G parameters just to read their names is not needed.
        Map<String, int[]> built = Transformer.parameterShapes(config);
        List<String> names = new ArrayList<>();
        for (String k : built.keySet()) names.add("transformer." + k);
        assertEquals(List.copyOf(expected.keySet()), names, "parameter names, in checkpoint order");
        long count = 0;
        for (Map.Entry<String, List<Integer>> e : expected.entrySet()) {
            int[] s = built.get(e.getKey().substring("transformer.".length()));
            List<Integer> mine = new ArrayList<>();
            long n = 1;
            for (int d : s) {
                mine.add(d);
                n *= d;
            }
            count += n;
            assertEquals(e.getValue(), mine, "shape of " + e.getKey());
        }
        assertEquals(((Number) Json.object(m.get("counts"), "counts").get("transformer")).longValue(), count, "transformer parameters");

        // The architecture read back off names and shapes (with the head count of dim/64) is the preset's.
        Map<String, int[]> byName = new LinkedHashMap<>(built);
        assertEquals(config, ArConfig.inferFromShapes(byName, config.dim() / 64, 256));
    }

    @org.junit.jupiter.api.Test
    void parameterShapesAreThoseOfABuiltModel() {
        ArConfig tiny = new ArConfig(64, 4, 2, 1, 16, 10, 6, 12, 1e-5f, 10000f, 256, 0f, 0f, 0f, 0f);
        Map<String, int[]> shapes = Transformer.parameterShapes(tiny);
        Map<String, Tensor> params = new Transformer(tiny, new Generator(1)).namedParameters();
        assertEquals(List.copyOf(params.keySet()), List.copyOf(shapes.keySet()));
        params.forEach((k, v) -> assertEquals(shape(v), java.util.Arrays.stream(shapes.get(k)).boxed().toList(), k));
    }
}
