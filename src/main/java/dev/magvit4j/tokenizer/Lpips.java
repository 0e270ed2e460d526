package dev.magvit4j.tokenizer;

import dev.magvit4j.io.StateDictFile;
import dev.magvit4j.nn.Activation;
import dev.magvit4j.nn.Conv2d;
import dev.magvit4j.nn.Dropout;
import dev.magvit4j.nn.MaxPool2d;
import dev.magvit4j.nn.Module;
import dev.magvit4j.nn.Sequential;
import dev.magvit4j.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * LPIPS (Zhang et al. 2018) with VGG16 features, the tokenizer's perceptual loss (SPEC.md
 * section 1), with the reference's module names: {@code scaling_layer} (ImageNet shift and
 * scale), {@code net.slice1..5} holding torchvision's VGG16 feature layers under their original
 * indices (so slice2 holds 4 .. 8), and {@code lin0..4} = Dropout → 1x1 conv without bias.
 *
 * <p>distance(a, b) = Σ over the five layers relu1_2 .. relu5_3 of the spatial mean of
 * lin(‖f(a)‖ - ‖f(b)‖)², ‖·‖ normalising each feature vector to unit length (eps 1e-10).
 * The dropout in the lin layers is active in training mode: the reference builds LPIPS in eval
 * mode, but Lightning's model.train() switches it back with the rest of the model, so training
 * runs with it (a faithful port keeps that; call eval() on this module to turn it off).
 * All parameters are frozen.
 */
public final class Lpips extends Module {

    /** VGG16 channels at the five tapped layers. */
    static final int[] CHANNELS = {64, 128, 256, 512, 512};
    /** torchvision vgg16.features: for each slice, its first index and its layers (conv widths, 0 = max pool). */
    private static final int[][] SLICES = {{0, 64, 64}, {4, 0, 128, 128}, {9, 0, 256, 256, 256}, {16, 0, 512, 512, 512}, {23, 0, 512, 512, 512}};

    /** (x - shift) / scale with ImageNet statistics mapped to [-1, 1] images. */
    public static final class ScalingLayer extends Module {
        final Tensor shift = buffer("shift", Tensor.of(new float[] {-.030f, -.088f, -.188f}, 1, 3, 1, 1));
        final Tensor scale = buffer("scale", Tensor.of(new float[] {.458f, .448f, .450f}, 1, 3, 1, 1));

        Tensor forward(Tensor x) {
            return x.sub(shift).div(scale);
        }
    }

    /** Dropout then a 1x1 convolution to one channel, as {@code model.0} and {@code model.1}. */
    public static final class NetLinLayer extends Module {
        public final Sequential model = child("model", new Sequential());

        NetLinLayer(int channels) {
            model.add(new Dropout(0.5f)).add(new Conv2d(channels, 1, 1, 1, 0, false));
        }
    }

    /** The five VGG16 slices. */
    public static final class Vgg16 extends Module {
        public final List<Sequential> slices;

        Vgg16() {
            Sequential[] s = new Sequential[SLICES.length];
            int width = 3;
            for (int k = 0; k < SLICES.length; k++) {
                s[k] = child("slice" + (k + 1), new Sequential());
                int index = SLICES[k][0];
                for (int j = 1; j < SLICES[k].length; j++) {
                    int out = SLICES[k][j];
                    if (out == 0) {
                        s[k].addAt(index++, new MaxPool2d(2, 2));
                    } else {
                        s[k].addAt(index++, new Conv2d(width, out, 3, 1, 1, true));
                        s[k].addAt(index++, Activation.relu());
                        width = out;
                    }
                }
            }
            slices = List.of(s);
        }
    }

    public final ScalingLayer scalingLayer = child("scaling_layer", new ScalingLayer());
    public final Vgg16 net = child("net", new Vgg16());
    public final List<NetLinLayer> lins;

    public Lpips() {
        NetLinLayer[] l = new NetLinLayer[CHANNELS.length];
        for (int k = 0; k < l.length; k++) l[k] = child("lin" + k, new NetLinLayer(CHANNELS[k]));
        lins = List.of(l);
        requiresGrad(false);
    }

    /** Distances [B, 1, 1, 1] between images a and b [B, 3, H, W] in [-1, 1]. */
    public Tensor forward(Tensor a, Tensor b) {
        Tensor ha = scalingLayer.forward(a), hb = scalingLayer.forward(b), total = null;
        for (int k = 0; k < CHANNELS.length; k++) {
            ha = net.slices.get(k).forward(ha);
            hb = net.slices.get(k).forward(hb);
            Tensor diff = unitNormalise(ha).sub(unitNormalise(hb)).square();
            Tensor d = lins.get(k).model.forward(diff).meanKeepDim(2, 3);
            total = total == null ? d : total.add(d);
        }
        return total;
    }

    private static Tensor unitNormalise(Tensor x) {
        return x.div(x.square().sumKeepDim(1).sqrt().add(1e-10f));
    }

    /**
     * From a torchvision VGG16 state dict ({@code features.N.weight / bias}, as in
     * vgg16-397923af.pth) and the LPIPS linear weights ({@code linK.model.1.weight}, as in the
     * LPIPS project's vgg.pth), both .pth/.ckpt or .safetensors.
     */
    public static Lpips load(Path vgg, Path linear) throws IOException {
        Lpips l = new Lpips();
        Map<String, Tensor> state = new LinkedHashMap<>();
        try (StateDictFile f = StateDictFile.open(vgg)) {
            for (int k = 0; k < SLICES.length; k++) {
                for (Map.Entry<String, Module> e : l.net.slices.get(k).children().entrySet()) {
                    if (!(e.getValue() instanceof Conv2d)) continue;
                    String n = e.getKey();
                    state.put("net.slice" + (k + 1) + "." + n + ".weight", f.load("features." + n + ".weight"));
                    state.put("net.slice" + (k + 1) + "." + n + ".bias", f.load("features." + n + ".bias"));
                }
            }
        }
        try (StateDictFile f = StateDictFile.open(linear)) {
            for (int k = 0; k < CHANNELS.length; k++) state.put("lin" + k + ".model.1.weight", f.load("lin" + k + ".model.1.weight"));
        }
        state.putAll(Map.of("scaling_layer.shift", l.scalingLayer.shift, "scaling_layer.scale", l.scalingLayer.scale));
        l.loadStateDict(state, true);
        return l;
    }

    /** From the entries of a tokenizer checkpoint under a prefix (the reference's {@code loss.perceptual_loss.}). */
    public static Lpips load(StateDictFile f, String prefix) throws IOException {
        Lpips l = new Lpips();
        Map<String, Tensor> state = new LinkedHashMap<>();
        for (String name : l.stateDict().keySet()) state.put(name, f.load(prefix + name));
        l.loadStateDict(state, true);
        return l;
    }
}
