package dev.magvit4j.tokenizer;

import dev.magvit4j.io.SafeTensors;
import dev.magvit4j.nn.Conv2d;
import dev.magvit4j.nn.Module;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.testing.GradCheck;
import dev.magvit4j.testing.Ref;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LpipsTest {

    @TempDir
    Path dir;

    @Test
    void namesFollowTheReference() {
        Lpips l = new Lpips();
        Map<String, Tensor> state = l.stateDict();
        for (String k : List.of("scaling_layer.shift", "net.slice1.0.weight", "net.slice1.2.bias", "net.slice2.5.weight", "net.slice3.14.weight",
                "net.slice4.21.bias", "net.slice5.28.weight", "lin0.model.1.weight", "lin4.model.1.weight")) {
            assertTrue(state.containsKey(k), k);
        }
        assertEquals(13 * 2 + 5, l.namedParameters().size());
        l.namedParameters().values().forEach(p -> assertFalse(p.requiresGrad()));
    }

    /** VGG16 conv layers of slice k as (weight, bias, in, out), in order, and whether a max pool starts the slice. */
    private static double[] vggReference(Lpips l, double[] x, int b, int h, int w, List<double[]> taps, List<int[]> shapes) {
        double[] shift = {-.030, -.088, -.188}, scale = {.458, .448, .450};
        double[] cur = new double[x.length];
        for (int i = 0; i < x.length; i++) cur[i] = (x[i] - shift[(i / (h * w)) % 3]) / scale[(i / (h * w)) % 3];
        int c = 3;
        for (int k = 0; k < 5; k++) {
            for (Module m : l.net.slices.get(k).children().values()) {
                if (m instanceof Conv2d conv) {
                    int o = conv.weight.size(0);
                    cur = Ref.conv2d(cur, new int[] {b, c, h, w}, GradCheck.toDouble(conv.weight), conv.weight.shape(), GradCheck.toDouble(conv.bias), 1, 1, 1, 1);
                    for (int i = 0; i < cur.length; i++) cur[i] = Math.max(cur[i], 0);
                    c = o;
                } else if (m instanceof dev.magvit4j.nn.MaxPool2d) {
                    double[] next = new double[b * c * (h / 2) * (w / 2)];
                    for (int p = 0; p < b * c; p++)
                        for (int i = 0; i < h / 2; i++)
                            for (int j = 0; j < w / 2; j++) {
                                double mx = Double.NEGATIVE_INFINITY;
                                for (int u = 0; u < 2; u++) for (int v = 0; v < 2; v++) mx = Math.max(mx, cur[(p * h + 2 * i + u) * w + 2 * j + v]);
                                next[(p * (h / 2) + i) * (w / 2) + j] = mx;
                            }
                    cur = next;
                    h /= 2;
                    w /= 2;
                }
            }
            taps.add(cur.clone());
            shapes.add(new int[] {b, c, h, w});
        }
        return cur;
    }

    /** LPIPS in double (eval mode: no dropout), per image. */
    private static double[] lpipsReference(Lpips l, double[] a, double[] bb, int n, int h, int w) {
        List<double[]> ta = new ArrayList<>(), tb = new ArrayList<>();
        List<int[]> shapes = new ArrayList<>();
        vggReference(l, a, n, h, w, ta, shapes);
        vggReference(l, bb, n, h, w, tb, new ArrayList<>());
        double[] out = new double[n];
        for (int k = 0; k < 5; k++) {
            int[] s = shapes.get(k);
            int c = s[1], hw = s[2] * s[3];
            double[] lin = GradCheck.toDouble(l.lins.get(k).model.children().get("1") instanceof Conv2d conv ? conv.weight : null);
            for (int img = 0; img < n; img++) {
                double total = 0;
                for (int p = 0; p < hw; p++) {
                    double na = 0, nb = 0;
                    for (int ch = 0; ch < c; ch++) {
                        na += Math.pow(ta.get(k)[(img * c + ch) * hw + p], 2);
                        nb += Math.pow(tb.get(k)[(img * c + ch) * hw + p], 2);
                    }
                    na = Math.sqrt(na) + 1e-10;
                    nb = Math.sqrt(nb) + 1e-10;
                    double v = 0;
                    for (int ch = 0; ch < c; ch++) {
                        double d = ta.get(k)[(img * c + ch) * hw + p] / na - tb.get(k)[(img * c + ch) * hw + p] / nb;
                        v += lin[ch] * d * d;
                    }
                    total += v;
                }
                out[img] += total / hw;
            }
        }
        return out;
    }

    @Test
    void forwardAndGradientMatchADoubleReference() {
        Generator gen = new Generator(7);
        Generator.global().manualSeed(7); // the layers' default initialisation draws from it
        Lpips l = new Lpips();
        l.eval();
        // Keep every ReLU input far from 0 (biases 3, weights x 0.3: pre-activations about 3 ± 0.7).
        // With random weights some would sit within float rounding of 0, where the float engine and
        // the double reference take different sides of the kink and no derivative check can agree.
        for (Module slice : l.net.children().values()) {
            for (Module m : slice.children().values()) {
                if (m instanceof Conv2d conv) {
                    conv.weight.backend().axpby(0f, conv.weight, 0.3f, conv.weight);
                    conv.bias.backend().fill(conv.bias, 3f);
                }
            }
        }
        Tensor a = Tensor.uniform(gen, -1, 1, 2, 3, 16, 16), b = Tensor.uniform(gen, -1, 1, 2, 3, 16, 16).requiresGrad(true);
        Tensor d = l.forward(a, b);
        assertEquals(List.of(2, 1, 1, 1), java.util.Arrays.stream(d.shape()).boxed().toList());
        double[] ad = GradCheck.toDouble(a), bd = GradCheck.toDouble(b);
        GradCheck.assertClose("lpips", lpipsReference(l, ad, bd, 2, 16, 16), GradCheck.toDouble(d), 1e-4);

        // Backward: the directional derivative along a random v, against central differences of the double reference.
        d.sum().backward();
        double[] v = GradCheck.toDouble(Tensor.randn(gen, 2, 3, 16, 16)), g = GradCheck.toDouble(b.grad());
        double analytic = 0, eps = 1e-6;
        for (int i = 0; i < v.length; i++) analytic += g[i] * v[i];
        double[] plus = bd.clone(), minus = bd.clone();
        for (int i = 0; i < v.length; i++) {
            plus[i] += eps * v[i];
            minus[i] -= eps * v[i];
        }
        double[] lp = lpipsReference(l, ad, plus, 2, 16, 16), lm = lpipsReference(l, ad, minus, 2, 16, 16);
        double numeric = (lp[0] + lp[1] - lm[0] - lm[1]) / (2 * eps);
        GradCheck.assertClose("lpips directional derivative", new double[] {numeric}, new double[] {analytic}, 1e-3);
    }

    @Test
    void loadsTorchvisionVggAndLpipsLinearWeights() throws Exception {
        Lpips source = new Lpips();
        Map<String, Tensor> vgg = new LinkedHashMap<>(), lin = new LinkedHashMap<>();
        source.stateDict().forEach((k, t) -> {
            if (k.startsWith("net.slice")) vgg.put("features." + k.substring(k.indexOf('.', 4) + 1), t);
            else if (k.startsWith("lin")) lin.put(k, t);
        });
        vgg.put("classifier.0.weight", Tensor.zeros(4, 4)); // a real torchvision file also has the classifier
        Path vggFile = dir.resolve("vgg16.safetensors"), linFile = dir.resolve("lpips_vgg.safetensors");
        SafeTensors.write(vggFile, vgg);
        SafeTensors.write(linFile, lin);
        Lpips loaded = Lpips.load(vggFile, linFile);
        source.stateDict().forEach((k, t) -> GradCheck.assertClose(k, t, loaded.stateDict().get(k), 0));
    }
}
