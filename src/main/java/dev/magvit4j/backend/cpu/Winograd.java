package dev.magvit4j.backend.cpu;

import dev.magvit4j.backend.ConvGeometry;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * 3x3 stride-1 convolution by Winograd's minimal filtering F(4x4, 3x3) (Lavin and Gray, 2016):
 * each 4x4 tile of output comes from a 6x6 tile of input as
 *
 * <pre>
 * Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
 * </pre>
 *
 * which takes 36 multiplies per tile and channel pair instead of 144. Over all channels the
 * elementwise products become 36 independent matrix products, one per position k of the 6x6
 * transformed tile:
 *
 * <pre>
 * U[k] = kernel transforms   [O x C]
 * V[k] = input transforms    [C x tiles]
 * M[k] = U[k] · V[k]         [O x tiles]     (Sgemm; the 36 products spread over the threads)
 * y    = output transforms of M
 * </pre>
 *
 * The transforms run on vectors of L tiles. Input: per row of tiles, the column transform Bᵀ
 * combines six image rows over the whole (zero-padded) width, then each result row is split
 * into its four column phases (x mod 4), so that the row transform ·B reads L tiles' values
 * from contiguous memory. Output: M holds tiles contiguously, so Aᵀ·M·A runs on vectors
 * directly and only the final store is per pixel.
 *
 * <p>The weight gradient ({@link #backwardWeight}) is the same scheme run backwards: the output
 * gradient's tiles are transformed by A·dY·Aᵀ, the 36 products contract over the tiles, and Gᵀ·D·G
 * folds each result back to 3x3. (The input gradient is a forward convolution with the flipped
 * kernel; {@code CpuConv} sets it up.)
 *
 * <p>Tiles are processed in chunks of whole tile rows, so V and M stay a few MB at any image
 * size. The interpolation points are 0, ±1, ±2; the transforms' coefficients raise float32
 * rounding from about 1e-7 to about 1e-6 of the output's scale (about 1e-5 of the weight
 * gradient's, which sums over every tile of the batch).
 */
final class Winograd {

    private Winograd() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final int TILE = 4, PATCH = 6, K = PATCH * PATCH;
    private static final VectorMask<Float> ALL = S.maskAll(true);
    /** Target output tiles per chunk: V and M are 36·C·tiles and 36·O·tiles floats. */
    private static final int CHUNK = 512;

    /** Off with -Dmagvit4j.winograd=false: every convolution then takes the direct (im2col GEMM) path. */
    private static final boolean ENABLED = !"false".equals(System.getProperty("magvit4j.winograd"));

    /**
     * Fewer output tiles than this (over the whole batch) do not repay building and packing the
     * 36 transformed weight matrices, which costs as much as O·C·36 products (measured: at 512
     * channels, 16x16 maps run 1.6x slower than the direct method, 32x32 maps 1.4x faster).
     */
    private static final int MIN_TILES = 64;

    /** Worth it for 3x3 stride-1 convolutions with enough channels and tiles for the products to dominate the transforms. */
    static boolean applies(ConvGeometry g) {
        return ENABLED && g.winogradShaped() && g.c() >= 16 && g.o() >= 16 && g.oh() >= TILE && g.ow() >= TILE && g.winogradTiles() >= MIN_TILES;
    }

    /** y = conv(x, w) + bias for every image of the batch; w is OIHW at wOff, x NCHW at xOff, y NCHW from 0. */
    static void forward(ConvGeometry g, float[] x, int xOff, float[] w, int wOff, float[] bias, int biasOff, float[] y) {
        int c = g.c(), o = g.o();
        float[] u = Workspace.floats(Workspace.Slot.WINOGRAD_KERNELS, K * o * c);
        kernelTransforms(w, wOff, o, c, u);
        Tiles tiles = new Tiles(g);
        float[] v = Workspace.floats(Workspace.Slot.WINOGRAD_INPUTS, K * c * tiles.maxPerChunk());
        float[] m = Workspace.floats(Workspace.Slot.WINOGRAD_PRODUCTS, K * o * tiles.maxPerChunk());
        int imageOut = o * g.oh() * g.ow();
        for (int row0 = 0; row0 < tiles.allRows; row0 += tiles.rowsPerChunk) {
            int rows = Math.min(tiles.rowsPerChunk, tiles.allRows - row0), nt = rows * tiles.w, firstRow = row0;
            inputTransforms(g, tiles, x, xOff, firstRow, rows, v);
            // 36 independent products; each runs on one thread (the pool is busy with the others).
            Parallel.forRange(K, 1, (k0, k1) -> {
                for (int k = k0; k < k1; k++) {
                    Sgemm.gemm(o, nt, c, u, k * o * c, c, 1, Sgemm.matrix(v, k * c * nt, nt, 1), m, k * o * nt, nt, false, null);
                }
            });
            Parallel.forRange(o, 1, (o0, o1) -> {
                float[] tile = new float[(TILE * TILE + TILE * PATCH) * L];
                for (int oc = o0; oc < o1; oc++) {
                    float add = bias == null ? 0f : bias[biasOff + oc];
                    for (int t = 0; t < nt; t += L) {
                        outputTiles(g, tiles, m, oc * nt + t, o * nt, Math.min(L, nt - t), y, imageOut, oc * g.oh() * g.ow(), firstRow * tiles.w + t, add, tile);
                    }
                }
            });
        }
    }

    /**
     * dw = ∂L/∂w of {@link #forward} given dy = ∂L/∂y, by its adjoint: with Y = Aᵀ [U ⊙ V] A and
     * U = G g Gᵀ per tile,
     *
     * <pre>
     * ∂L/∂g = Gᵀ [ Σ over tiles (A dY Aᵀ) ⊙ (Bᵀ d B) ] G
     * </pre>
     *
     * so the 36 products become D[k] = dŶ[k] · V[k]ᵀ  [O x C], summed over the tiles (the K of
     * the products), with dŶ[k] the transformed output gradient [O x tiles] and V[k] the same
     * input transforms as the forward. dY beyond the output's edge is zero (the forward drops
     * those pixels). A quarter of the direct method's multiplies, as in the forward.
     */
    static void backwardWeight(ConvGeometry g, float[] dy, int dyOff, float[] x, int xOff, float[] dw) {
        int c = g.c(), o = g.o();
        Tiles tiles = new Tiles(g);
        float[] v = Workspace.floats(Workspace.Slot.WINOGRAD_INPUTS, K * c * tiles.maxPerChunk());
        float[] du = Workspace.floats(Workspace.Slot.WINOGRAD_PRODUCTS, K * o * tiles.maxPerChunk());
        float[] d = Workspace.floats(Workspace.Slot.WINOGRAD_KERNELS, K * o * c);
        int imageOut = o * g.oh() * g.ow();
        for (int row0 = 0; row0 < tiles.allRows; row0 += tiles.rowsPerChunk) {
            int rows = Math.min(tiles.rowsPerChunk, tiles.allRows - row0), nt = rows * tiles.w, firstRow = row0;
            boolean accumulate = row0 > 0;
            inputTransforms(g, tiles, x, xOff, firstRow, rows, v);
            Parallel.forRange(o, 1, (o0, o1) -> {
                float[] tile = new float[(TILE * TILE + PATCH * TILE) * L];
                for (int oc = o0; oc < o1; oc++) {
                    for (int t = 0; t < nt; t += L) {
                        gradientTiles(g, tiles, dy, imageOut, dyOff + oc * g.oh() * g.ow(), firstRow * tiles.w + t, Math.min(L, nt - t),
                                du, oc * nt + t, o * nt, tile);
                    }
                }
            });
            // D[k] (+)= dŶ[k] · V[k]ᵀ: V[k] is [C x tiles], read transposed.
            Parallel.forRange(K, 1, (k0, k1) -> {
                for (int k = k0; k < k1; k++) {
                    Sgemm.gemm(o, c, nt, du, k * o * nt, nt, 1, Sgemm.matrix(v, k * c * nt, 1, nt), d, k * o * c, c, accumulate, null);
                }
            });
        }
        kernelGradients(d, o, c, dw);
    }

    /** The tile grid of a convolution and its chunks of whole tile rows, numbered across the batch (row b·h + ty). */
    private static final class Tiles {
        final int h, w, allRows, rowsPerChunk;

        Tiles(ConvGeometry g) {
            h = (g.oh() + TILE - 1) / TILE;
            w = (g.ow() + TILE - 1) / TILE;
            allRows = g.batch() * h;
            // Small images share one set of products.
            rowsPerChunk = Math.max(1, Math.min(allRows, CHUNK / w));
        }

        int maxPerChunk() {
            return rowsPerChunk * w;
        }
    }

    /** V[k][ic·nt + tile] for the tile rows firstRow .. firstRow+rows of the batch, nt = rows·tilesW. */
    private static void inputTransforms(ConvGeometry g, Tiles tiles, float[] x, int xOff, int firstRow, int rows, float[] v) {
        int c = g.c(), nt = rows * tiles.w, imageIn = c * g.h() * g.w();
        Parallel.forRange(c * rows, 1, (j0, j1) -> {
            InputScratch s = new InputScratch(g.w() + 2 * g.pw(), tiles.w);
            for (int j = j0; j < j1; j++) {
                int ic = j / rows, r = j % rows, row = firstRow + r, b = row / tiles.h;
                inputRow(g, x, xOff + b * imageIn + ic * g.h() * g.w(), row % tiles.h, tiles.w, v, ic * nt + r * tiles.w, c * nt, s);
            }
        });
    }

    // ------------------------------------------------------------------ kernel transform

    private static final float SIXTH = 1f / 6f, TWELFTH = 1f / 12f, TWENTY_FOURTH = 1f / 24f;

    /**
     * U[k][oc·C + ic] = (G g Gᵀ)[k] for every 3x3 filter g = w[oc][ic]. The weights are first
     * transposed to [O][9][C] so that L filters of consecutive input channels transform together
     * on vectors and each of the 36 results is one contiguous store (scattered scalar stores into
     * the 36 planes of U measured 90 ns per filter).
     */
    private static void kernelTransforms(float[] w, int wOff, int o, int c, float[] u) {
        float[] wt = Workspace.floats(Workspace.Slot.WINOGRAD_TRANSPOSED, o * 9 * c);
        transposeFilters(w, wOff, wt, o, c, false);
        int plane = o * c;
        Parallel.forRange(o, 4, (o0, o1) -> {
            float[] t = new float[PATCH * 3 * L];
            for (int oc = o0; oc < o1; oc++) {
                for (int ic = 0; ic < c; ic += L) {
                    VectorMask<Float> m = S.indexInRange(ic, c);
                    int base = oc * 9 * c + ic;
                    // Columns: t = G g, 6 x 3, staged lane-major in t.
                    for (int j = 0; j < 3; j++) {
                        FloatVector g0 = FloatVector.fromArray(S, wt, base + j * c, m);
                        FloatVector g1 = FloatVector.fromArray(S, wt, base + (3 + j) * c, m);
                        FloatVector g2 = FloatVector.fromArray(S, wt, base + (6 + j) * c, m);
                        kernelCombine(g0, g1, g2, t, j * L, 3 * L);
                    }
                    // Rows: U = t Gᵀ, 6 x 6, each result stored at U[k][oc·C + ic .. + L].
                    for (int i = 0; i < PATCH; i++) {
                        FloatVector g0 = FloatVector.fromArray(S, t, (i * 3) * L), g1 = FloatVector.fromArray(S, t, (i * 3 + 1) * L);
                        FloatVector g2 = FloatVector.fromArray(S, t, (i * 3 + 2) * L);
                        int at = i * PATCH * plane + oc * c + ic;
                        g0.mul(0.25f).intoArray(u, at, m);
                        g0.add(g1).add(g2).mul(-SIXTH).intoArray(u, at + plane, m);
                        g0.sub(g1).add(g2).mul(-SIXTH).intoArray(u, at + 2 * plane, m);
                        g0.mul(TWENTY_FOURTH).add(g1.mul(TWELFTH)).add(g2.mul(SIXTH)).intoArray(u, at + 3 * plane, m);
                        g0.mul(TWENTY_FOURTH).sub(g1.mul(TWELFTH)).add(g2.mul(SIXTH)).intoArray(u, at + 4 * plane, m);
                        g2.intoArray(u, at + 5 * plane, m);
                    }
                }
            }
        });
    }

    /** Copies 3x3 filters between OIHW (at oihw[off]) and [O][9][C] (staged): into OIHW when toOihw, else out of it. */
    private static void transposeFilters(float[] oihw, int off, float[] staged, int o, int c, boolean toOihw) {
        Parallel.forRange(o, 4, (o0, o1) -> {
            for (int oc = o0; oc < o1; oc++)
                for (int ic = 0; ic < c; ic++)
                    for (int r = 0; r < 9; r++) {
                        int a = off + (oc * c + ic) * 9 + r, b = (oc * 9 + r) * c + ic;
                        if (toOihw) oihw[a] = staged[b];
                        else staged[b] = oihw[a];
                    }
        });
    }

    /** The 1-D kernel transform G of three vectors, written as six rows of dst (stride). */
    private static void kernelCombine(FloatVector g0, FloatVector g1, FloatVector g2, float[] dst, int at, int stride) {
        g0.mul(0.25f).intoArray(dst, at);
        g0.add(g1).add(g2).mul(-SIXTH).intoArray(dst, at + stride);
        g0.sub(g1).add(g2).mul(-SIXTH).intoArray(dst, at + 2 * stride);
        g0.mul(TWENTY_FOURTH).add(g1.mul(TWELFTH)).add(g2.mul(SIXTH)).intoArray(dst, at + 3 * stride);
        g0.mul(TWENTY_FOURTH).sub(g1.mul(TWELFTH)).add(g2.mul(SIXTH)).intoArray(dst, at + 4 * stride);
        g2.intoArray(dst, at + 5 * stride);
    }

    // ------------------------------------------------------------------ input transform

    /** Per-thread buffers of the input transform. */
    private static final class InputScratch {
        final int width;              // padded row width, rounded up to whole vectors
        final float[] rows;           // 6 zero-padded image rows
        final float[] cols;           // 6 rows of Bᵀ d over the whole width
        final float[] phase;          // [6 rows][4 phases][tilesW + 1 (+ vector slack)]
        final int phaseLen;

        InputScratch(int paddedWidth, int tilesW) {
            int need = Math.max(paddedWidth, TILE * tilesW + 2);
            width = (need + L - 1) / L * L;
            rows = new float[PATCH * width];
            cols = new float[PATCH * width];
            phaseLen = (tilesW + 1 + L - 1) / L * L + L;
            phase = new float[PATCH * TILE * phaseLen];
        }
    }

    /**
     * V[k][index + t] for the tiles t of one tile row ty of one channel plane: Bᵀ d over the
     * padded rows, split by column phase, then ·B on vectors of L tiles.
     */
    private static void inputRow(ConvGeometry g, float[] x, int plane, int ty, int tilesW, float[] v, int index, int kStride, InputScratch s) {
        int width = s.width, y0 = ty * TILE - g.ph();
        // Six image rows, shifted right by the padding and zero outside the image.
        java.util.Arrays.fill(s.rows, 0f);
        for (int i = 0; i < PATCH; i++) {
            int yy = y0 + i;
            if (yy >= 0 && yy < g.h()) System.arraycopy(x, plane + yy * g.w(), s.rows, i * width + g.pw(), g.w());
        }
        // Columns: cols = Bᵀ rows, all columns at once.
        float[] r = s.rows, cv = s.cols;
        for (int col = 0; col < width; col += L) {
            FloatVector d0 = FloatVector.fromArray(S, r, col), d1 = FloatVector.fromArray(S, r, width + col);
            FloatVector d2 = FloatVector.fromArray(S, r, 2 * width + col), d3 = FloatVector.fromArray(S, r, 3 * width + col);
            FloatVector d4 = FloatVector.fromArray(S, r, 4 * width + col), d5 = FloatVector.fromArray(S, r, 5 * width + col);
            inputCombine(d0, d1, d2, d3, d4, d5, cv, col, width);
        }
        // Split each row of cols by column phase: phase[i][p][t] = cols[i][4t + p].
        int pl = s.phaseLen;
        for (int i = 0; i < PATCH; i++) {
            int src = i * width, dst = i * TILE * pl;
            for (int t = 0; t <= tilesW; t++) {
                for (int p = 0; p < TILE; p++) {
                    int col = TILE * t + p;
                    s.phase[dst + p * pl + t] = col < width ? cv[src + col] : 0f;
                }
            }
        }
        // Rows: V = cols · B; tile t reads columns 4t .. 4t+5, i.e. phases 0-3 at t and phases 0-1 at t+1.
        for (int t = 0; t < tilesW; t += L) {
            VectorMask<Float> mask = S.indexInRange(t, tilesW);
            for (int i = 0; i < PATCH; i++) {
                int base = i * TILE * pl + t;
                FloatVector d0 = FloatVector.fromArray(S, s.phase, base), d1 = FloatVector.fromArray(S, s.phase, base + pl);
                FloatVector d2 = FloatVector.fromArray(S, s.phase, base + 2 * pl), d3 = FloatVector.fromArray(S, s.phase, base + 3 * pl);
                FloatVector d4 = FloatVector.fromArray(S, s.phase, base + 1), d5 = FloatVector.fromArray(S, s.phase, base + pl + 1);
                int k = i * PATCH * kStride + index + t;
                (d0.mul(4f).sub(d2.mul(5f)).add(d4)).intoArray(v, k, mask);
                (d1.add(d2).mul(-4f).add(d3).add(d4)).intoArray(v, k + kStride, mask);
                (d1.sub(d2).mul(4f).sub(d3).add(d4)).intoArray(v, k + 2 * kStride, mask);
                (d3.sub(d1).mul(2f).sub(d2).add(d4)).intoArray(v, k + 3 * kStride, mask);
                (d1.sub(d3).mul(2f).sub(d2).add(d4)).intoArray(v, k + 4 * kStride, mask);
                (d1.mul(4f).sub(d3.mul(5f)).add(d5)).intoArray(v, k + 5 * kStride, mask);
            }
        }
    }

    /** The 1-D input transform Bᵀ of six vectors, written as six rows of dst (stride). */
    private static void inputCombine(FloatVector d0, FloatVector d1, FloatVector d2, FloatVector d3, FloatVector d4, FloatVector d5,
                                     float[] dst, int at, int stride) {
        d0.mul(4f).sub(d2.mul(5f)).add(d4).intoArray(dst, at);
        d1.add(d2).mul(-4f).add(d3).add(d4).intoArray(dst, at + stride);
        d1.sub(d2).mul(4f).sub(d3).add(d4).intoArray(dst, at + 2 * stride);
        d3.sub(d1).mul(2f).sub(d2).add(d4).intoArray(dst, at + 3 * stride);
        d1.sub(d3).mul(2f).sub(d2).add(d4).intoArray(dst, at + 4 * stride);
        d1.mul(4f).sub(d3.mul(5f)).add(d5).intoArray(dst, at + 5 * stride);
    }

    // ------------------------------------------------------------------ output transform

    /**
     * Aᵀ M A (+ bias) for n ≤ L consecutive tiles starting at tile number first (row-major over
     * the batch's tiles: image, tile row, tile column) of one output channel, whose plane in
     * image b starts at b·imageOut + channelOff; M[k] of those tiles is at m[index + k·kStride ..].
     */
    private static void outputTiles(ConvGeometry g, Tiles tiles, float[] m, int index, int kStride, int n, float[] y, int imageOut, int channelOff,
                                    int first, float add, float[] tile) {
        VectorMask<Float> mask = S.indexInRange(0, n);
        // Columns: (Aᵀ M)[i][j] for i < 4, j < 6, as vectors over the tiles, staged in tile[96 L ..]
        // (vectors held in an array would be boxed; a float buffer in L1 costs almost nothing).
        int cols = TILE * TILE * L;
        for (int j = 0; j < PATCH; j++) {
            FloatVector m0 = FloatVector.fromArray(S, m, index + j * kStride, mask);
            FloatVector m1 = FloatVector.fromArray(S, m, index + (6 + j) * kStride, mask);
            FloatVector m2 = FloatVector.fromArray(S, m, index + (12 + j) * kStride, mask);
            FloatVector m3 = FloatVector.fromArray(S, m, index + (18 + j) * kStride, mask);
            FloatVector m4 = FloatVector.fromArray(S, m, index + (24 + j) * kStride, mask);
            FloatVector m5 = FloatVector.fromArray(S, m, index + (30 + j) * kStride, mask);
            FloatVector p12 = m1.add(m2), m12 = m1.sub(m2), p34 = m3.add(m4), m34 = m3.sub(m4);
            m0.add(p12).add(p34).intoArray(tile, cols + j * L);
            m12.add(m34.mul(2f)).intoArray(tile, cols + (6 + j) * L);
            p12.add(p34.mul(4f)).intoArray(tile, cols + (12 + j) * L);
            m12.add(m34.mul(8f)).add(m5).intoArray(tile, cols + (18 + j) * L);
        }
        // Rows: tile[i][jj] over the tiles, stored lane-major: tile[(i*4 + jj)*L + lane].
        for (int i = 0; i < TILE; i++) {
            int r = cols + i * PATCH * L;
            FloatVector m0 = FloatVector.fromArray(S, tile, r), m1 = FloatVector.fromArray(S, tile, r + L);
            FloatVector m2 = FloatVector.fromArray(S, tile, r + 2 * L), m3 = FloatVector.fromArray(S, tile, r + 3 * L);
            FloatVector m4 = FloatVector.fromArray(S, tile, r + 4 * L), m5 = FloatVector.fromArray(S, tile, r + 5 * L);
            FloatVector p12 = m1.add(m2), m12 = m1.sub(m2), p34 = m3.add(m4), m34 = m3.sub(m4);
            m0.add(p12).add(p34).add(add).intoArray(tile, (i * 4) * L);
            m12.add(m34.mul(2f)).add(add).intoArray(tile, (i * 4 + 1) * L);
            p12.add(p34.mul(4f)).add(add).intoArray(tile, (i * 4 + 2) * L);
            m12.add(m34.mul(8f)).add(m5).add(add).intoArray(tile, (i * 4 + 3) * L);
        }
        tilePixels(g, tiles, y, imageOut, channelOff, first, n, tile, true);
    }

    /**
     * Moves the pixels of n ≤ L consecutive tiles, from tile number first (row-major over the
     * batch's tiles: image, tile row, tile column), between one channel's planes (in image b at
     * b·imageOut + channelOff) and the lane-major buffer tile[(i*4 + j)*L + lane]: into the image
     * when toImage, else out of it. Pixels past the output's edge are left alone on both sides.
     */
    private static void tilePixels(ConvGeometry g, Tiles tiles, float[] image, int imageOut, int channelOff, int first, int n,
                                   float[] tile, boolean toImage) {
        for (int lane = 0; lane < n; lane++) {
            int t = first + lane, row = t / tiles.w, plane = (row / tiles.h) * imageOut + channelOff;
            int oy = (row % tiles.h) * TILE, ox = (t % tiles.w) * TILE;
            int rows = Math.min(TILE, g.oh() - oy), width = Math.min(TILE, g.ow() - ox);
            for (int i = 0; i < rows; i++) {
                int at = plane + (oy + i) * g.ow() + ox;
                for (int j = 0; j < width; j++) {
                    if (toImage) image[at + j] = tile[(i * 4 + j) * L + lane];
                    else tile[(i * 4 + j) * L + lane] = image[at + j];
                }
            }
        }
    }

    // ------------------------------------------------------------------ weight gradient transforms

    /**
     * dŶ = A dY Aᵀ (the adjoint of the output transform) for n ≤ L consecutive tiles of one
     * output channel, starting at tile number first; dY is read as zero beyond the output's
     * edge. Stored at du[index + k·kStride ..] for the 36 positions k.
     */
    private static void gradientTiles(ConvGeometry g, Tiles tiles, float[] dy, int imageOut, int channelOff, int first, int n,
                                      float[] du, int index, int kStride, float[] tile) {
        // tile[(i*4 + j)*L + lane] = dY[i][j] of the lane's tile, zero past the edge and in unused lanes.
        java.util.Arrays.fill(tile, 0, TILE * TILE * L, 0f);
        tilePixels(g, tiles, dy, imageOut, channelOff, first, n, tile, false);
        VectorMask<Float> mask = S.indexInRange(0, n);
        // Columns: (A dY)[i][j] for i < 6, j < 4, staged in tile[16 L ..].
        int cols = TILE * TILE * L;
        for (int j = 0; j < TILE; j++) {
            FloatVector d0 = FloatVector.fromArray(S, tile, j * L), d1 = FloatVector.fromArray(S, tile, (4 + j) * L);
            FloatVector d2 = FloatVector.fromArray(S, tile, (8 + j) * L), d3 = FloatVector.fromArray(S, tile, (12 + j) * L);
            gradientCombine(d0, d1, d2, d3, tile, cols + j * L, TILE * L);
        }
        // Rows: (A dY Aᵀ)[i][jj], each of the 36 a vector over the tiles, stored at du[k = 6i + jj].
        for (int i = 0; i < PATCH; i++) {
            int r = cols + i * TILE * L;
            FloatVector d0 = FloatVector.fromArray(S, tile, r), d1 = FloatVector.fromArray(S, tile, r + L);
            FloatVector d2 = FloatVector.fromArray(S, tile, r + 2 * L), d3 = FloatVector.fromArray(S, tile, r + 3 * L);
            int k = index + i * PATCH * kStride;
            d0.intoArray(du, k, mask);
            d0.add(d1).add(d2).add(d3).intoArray(du, k + kStride, mask);
            d0.sub(d1).add(d2).sub(d3).intoArray(du, k + 2 * kStride, mask);
            d0.add(d1.mul(2f)).add(d2.mul(4f)).add(d3.mul(8f)).intoArray(du, k + 3 * kStride, mask);
            d0.sub(d1.mul(2f)).add(d2.mul(4f)).sub(d3.mul(8f)).intoArray(du, k + 4 * kStride, mask);
            d3.intoArray(du, k + 5 * kStride, mask);
        }
    }

    /** The 1-D transform A (6 x 4, the transpose of the output transform Aᵀ) of four vectors, written as six rows of dst (stride). */
    private static void gradientCombine(FloatVector d0, FloatVector d1, FloatVector d2, FloatVector d3, float[] dst, int at, int stride) {
        d0.intoArray(dst, at);
        d0.add(d1).add(d2).add(d3).intoArray(dst, at + stride);
        d0.sub(d1).add(d2).sub(d3).intoArray(dst, at + 2 * stride);
        d0.add(d1.mul(2f)).add(d2.mul(4f)).add(d3.mul(8f)).intoArray(dst, at + 3 * stride);
        d0.sub(d1.mul(2f)).add(d2.mul(4f)).sub(d3.mul(8f)).intoArray(dst, at + 4 * stride);
        d3.intoArray(dst, at + 5 * stride);
    }

    /**
     * dw[oc][ic] = Gᵀ D[·][oc·C + ic] G (3 x 3 from 6 x 6, the adjoint of the kernel transform),
     * on vectors of L input channels, staged as [O][9][C] and transposed into OIHW.
     */
    private static void kernelGradients(float[] d, int o, int c, float[] dw) {
        float[] staged = Workspace.floats(Workspace.Slot.WINOGRAD_TRANSPOSED, o * 9 * c);
        int plane = o * c;
        Parallel.forRange(o, 4, (o0, o1) -> {
            float[] t = new float[3 * PATCH * L];
            for (int oc = o0; oc < o1; oc++) {
                for (int ic = 0; ic < c; ic += L) {
                    VectorMask<Float> m = S.indexInRange(ic, c);
                    int base = oc * c + ic;
                    // Columns: t[a][j] = (Gᵀ D)[a][j], a < 3.
                    for (int j = 0; j < PATCH; j++) {
                        FloatVector d0 = FloatVector.fromArray(S, d, base + j * plane, m), d1 = FloatVector.fromArray(S, d, base + (6 + j) * plane, m);
                        FloatVector d2 = FloatVector.fromArray(S, d, base + (12 + j) * plane, m), d3 = FloatVector.fromArray(S, d, base + (18 + j) * plane, m);
                        FloatVector d4 = FloatVector.fromArray(S, d, base + (24 + j) * plane, m), d5 = FloatVector.fromArray(S, d, base + (30 + j) * plane, m);
                        kernelAdjointCombine(d0, d1, d2, d3, d4, d5, t, j * L, PATCH * L, ALL);
                    }
                    // Rows: (Gᵀ D G)[a][b], stored at staged[(oc·9 + 3a + b)·C + ic ..].
                    for (int a = 0; a < 3; a++) {
                        int r = a * PATCH * L;
                        FloatVector d0 = FloatVector.fromArray(S, t, r), d1 = FloatVector.fromArray(S, t, r + L);
                        FloatVector d2 = FloatVector.fromArray(S, t, r + 2 * L), d3 = FloatVector.fromArray(S, t, r + 3 * L);
                        FloatVector d4 = FloatVector.fromArray(S, t, r + 4 * L), d5 = FloatVector.fromArray(S, t, r + 5 * L);
                        kernelAdjointCombine(d0, d1, d2, d3, d4, d5, staged, (oc * 9 + 3 * a) * c + ic, c, m);
                    }
                }
            }
        });
        transposeFilters(dw, 0, staged, o, c, true);
    }

    /**
     * The 1-D transform Gᵀ (3 x 6, the transpose of the kernel transform G) of six vectors:
     * Gᵀ's rows are (1/4, -1/6, -1/6, 1/24, 1/24, 0), (0, -1/6, 1/6, 1/12, -1/12, 0) and
     * (0, -1/6, -1/6, 1/6, 1/6, 1); written as three rows of dst (stride), the lanes of mask.
     */
    private static void kernelAdjointCombine(FloatVector d0, FloatVector d1, FloatVector d2, FloatVector d3, FloatVector d4, FloatVector d5,
                                             float[] dst, int at, int stride, VectorMask<Float> mask) {
        FloatVector p12 = d1.add(d2), m12 = d2.sub(d1), p34 = d3.add(d4), m34 = d3.sub(d4);
        d0.mul(0.25f).sub(p12.mul(SIXTH)).add(p34.mul(TWENTY_FOURTH)).intoArray(dst, at, mask);
        m12.mul(SIXTH).add(m34.mul(TWELFTH)).intoArray(dst, at + stride, mask);
        p34.sub(p12).mul(SIXTH).add(d5).intoArray(dst, at + 2 * stride, mask);
    }
}
