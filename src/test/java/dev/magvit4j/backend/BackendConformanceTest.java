package dev.magvit4j.backend;

import dev.magvit4j.backend.Backend.BinaryOp;
import dev.magvit4j.backend.Backend.ReduceOp;
import dev.magvit4j.backend.Backend.UnaryOp;
import dev.magvit4j.backend.cuda.CudaDevice;
import dev.magvit4j.backend.cuda.CudaMatmul;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Device;
import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.testing.Devices;
import dev.magvit4j.testing.GradCheck;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Every Backend method on each GPU against the CPU backend, on fresh random inputs: forward and
 * backward kernels, contiguous and strided inputs, the shapes of the models and awkward ones
 * (sizes that are not multiples of any tile). Float outputs agree to 1e-4 of their scale,
 * integer outputs exactly. The build poisons every fresh device allocation with NaN
 * (magvit4j.cuda.poison, set in pom.xml), so an output element a kernel forgets shows up.
 *
 * <p>Without a usable GPU every test here is skipped, and the report says why.
 */
class BackendConformanceTest {

    private static final double TOL = 1e-4;

    private final Backend cpu = Backends.cpu();
    private Backend gpu;
    private final Generator gen = new Generator(1234);

    private void use(Device device) {
        Devices.use(device);
        gpu = Backends.of(device);
    }

    // ------------------------------------------------------------------ harness

    /** Runs op on the CPU and on the GPU (inputs moved there by {@link #on}) and compares every output. */
    private void same(String what, Function<Backend, Tensor[]> op) {
        same(what, TOL, op);
    }

    private void same(String what, double tol, Function<Backend, Tensor[]> op) {
        compare(what, tol, op.apply(cpu), op.apply(gpu));
    }

    /** The GPU's outputs got against the CPU's want. */
    private void compare(String what, double tol, Tensor[] want, Tensor[] got) {
        assertEquals(want.length, got.length, what + ": number of outputs");
        for (int i = 0; i < want.length; i++) {
            String name = what + " output " + i;
            if (want[i] == null) {
                assertNull(got[i], name);
                continue;
            }
            assertEquals(gpu.device(), got[i].device(), name + ": device");
            assertEquals(want[i].dtype(), got[i].dtype(), name + ": dtype");
            assertArrayEquals(want[i].shapeRef(), got[i].shapeRef(), name + ": shape");
            if (want[i].dtype() == DType.FLOAT32) {
                GradCheck.assertClose(name, want[i], got[i], tol);
            } else {
                assertArrayEquals(want[i].toLongArray(), got[i].toLongArray(), name);
            }
        }
    }

    private static Tensor[] out(Tensor... t) {
        return t;
    }

    /** t on be's device (a contiguous copy). */
    private static Tensor on(Backend be, Tensor t) {
        return t == null ? null : be.transfer(t);
    }

    /** t on be's device as a non-contiguous view (the transpose of a transposed copy). */
    private static Tensor strided(Backend be, Tensor t) {
        int r = t.dim();
        return be.transfer(t.transpose(r - 2, r - 1).contiguous()).transpose(r - 2, r - 1);
    }

    private Tensor randn(int... shape) {
        return Tensor.randn(gen, shape);
    }

    private Tensor uniform(double lo, double hi, int... shape) {
        return Tensor.uniform(gen, lo, hi, shape);
    }

    /** Small integers as floats: ties for max, argmax and pooling. */
    private Tensor ties(int... shape) {
        float[] v = Tensor.uniform(gen, 0, 4, shape).toFloatArray();
        for (int i = 0; i < v.length; i++) v[i] = (float) Math.floor(v[i]);
        return Tensor.of(v, shape);
    }

    private Tensor indices(int bound, int... shape) {
        int n = 1;
        for (int s : shape) n *= s;
        long[] l = new long[n];
        for (int i = 0; i < n; i++) l[i] = gen.nextInt(bound);
        return Tensor.ofLongs(l, shape);
    }

    // ------------------------------------------------------------------ memory

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void copiesFillsAndTransfers(Device device) {
        use(device);
        Tensor x = randn(3, 4, 5).mul(10f);
        assertArrayEquals(x.toFloatArray(), x.to(device).toFloatArray(), "round trip");
        Tensor big = randn(1 << 20).add(0.5f);  // over the pinned-staging threshold
        assertArrayEquals(big.toFloatArray(), big.to(device).toCpu().toFloatArray(), "round trip through pinned memory");
        for (DType to : DType.values()) {
            same("copy float32 -> " + to, be -> {
                Tensor dst = be.empty(to, 3, 4, 5);
                be.copy(strided(be, x.permute(0, 2, 1).contiguous()).permute(0, 2, 1), dst);
                return out(dst);
            });
        }
        // Special values convert as Java's casts do: NaN to 0, out-of-range values saturated, bool = v != 0.
        Tensor special = Tensor.of(new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 3e9f, -3e9f, 1e19f, -1e19f, -0.7f, 0.3f, 0f}, 10);
        for (DType to : new DType[] {DType.INT64, DType.INT32, DType.BOOL}) {
            same("copy of NaN, infinities and out-of-range floats -> " + to, be -> {
                Tensor dst = be.empty(to, 10);
                be.copy(on(be, special), dst);
                return out(dst);
            });
        }
        Tensor longs = indices(1000, 6, 7);
        same("copy int64 -> float32, strided", be -> {
            Tensor dst = be.empty(DType.FLOAT32, 7, 6);
            be.copy(on(be, longs).transpose(0, 1), dst);
            return out(dst);
        });
        same("fill a strided view", be -> {
            Tensor t = on(be, x);
            be.fill(t.slice(1, 1, 3), 2.5);
            return out(t);
        });
        same("copy into a broadcast source", be -> {
            Tensor dst = be.empty(DType.FLOAT32, 4, 3, 5);
            be.copy(on(be, randnFixed(1, 3, 1)).expand(4, 3, 5), dst);
            return out(dst);
        });
    }

    private Tensor randnFixed(int... shape) {
        return Tensor.randn(new Generator(99), shape);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void randomNumbersAndDropoutMatchTheCpuStream(Device device) {
        use(device);
        same("fillRandom normal", be -> {
            Tensor t = be.empty(DType.FLOAT32, 1000);
            be.fillRandom(t, Backend.Distribution.NORMAL, 1, 2, new Generator(7));
            return out(t);
        });
        same("dropout mask", be -> out(be.dropoutMask(new int[] {4, 33}, 0.3f, new Generator(8))));
    }

    // ------------------------------------------------------------------ elementwise

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void unaryOpsAndTheirGradients(Device device) {
        use(device);
        for (UnaryOp op : UnaryOp.values()) {
            boolean positive = op == UnaryOp.LOG || op == UnaryOp.SQRT || op == UnaryOp.RSQRT || op == UnaryOp.POW;
            Tensor x = positive ? uniform(0.1, 3, 5, 7, 9) : randn(5, 7, 9).mul(3f);
            Tensor dy = randn(5, 7, 9);
            float alpha = op == UnaryOp.POW ? 2.5f : 0.2f;
            same(op + " contiguous", be -> out(be.unary(op, alpha, on(be, x))));
            same(op + " strided", be -> out(be.unary(op, alpha, strided(be, x))));
            same(op + " backward", be -> {
                Tensor xb = on(be, x);
                return out(be.unaryBackward(op, alpha, xb, be.unary(op, alpha, xb), on(be, dy)));
            });
        }
        Tensor odd = randn(1000003);  // not a multiple of any vector width
        same("exp of an odd length", be -> out(be.unary(UnaryOp.EXP, 0, on(be, odd))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void binaryOpsBroadcastAndCompare(Device device) {
        use(device);
        int[][][] shapes = {
                {{3, 5, 7}, {3, 5, 7}}, {{3, 1, 7}, {5, 1}}, {{}, {4, 4}}, {{2, 3, 4, 5}, {5}}, {{1 << 16}, {1 << 16}}};
        for (BinaryOp op : BinaryOp.values()) {
            for (int[][] s : shapes) {
                Tensor a = ties(s[0]), b = ties(s[1]).add(op == BinaryOp.DIV ? 1f : 0f);
                same(op + " " + java.util.Arrays.deepToString(s), be -> out(be.binary(op, on(be, a), on(be, b))));
            }
            Tensor a = randn(6, 8), b = randn(8, 6);
            same(op + " strided", be -> out(be.binary(op, on(be, a), strided(be, b.transpose(0, 1).contiguous()))));
        }
        Tensor x = randn(4, 9), y = randn(4, 9);
        same("affine", be -> out(be.affine(strided(be, x), 1.5f, -0.25f)));
        same("axpby", be -> {
            Tensor yb = on(be, y);
            be.axpby(0.5f, on(be, x), -2f, yb);
            return out(yb);
        });
    }

    // ------------------------------------------------------------------ reductions

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void reductionsVarianceAndArgmax(Device device) {
        use(device);
        Tensor x = randn(4, 6, 5);
        int[][] dimSets = {{}, {0}, {1}, {2}, {0, 2}, {1, 2}, {0, 1, 2}};
        for (ReduceOp op : ReduceOp.values()) {
            for (int[] dims : dimSets) {
                for (boolean keep : new boolean[] {false, true}) {
                    String what = op + " over " + java.util.Arrays.toString(dims) + (keep ? " keepDim" : "");
                    same(what, be -> out(be.reduce(op, on(be, x), dims, keep)));
                    same(what + " strided", be -> out(be.reduce(op, strided(be, x), dims, keep)));
                }
            }
        }
        Tensor big = randn(1 << 22).add(1f);
        same("sum of 4M elements", be -> out(be.reduce(ReduceOp.SUM, on(be, big), new int[] {0}, false)));
        same("mean of rows", be -> out(be.reduce(ReduceOp.MEAN, on(be, big.reshape(1024, 4096)), new int[] {1}, true)));
        for (int correction : new int[] {0, 1}) {
            same("variance correction " + correction, be -> out(be.variance(on(be, x), new int[] {1, 2}, correction, false)));
        }
        Tensor t = ties(5, 7, 3);
        for (int dim = 0; dim < 3; dim++) {
            int d = dim;
            same("argmax dim " + d + " with ties", be -> out(be.argmax(on(be, t), d, false), be.argmax(strided(be, t), d, true)));
        }
    }

    // ------------------------------------------------------------------ linear algebra

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void matmulShapesViewsAndBias(Device device) {
        use(device);
        int[][] mkn = {{1, 1, 1}, {17, 33, 9}, {128, 64, 256}, {1, 1024, 4096}, {200, 129, 67}};
        for (int[] s : mkn) {
            Tensor a = randn(s[0], s[1]), b = randn(s[1], s[2]), bias = randn(s[2]);
            String what = "matmul " + java.util.Arrays.toString(s);
            same(what, be -> out(be.matmul(on(be, a), on(be, b), null)));
            same(what + " + bias", be -> out(be.matmul(on(be, a), on(be, b), on(be, bias))));
            same(what + " transposed views", be -> out(be.matmul(strided(be, a), strided(be, b), null)));
        }
        // A few rows times a Linear's weight (the skinny kernel): k a multiple of 4 or not, rows
        // that are not 16-byte aligned, columns not a multiple of 4.
        for (int[] s : new int[][] {{2, 256, 130}, {16, 33, 5}, {1, 260, 1}, {7, 1024, 64}}) {
            Tensor x = randn(s[0], s[1]), wide = randn(s[0], s[1] + 1), w = randn(s[2], s[1]), bias = randn(s[2]);
            String what = "skinny " + java.util.Arrays.toString(s);
            same(what, be -> out(be.matmul(on(be, x), on(be, w).mT(), on(be, bias))));
            same(what + ", rows k + 1 apart", be -> out(be.matmul(on(be, wide).slice(1, 1, 1 + s[1]), on(be, w).mT(), null)));
        }
        Tensor a = randn(2, 3, 20, 12), b = randn(12, 7), c = randn(2, 1, 20, 12), d = randn(3, 12, 7);
        same("batched, b broadcast", be -> out(be.matmul(on(be, a), on(be, b), null)));
        same("batched, both broadcast", be -> out(be.matmul(on(be, c), on(be, d), null)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void convolutionsAndTheirGradients(Device device) {
        use(device);
        // {B, C, H, W, O, kernel, stride, pad}
        // The last two have few output tiles over a long k: forward and input gradient split k.
        int[][] configs = {{2, 3, 9, 7, 5, 3, 1, 1}, {1, 8, 16, 16, 16, 3, 2, 1}, {2, 4, 8, 8, 6, 1, 1, 0},
                {1, 3, 5, 6, 4, 4, 2, 1}, {1, 64, 32, 32, 64, 3, 1, 1}, {3, 5, 11, 13, 7, 3, 1, 0},
                {1, 64, 4, 4, 64, 3, 1, 1}, {1, 256, 8, 8, 256, 3, 1, 1}};
        for (int[] c : configs) {
            Tensor x = randn(c[0], c[1], c[2], c[3]), w = randn(c[4], c[1], c[5], c[5]).mul(0.2f), bias = randn(c[4]);
            int s = c[6], p = c[7];
            int oh = (c[2] + 2 * p - c[5]) / s + 1, ow = (c[3] + 2 * p - c[5]) / s + 1;
            Tensor dy = randn(c[0], c[4], oh, ow);
            String what = "conv " + java.util.Arrays.toString(c);
            same(what, be -> out(be.conv2d(on(be, x), on(be, w), on(be, bias), s, s, p, p)));
            same(what + " no bias", be -> out(be.conv2d(on(be, x), on(be, w), null, s, s, p, p)));
            same(what + " backward input", be -> out(be.conv2dBackwardInput(on(be, dy), on(be, w), x.shape(), s, s, p, p)));
            same(what + " backward weight", be -> out(be.conv2dBackwardWeight(on(be, dy), on(be, x), w.shape(), s, s, p, p)));
        }
    }

    /**
     * The tensor-core paths: with TF32 or BF16 inputs the GPU must give the float32 product of
     * the inputs rounded as the hardware rounds them (cvt.rna.tf32: ties away from zero; bf16:
     * to nearest even), up to the order of the float32 sums. So the CPU runs on rounded inputs
     * and the comparison is as tight as for FLOAT32: a wrong fragment layout or conversion shows
     * as a large error, not as "bf16 noise". Both builds of the GEMM tiles run: on Hopper (and
     * the emulator, an sm_90) the wgmma one, then the mma.sync one every GPU can run.
     */
    @ParameterizedTest(name = "{0}, Hopper kernels {1}")
    @MethodSource("gpusWithAndWithoutHopperKernels")
    void tensorCoreMatmulsAndConvolutions(Device device, boolean hopperKernels) {
        use(device);
        for (CudaMatmul.Precision precision : new CudaMatmul.Precision[] {CudaMatmul.Precision.TF32, CudaMatmul.Precision.BF16}) {
            Function<Tensor, Tensor> round = t -> roundedAsTensorCores(t, precision);
            CudaMatmul.setPrecision(precision);
            CudaDevice.useHopperKernels(hopperKernels);
            try {
                for (int[] s : new int[][] {{17, 33, 9}, {128, 64, 256}, {1, 1024, 512}, {9, 40, 24}, {200, 129, 67}}) {
                    Tensor a = randn(s[0], s[1]), b = randn(s[1], s[2]), bias = randn(s[2]);
                    String what = precision + " matmul " + java.util.Arrays.toString(s);
                    compare(what, TOL, out(cpu.matmul(round.apply(a), round.apply(b), bias)), out(gpu.matmul(on(gpu, a), on(gpu, b), on(gpu, bias))));
                    Tensor want = cpu.matmul(round.apply(a), round.apply(b), null);
                    compare(what + " transposed views", TOL, out(want), out(gpu.matmul(strided(gpu, a), strided(gpu, b), null)));
                    compare(what + " A transposed", TOL, out(want), out(gpu.matmul(strided(gpu, a), on(gpu, b), null)));
                    compare(what + " B transposed", TOL, out(want), out(gpu.matmul(on(gpu, a), strided(gpu, b), null)));
                }
                for (int[] c : new int[][] {{2, 3, 9, 7, 5, 3, 1, 1}, {1, 16, 12, 12, 24, 3, 2, 1}, {2, 8, 8, 8, 6, 1, 1, 0}, {1, 64, 4, 4, 64, 3, 1, 1}}) {
                    Tensor x = randn(c[0], c[1], c[2], c[3]), w = randn(c[4], c[1], c[5], c[5]).mul(0.2f), bias = randn(c[4]);
                    int s = c[6], p = c[7];
                    Tensor dy = randn(c[0], c[4], (c[2] + 2 * p - c[5]) / s + 1, (c[3] + 2 * p - c[5]) / s + 1);
                    String what = precision + " conv " + java.util.Arrays.toString(c);
                    compare(what, TOL, out(cpu.conv2d(round.apply(x), round.apply(w), bias, s, s, p, p)), out(gpu.conv2d(on(gpu, x), on(gpu, w), on(gpu, bias), s, s, p, p)));
                    compare(what + " backward input", TOL, out(cpu.conv2dBackwardInput(round.apply(dy), round.apply(w), x.shape(), s, s, p, p)),
                            out(gpu.conv2dBackwardInput(on(gpu, dy), on(gpu, w), x.shape(), s, s, p, p)));
                    compare(what + " backward weight", TOL, out(cpu.conv2dBackwardWeight(round.apply(dy), round.apply(x), w.shape(), s, s, p, p)),
                            out(gpu.conv2dBackwardWeight(on(gpu, dy), on(gpu, x), w.shape(), s, s, p, p)));
                }
            } finally {
                CudaMatmul.setPrecision(CudaMatmul.Precision.FLOAT32);
                CudaDevice.useHopperKernels(true);
            }
        }
    }

    static Stream<Arguments> gpusWithAndWithoutHopperKernels() {
        return Devices.gpus().flatMap(d -> Stream.of(Arguments.of(d, true), Arguments.of(d, false)));
    }

    /** t's values as the tensor cores read them in the given precision (finite inputs). */
    private static Tensor roundedAsTensorCores(Tensor t, CudaMatmul.Precision precision) {
        float[] v = t.toFloatArray();
        for (int i = 0; i < v.length; i++) {
            int bits = Float.floatToRawIntBits(v[i]);
            bits = precision == CudaMatmul.Precision.TF32
                    ? (bits + 0x1000) & ~0x1fff                            // 10 mantissa bits, ties away from zero
                    : (bits + 0x7fff + ((bits >>> 16) & 1)) & 0xffff0000;  // 7 mantissa bits, ties to even
            v[i] = Float.intBitsToFloat(bits);
        }
        return Tensor.of(v, t.shape());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void maxPoolingWithTies(Device device) {
        use(device);
        Tensor x = ties(2, 3, 9, 8);
        same("max pool 2/2", be -> be.maxPool2d(on(be, x), 2, 2));
        same("max pool 3/2", be -> be.maxPool2d(on(be, x), 3, 2));
        Tensor dy = randn(2, 3, 4, 3);
        same("max pool backward", be -> {
            Tensor[] r = be.maxPool2d(on(be, x), 3, 2);
            return out(be.maxPool2dBackward(on(be, dy), r[1], x.shape()));
        });
    }

    // ------------------------------------------------------------------ normalisation

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void groupNormAllAffineFormsWithAndWithoutSilu(Device device) {
        use(device);
        int[][] shapes = {{2, 8, 5, 3}, {1, 64, 32, 32}, {3, 6, 7}};
        for (int[] s : shapes) {
            int b = s[0], c = s[1], groups = c / 2;
            Tensor x = randn(s).mul(2f).add(0.5f), dy = randn(s);
            Tensor[][] tables = {{null, null}, {randn(c), randn(c)}, {randn(b, c), randn(b, c)}};
            for (Tensor[] t : tables) {
                for (boolean silu : new boolean[] {false, true}) {
                    String what = "group norm " + java.util.Arrays.toString(s) + (t[0] == null ? "" : " affine " + t[0].dim() + "-D") + (silu ? " + silu" : "");
                    same(what, be -> be.groupNorm(on(be, x), groups, 1e-6f, on(be, t[0]), on(be, t[1]), silu));
                    same(what + " backward", be -> {
                        Tensor xb = on(be, x), sc = on(be, t[0]), sh = on(be, t[1]);
                        Tensor[] f = be.groupNorm(xb, groups, 1e-6f, sc, sh, silu);
                        return be.groupNormBackward(on(be, dy), xb, f[1], f[2], groups, sc, sh, silu);
                    });
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void rmsNormAndItsGradient(Device device) {
        use(device);
        for (int[] s : new int[][] {{3, 5, 64}, {7, 1024}, {2, 33}}) {
            Tensor x = randn(s), w = randn(s[s.length - 1]), dy = randn(s);
            same("rms norm " + java.util.Arrays.toString(s), be -> be.rmsNorm(on(be, x), on(be, w), 1e-5f));
            same("rms norm backward " + java.util.Arrays.toString(s), be -> {
                Tensor xb = on(be, x), wb = on(be, w);
                return be.rmsNormBackward(on(be, dy), xb, wb, be.rmsNorm(xb, wb, 1e-5f)[1]);
            });
        }
    }

    // ------------------------------------------------------------------ softmax and losses

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void softmaxAndCrossEntropy(Device device) {
        use(device);
        for (int[] s : new int[][] {{7, 10}, {3, 4096}, {2, 1}, {4, 3, 65}}) {
            Tensor x = randn(s).mul(4f), dy = randn(s);
            for (boolean log : new boolean[] {false, true}) {
                String what = (log ? "log-softmax " : "softmax ") + java.util.Arrays.toString(s);
                same(what, be -> out(be.softmax(on(be, x), log)));
                same(what + " backward", be -> out(be.softmaxBackward(be.softmax(on(be, x), log), on(be, dy), log)));
            }
        }
        for (int classes : new int[] {64, 4096, 3}) {
            Tensor logits = randn(9, classes).mul(3f), dloss = randn(9);
            long[] t = indices(classes, 9).toLongArray();
            t[4] = -100;
            Tensor targets = Tensor.ofLongs(t, 9);
            same("cross-entropy " + classes + " classes", be -> be.crossEntropy(on(be, logits), on(be, targets), -100));
            same("cross-entropy backward " + classes, be -> {
                Tensor l = on(be, logits), tg = on(be, targets);
                return out(be.crossEntropyBackward(l, tg, be.crossEntropy(l, tg, -100)[1], on(be, dloss), -100));
            });
        }
    }

    // ------------------------------------------------------------------ indexing

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void embeddingGatherAndScatter(Device device) {
        use(device);
        Tensor weight = randn(50, 24), idx = indices(50, 3, 7), dy = randn(3, 7, 24);
        Tensor idx32 = Tensor.ofInts(idx.toIntArray(), 3, 7);
        same("embedding int64", be -> out(be.embedding(on(be, weight), on(be, idx))));
        same("embedding int32", be -> out(be.embedding(on(be, weight), on(be, idx32))));
        Tensor repeated = indices(5, 3, 7);
        same("embedding backward (repeated rows)", be -> out(be.embeddingBackward(on(be, dy), on(be, repeated), 50)));
        // Deterministic: rows are added in the CPU's order, so the bits are the CPU's.
        Tensor many = indices(7, 40, 25), dyMany = randn(40, 25, 24);
        assertArrayEquals(cpu.embeddingBackward(dyMany, many, 9).toFloatArray(), gpu.embeddingBackward(on(gpu, dyMany), on(gpu, many), 9).toFloatArray(),
                "embedding backward, 1000 rows into 7 of 9 embeddings, bit for bit");
        Tensor x = randn(4, 6, 5);
        for (int dim = 0; dim < 3; dim++) {
            int d = dim;
            int[] is = {4, 6, 5};
            is[d] = 3;
            Tensor gi = indices(x.size(d), is), src = randn(is);
            same("gather dim " + d, be -> out(be.gather(on(be, x), d, on(be, gi))));
            same("scatterAdd dim " + d, be -> out(be.scatterAdd(x.shape(), d, on(be, gi), on(be, src))));
        }
    }

    // ------------------------------------------------------------------ fused ops of the models

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void lookupFreeQuantizer(Device device) {
        use(device);
        for (int[] groups : new int[][] {{18}, {6, 12}, {4, 4}}) {
            int bits = java.util.Arrays.stream(groups).sum();
            Tensor z = randn(2, bits, 4, 3);
            same("lfq quantize " + java.util.Arrays.toString(groups), be -> be.lfqQuantize(on(be, z), groups));
            if (bits <= 18) {
                for (float temperature : new float[] {0.01f, 1f}) {
                    String what = "lfq entropy " + bits + " bits, temperature " + temperature;
                    same(what, be -> be.lfqEntropy(on(be, z), temperature));
                    same(what + " backward", be -> {
                        Tensor zb = on(be, z);
                        return out(be.lfqEntropyBackward(zb, be.lfqEntropy(zb, temperature)[1], temperature, 0.7f, -1.3f));
                    });
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void ropeSwigluAndDepthToSpace(Device device) {
        use(device);
        Tensor x = randn(2, 3, 5, 8), cos = randn(5, 4), sin = randn(5, 4);
        for (boolean inverse : new boolean[] {false, true}) {
            same("rope" + (inverse ? " inverse" : ""), be -> out(be.rope(on(be, x), on(be, cos), on(be, sin), inverse)));
            same("rope on a transposed view", be -> out(be.rope(on(be, x.transpose(1, 2).contiguous()).transpose(1, 2), on(be, cos), on(be, sin), inverse)));
        }
        Tensor a = randn(3, 7, 40), b = randn(3, 7, 40), dout = randn(3, 7, 40);
        same("swiglu", be -> out(be.swiglu(on(be, a), strided(be, b))));
        same("swiglu backward", be -> be.swigluBackward(on(be, a), on(be, b), on(be, dout)));
        Tensor d = randn(2, 12, 3, 5);
        same("depth to space", be -> out(be.depthToSpace(on(be, d), 2, false)));
        Tensor s = randn(2, 3, 6, 10);
        same("space to depth", be -> out(be.depthToSpace(on(be, s), 2, true)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void attentionForwardAndBackward(Device device) {
        use(device);
        // {B, H, Tq, Tk, D}
        // Every head-dim instantiation (32, 64, 96, 128) of the tiled, split (few queries) and
        // few-keys kernels.
        int[][] shapes = {{2, 3, 17, 17, 64}, {1, 2, 1, 40, 64}, {2, 2, 5, 37, 128}, {1, 1, 70, 70, 32}, {3, 4, 2, 2, 96},
                {1, 2, 40, 40, 96}, {1, 1, 33, 70, 128}, {2, 2, 2, 2, 64}, {1, 2, 1, 2, 128}};
        for (int[] s : shapes) {
            Tensor q = randn(s[0], s[1], s[2], s[4]), k = randn(s[0], s[1], s[3], s[4]), v = randn(s[0], s[1], s[3], s[4]);
            Tensor dout = randn(s[0], s[1], s[2], s[4]);
            float scale = (float) (1 / Math.sqrt(s[4]));
            for (boolean causal : new boolean[] {false, true}) {
                String what = "attention " + java.util.Arrays.toString(s) + (causal ? " causal" : "");
                same(what, be -> be.attention(on(be, q), on(be, k), on(be, v), null, causal, scale));
                same(what + " backward", be -> {
                    Tensor qb = on(be, q), kb = on(be, k), vb = on(be, v);
                    Tensor[] f = be.attention(qb, kb, vb, null, causal, scale);
                    return be.attentionBackward(qb, kb, vb, f[0], f[1], on(be, dout), null, causal, scale);
                });
            }
            // Heads-last layouts read as views, as the models do ([B, T, H, D] transposed).
            same("attention " + java.util.Arrays.toString(s) + " on views", be -> be.attention(
                    on(be, q.transpose(1, 2).contiguous()).transpose(1, 2), on(be, k.transpose(1, 2).contiguous()).transpose(1, 2),
                    on(be, v.transpose(1, 2).contiguous()).transpose(1, 2), null, true, scale));
        }
        boolean[] m = new boolean[6 * 9];
        for (int i = 0; i < m.length; i++) m[i] = gen.nextFloat() < 0.7f;
        Tensor mask = Tensor.ofBools(m, 6, 9);
        Tensor q = randn(2, 2, 6, 16), k = randn(2, 2, 9, 16), v = randn(2, 2, 9, 16), dout = randn(2, 2, 6, 16);
        same("attention with a mask", be -> be.attention(on(be, q), on(be, k), on(be, v), on(be, mask), false, 0.25f));
        same("attention with a mask, backward", be -> {
            Tensor qb = on(be, q), kb = on(be, k), vb = on(be, v), mb = on(be, mask);
            Tensor[] f = be.attention(qb, kb, vb, mb, false, 0.25f);
            return be.attentionBackward(qb, kb, vb, f[0], f[1], on(be, dout), mb, false, 0.25f);
        });
    }

    // ------------------------------------------------------------------ optimiser

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void adamSteps(Device device) {
        use(device);
        Tensor p = randn(33, 17), g = randn(33, 17), m = randn(33, 17).mul(0.1f), v = uniform(0, 0.1, 33, 17);
        for (boolean decoupled : new boolean[] {false, true}) {
            same("adam step" + (decoupled ? " (AdamW)" : ""), be -> {
                Tensor pb = on(be, p), mb = on(be, m), vb = on(be, v);
                be.adamStep(pb, on(be, g), mb, vb, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.05f, decoupled, 7);
                return out(pb, mb, vb);
            });
        }
    }

    /**
     * The group-wide updates (Adam over a parameter group, the EMA over a module), which the GPU
     * fuses into launches of 64 tensors: 150 tensors of assorted sizes (empty, shorter than a
     * float4, not a multiple of 4, larger than a block's share), so three launches; one with a
     * strided gradient, one at a storage offset that breaks 16-byte alignment, and one listed
     * twice (updated twice, one after the other), against the CPU's one-by-one steps; the sum of
     * squares of such a list (a global gradient norm); and gradient clipping's in-place scaling
     * (x and y the same tensors).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.magvit4j.testing.Devices#gpus")
    void fusedGroupUpdates(Device device) {
        use(device);
        int count = 150;
        List<Tensor> p = new ArrayList<>(), g = new ArrayList<>(), m = new ArrayList<>(), v = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int[] shape = switch (i % 7) {
                case 0 -> new int[] {0};
                case 1 -> new int[] {3};
                case 2 -> new int[] {65, 3};
                case 3 -> new int[] {9000};
                default -> new int[] {1 + i, 8};
            };
            p.add(randn(shape));
            g.add(randn(shape));
            m.add(randn(shape).mul(0.1f));
            v.add(uniform(0, 0.1, shape));
        }
        for (boolean decoupled : new boolean[] {false, true}) {
            same("adam steps of a group" + (decoupled ? " (AdamW)" : ""), be -> {
                List<Tensor> pb = onEach(be, p), gb = onEach(be, g), mb = onEach(be, m), vb = onEach(be, v);
                gb.set(2, strided(be, g.get(2)));
                pb.set(5, offsetCopy(be, p.get(5)));
                for (List<Tensor> l : List.of(pb, gb, mb, vb)) l.set(80, l.get(79));
                be.adamSteps(pb, gb, mb, vb, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.05f, decoupled, 7);
                return all(pb, mb, vb);
            });
        }
        same("sum of squares of a list", be -> {
            List<Tensor> xb = onEach(be, g);
            xb.set(9, strided(be, g.get(9)));
            xb.set(12, offsetCopy(be, g.get(12)));
            return out(be.sumOfSquares(xb), be.sumOfSquares(List.of()));
        });
        same("axpbys", be -> {
            List<Tensor> xb = onEach(be, g), yb = onEach(be, p);
            xb.set(9, strided(be, g.get(9)));
            yb.set(12, offsetCopy(be, p.get(12)));
            xb.set(80, xb.get(79));
            yb.set(80, yb.get(79));
            be.axpbys(0.25f, xb, 0.75f, yb);
            return all(yb);
        });
        same("axpbys in place", be -> {
            List<Tensor> yb = onEach(be, p);
            be.axpbys(0f, yb, -0.5f, yb);
            return all(yb);
        });
    }

    private static List<Tensor> onEach(Backend be, List<Tensor> ts) {
        List<Tensor> out = new ArrayList<>();
        for (Tensor t : ts) out.add(on(be, t));
        return out;
    }

    /** A contiguous copy of t on be's device that starts one float into its storage (not 16-byte aligned). */
    private static Tensor offsetCopy(Backend be, Tensor t) {
        float[] v = new float[1 + t.numel()];
        System.arraycopy(t.toFloatArray(), 0, v, 1, t.numel());
        return on(be, Tensor.of(v, v.length)).slice(0, 1, v.length).view(t.shape());
    }

    @SafeVarargs
    private static Tensor[] all(List<Tensor>... lists) {
        List<Tensor> out = new ArrayList<>();
        for (List<Tensor> l : lists) out.addAll(l);
        return out.toArray(new Tensor[0]);
    }
}
