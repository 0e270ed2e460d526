package dev.magvit4j.tokenizer;

import dev.magvit4j.nn.Activation;
import dev.magvit4j.nn.BatchNorm2d;
import dev.magvit4j.nn.Conv2d;
import dev.magvit4j.nn.Init;
import dev.magvit4j.nn.Layer;
import dev.magvit4j.nn.Module;
import dev.magvit4j.nn.Sequential;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;

/**
 * The PatchGAN discriminator of the tokenizer's GAN loss (SPEC.md section 1), one flat
 * {@code main} Sequential as in the reference: 4x4 stride-2 conv (with bias) → LeakyReLU(0.2);
 * n_layers - 1 times 4x4 stride-2 conv → BatchNorm → LeakyReLU; one 4x4 stride-1 conv → BatchNorm →
 * LeakyReLU; a final 4x4 stride-1 conv to one logit per patch. Widths ndf·min(2^n, 8).
 */
public final class Discriminator extends Module implements Layer {

    public final Sequential main;

    public Discriminator(int inChannels, int ndf, int nLayers) {
        this(inChannels, ndf, nLayers, Generator.global());
    }

    public Discriminator(int inChannels, int ndf, int nLayers, Generator gen) {
        main = child("main", new Sequential());
        main.add(conv(inChannels, ndf, 2, true, gen)).add(Activation.leakyRelu(0.2f));
        int width = ndf;
        for (int n = 1; n <= nLayers; n++) {
            int next = ndf * Math.min(1 << n, 8);
            main.add(conv(width, next, n < nLayers ? 2 : 1, false, gen)).add(batchNorm(next, gen)).add(Activation.leakyRelu(0.2f));
            width = next;
        }
        main.add(conv(width, 1, 1, true, gen));
    }

    /** Released setting: ndf 64, 3 layers, RGB. */
    public static Discriminator released() {
        return new Discriminator(3, 64, 3);
    }

    /** Conv weights N(0, 0.02), biases 0, as the reference's weights_init. */
    private static Conv2d conv(int in, int out, int stride, boolean bias, Generator gen) {
        Conv2d c = new Conv2d(in, out, 4, stride, 1, bias, gen);
        Init.normal(c.weight, 0, 0.02, gen);
        if (bias) Init.constant(c.bias, 0);
        return c;
    }

    /** BatchNorm weight N(1, 0.02), bias 0. */
    private static BatchNorm2d batchNorm(int channels, Generator gen) {
        BatchNorm2d bn = new BatchNorm2d(channels);
        Init.normal(bn.weight, 1, 0.02, gen);
        return bn;
    }

    /** Logits per patch, [B, 1, h, w]. */
    @Override
    public Tensor forward(Tensor images) {
        return main.forward(images);
    }

    /** 0.5·(mean relu(1 - real) + mean relu(1 + fake)). */
    public static Tensor hingeLoss(Tensor logitsReal, Tensor logitsFake) {
        return logitsReal.neg().add(1f).relu().mean().add(logitsFake.add(1f).relu().mean()).mul(0.5f);
    }

    /**
     * The LeCAM regulariser (SPEC.md section 1): exponential moving averages of the batch-mean
     * logits (decay 0.999), updated just before the term is computed, anchor the logits:
     * mean(relu(real - ema_fake)²) + mean(relu(ema_real - fake)²).
     */
    public static final class LeCam {
        private final float decay;
        private float emaReal, emaFake;

        public LeCam(float decay, float emaReal, float emaFake) {
            this.decay = decay;
            this.emaReal = emaReal;
            this.emaFake = emaFake;
        }

        public LeCam() {
            this(0.999f, 0f, 0f);
        }

        public float emaReal() {
            return emaReal;
        }

        public float emaFake() {
            return emaFake;
        }

        /** Sets the averages (a resumed run, or undoing a skipped step's update). */
        public void set(float emaReal, float emaFake) {
            this.emaReal = emaReal;
            this.emaFake = emaFake;
        }

        /** Moves the averages toward this batch's mean logits. */
        public void update(Tensor logitsReal, Tensor logitsFake) {
            emaReal = emaReal * decay + logitsReal.detach().mean().item() * (1 - decay);
            emaFake = emaFake * decay + logitsFake.detach().mean().item() * (1 - decay);
        }

        /** The regulariser with the current averages. */
        public Tensor term(Tensor logitsReal, Tensor logitsFake) {
            return logitsReal.sub(emaFake).relu().square().mean().add(logitsFake.neg().add(emaReal).relu().square().mean());
        }

        /** A training step's regulariser: update the averages with this batch, then the term. */
        public Tensor loss(Tensor logitsReal, Tensor logitsFake) {
            update(logitsReal, logitsFake);
            return term(logitsReal, logitsFake);
        }
    }
}
