package dev.magvit4j.train;

import dev.magvit4j.image.BitmapFont;
import dev.magvit4j.image.Images;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * PNG line charts for training curves, drawn pixel by pixel (no Java2D text or antialiasing, so
 * the output is identical on every JDK): axes with "nice" 1-2-5 ticks (decades on a log y axis),
 * light grid lines, a title, an x label and a legend in {@link BitmapFont}.
 *
 * <p>Points whose x or y is NaN or infinite (or y <= 0 on a log axis) are skipped and break the
 * line; a point with no drawable neighbour is drawn as a dot.
 */
public final class Plot {

    /** One named curve; {@code x} and {@code y} have the same length. */
    public record Series(String name, double[] x, double[] y) {
        public Series {
            if (name == null || x == null || y == null) throw new IllegalArgumentException("series name, x and y must not be null");
            if (x.length != y.length) {
                throw new IllegalArgumentException("series '" + name + "' has " + x.length + " x values but " + y.length + " y values");
            }
        }
    }

    /** Image size in pixels. */
    public static final int WIDTH = 640, HEIGHT = 400;

    private static final int WHITE = 0xFFFFFF, BLACK = 0x000000, GRID = 0xE6E6E6, FRAME = 0x999999;
    private static final int[] COLORS = {0x1F77B4, 0xD62728, 0x2CA02C, 0xFF7F0E, 0x9467BD, 0x8C564B, 0xE377C2, 0x17BECF, 0x7F7F7F, 0xBCBD22};

    private Plot() {}

    /** The colour (0xRRGGBB) of series {@code i}: blue, red, green, orange, purple, ... cycling. */
    public static int color(int i) {
        return COLORS[Math.floorMod(i, COLORS.length)];
    }

    /** Renders the chart and writes it as a PNG (atomically, see {@link Images#writePng(BufferedImage, Path)}). */
    public static void write(Path file, String title, String xLabel, List<Series> series, boolean logY) throws IOException {
        Images.writePng(render(title, xLabel, series, logY), file);
    }

    /** Renders the chart as a {@value #WIDTH} x {@value #HEIGHT} RGB image (a null title or label is empty). */
    public static BufferedImage render(String title, String xLabel, List<Series> series, boolean logY) {
        title = title == null ? "" : title;
        xLabel = xLabel == null ? "" : xLabel;
        // the data range, over drawable points only (y in log10 units on a log axis)
        double xMin = Double.POSITIVE_INFINITY, xMax = Double.NEGATIVE_INFINITY;
        double yMin = Double.POSITIVE_INFINITY, yMax = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (int i = 0; i < s.x().length; i++) {
                if (!drawable(s, i, logY)) continue;
                double y = logY ? StrictMath.log10(s.y()[i]) : s.y()[i];
                xMin = Math.min(xMin, s.x()[i]);
                xMax = Math.max(xMax, s.x()[i]);
                yMin = Math.min(yMin, y);
                yMax = Math.max(yMax, y);
            }
        }
        Axis xAxis = linearAxis(xMin, xMax);
        Axis yAxis = logY ? logAxis(yMin, yMax) : linearAxis(yMin, yMax);

        // layout: the left margin fits the widest y tick label
        int labelWidth = 0;
        for (String label : yAxis.labels) labelWidth = Math.max(labelWidth, BitmapFont.width(label, 1));
        int left = labelWidth + 12, right = WIDTH - 16, top = 36, bottom = HEIGHT - 40;
        int[] rgb = new int[WIDTH * HEIGHT];
        Arrays.fill(rgb, WHITE);

        for (int i = 0; i < xAxis.ticks.length; i++) {
            int px = mapX(xAxis, xAxis.ticks[i], left, right);
            line(rgb, px, top, px, bottom, GRID, 0, 0, WIDTH - 1, HEIGHT - 1);
            line(rgb, px, bottom, px, bottom + 4, BLACK, 0, 0, WIDTH - 1, HEIGHT - 1);
            String label = xAxis.labels[i];
            text(rgb, label, px - BitmapFont.width(label, 1) / 2, bottom + 8, 1, BLACK);
        }
        for (int i = 0; i < yAxis.ticks.length; i++) {
            int py = mapY(yAxis, yAxis.ticks[i], top, bottom);
            line(rgb, left, py, right, py, GRID, 0, 0, WIDTH - 1, HEIGHT - 1);
            line(rgb, left - 4, py, left, py, BLACK, 0, 0, WIDTH - 1, HEIGHT - 1);
            String label = yAxis.labels[i];
            text(rgb, label, left - 6 - BitmapFont.width(label, 1), py - 3, 1, BLACK);
        }
        text(rgb, title, (WIDTH - BitmapFont.width(title, 2)) / 2, 10, 2, BLACK);
        text(rgb, xLabel, (left + right - BitmapFont.width(xLabel, 1)) / 2, bottom + 24, 1, BLACK);

        rect(rgb, left, top, right, bottom, BLACK); // before the curves, so a curve on the frame stays visible
        for (int k = 0; k < series.size(); k++) {
            Series s = series.get(k);
            int n = s.x().length;
            for (int i = 0; i < n; i++) {
                if (!drawable(s, i, logY)) continue;
                int x0 = mapX(xAxis, s.x()[i], left, right), y0 = mapY(yAxis, logY ? StrictMath.log10(s.y()[i]) : s.y()[i], top, bottom);
                boolean prev = i > 0 && drawable(s, i - 1, logY), next = i + 1 < n && drawable(s, i + 1, logY);
                if (next) {
                    int x1 = mapX(xAxis, s.x()[i + 1], left, right);
                    int y1 = mapY(yAxis, logY ? StrictMath.log10(s.y()[i + 1]) : s.y()[i + 1], top, bottom);
                    thickLine(rgb, x0, y0, x1, y1, color(k), left, top, right, bottom);
                } else if (!prev) {
                    for (int d = -1; d <= 1; d++) line(rgb, x0 - 1, y0 + d, x0 + 1, y0 + d, color(k), left, top, right, bottom);
                }
            }
        }
        legend(rgb, series, right, top, bottom);

        BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        image.setRGB(0, 0, WIDTH, HEIGHT, rgb, 0, WIDTH);
        return image;
    }

    private static boolean drawable(Series s, int i, boolean logY) {
        double x = s.x()[i], y = s.y()[i];
        return Double.isFinite(x) && Double.isFinite(y) && (!logY || y > 0);
    }

    /** A boxed list of the series' colours and names in the plot's top- or bottom-right corner, whichever hides fewer curve pixels. */
    private static void legend(int[] rgb, List<Series> series, int right, int top, int bottom) {
        if (series.isEmpty()) return;
        int textWidth = 0;
        for (Series s : series) textWidth = Math.max(textWidth, BitmapFont.width(s.name(), 1));
        int rowH = 12, w = 30 + textWidth, h = series.size() * rowH + 6;
        int x0 = right - 8 - w, y0 = top + 8;
        if (colored(rgb, x0, bottom - 8 - h, w, h) < colored(rgb, x0, y0, w, h)) y0 = bottom - 8 - h;
        for (int y = y0; y <= y0 + h; y++) line(rgb, x0, y, x0 + w, y, WHITE, 0, 0, WIDTH - 1, HEIGHT - 1);
        rect(rgb, x0, y0, x0 + w, y0 + h, FRAME);
        for (int k = 0; k < series.size(); k++) {
            int cy = y0 + 6 + k * rowH + 3;
            thickLine(rgb, x0 + 6, cy, x0 + 20, cy, color(k), 0, 0, WIDTH - 1, HEIGHT - 1);
            text(rgb, series.get(k).name(), x0 + 26, cy - 3, 1, BLACK);
        }
    }

    /** The number of pixels in the box that are neither white, grey grid nor black. */
    private static int colored(int[] rgb, int x0, int y0, int w, int h) {
        int n = 0;
        for (int y = Math.max(0, y0); y <= Math.min(HEIGHT - 1, y0 + h); y++) {
            for (int x = Math.max(0, x0); x <= Math.min(WIDTH - 1, x0 + w); x++) {
                int c = rgb[y * WIDTH + x];
                if (c != WHITE && c != GRID && c != BLACK) n++;
            }
        }
        return n;
    }

    // ---------------------------------------------------------------- axes

    /** An axis range [lo, hi] (log10 units on a log axis) and its tick positions and labels. */
    private record Axis(double lo, double hi, double[] ticks, String[] labels) {}

    /** About 5 (4 to 8) ticks at multiples of 1, 2 or 5 times a power of ten; the range is widened to whole steps. */
    private static Axis linearAxis(double min, double max) {
        if (!(min <= max)) {
            min = 0;
            max = 1; // no drawable points
        } else if (min == max) {
            double pad = min == 0 ? 1 : Math.abs(min) * 0.1;
            min -= pad;
            max += pad;
        }
        double step = niceStep((max - min) / 4);
        double lo = Math.floor(min / step) * step, hi = Math.ceil(max / step) * step;
        int n = (int) Math.round((hi - lo) / step) + 1;
        double[] ticks = new double[n];
        String[] labels = new String[n];
        int decimals = Math.max(0, (int) -Math.floor(StrictMath.log10(step) + 1e-9));
        boolean scientific = step < 1e-4 || Math.max(Math.abs(lo), Math.abs(hi)) >= 1e7;
        for (int i = 0; i < n; i++) {
            ticks[i] = lo + i * step;
            if (Math.abs(ticks[i]) < step * 1e-9) ticks[i] = 0; // no "-0.0" from rounding
            labels[i] = scientific ? String.format(Locale.ROOT, "%.2e", ticks[i]) : String.format(Locale.ROOT, "%." + decimals + "f", ticks[i]);
        }
        return new Axis(lo, hi, ticks, labels);
    }

    /** The 1, 2 or 5 x 10^k nearest to raw (thresholds between them near their geometric means). */
    private static double niceStep(double raw) {
        double p = StrictMath.pow(10, Math.floor(StrictMath.log10(raw))), f = raw / p;
        return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
    }

    /** A log axis over whole decades of [min, max] (log10 units); 2x and 5x ticks too when it spans at most 2 decades. */
    private static Axis logAxis(double min, double max) {
        if (!(min <= max)) {
            min = 0;
            max = 1;
        }
        int lo = (int) Math.floor(min), hi = (int) Math.ceil(max);
        if (hi == lo) hi++;
        int every = Math.max(1, (hi - lo + 5) / 6); // at most ~6 decade labels
        double[] mantissas = hi - lo <= 2 ? new double[] {1, 2, 5} : new double[] {1};
        List<Double> ticks = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        for (int e = lo; e <= hi; e++) {
            if ((e - lo) % every != 0) continue;
            for (double m : mantissas) {
                double t = e + StrictMath.log10(m);
                if (t > hi + 1e-9) break;
                ticks.add(t);
                labels.add(e >= -3 && e <= 4
                        ? new BigDecimal(m).scaleByPowerOfTen(e).stripTrailingZeros().toPlainString()
                        : (int) m + "e" + e);
            }
        }
        return new Axis(lo, hi, ticks.stream().mapToDouble(Double::doubleValue).toArray(), labels.toArray(String[]::new));
    }

    private static int mapX(Axis a, double v, int left, int right) {
        return (int) Math.round(left + (v - a.lo) / (a.hi - a.lo) * (right - left));
    }

    private static int mapY(Axis a, double v, int top, int bottom) {
        return (int) Math.round(bottom - (v - a.lo) / (a.hi - a.lo) * (bottom - top));
    }

    // ---------------------------------------------------------------- pixels

    private static void text(int[] rgb, String s, int x, int y, int scale, int color) {
        BitmapFont.draw(rgb, WIDTH, HEIGHT, s, x, y, scale, color);
    }

    private static void rect(int[] rgb, int x0, int y0, int x1, int y1, int color) {
        line(rgb, x0, y0, x1, y0, color, 0, 0, WIDTH - 1, HEIGHT - 1);
        line(rgb, x0, y1, x1, y1, color, 0, 0, WIDTH - 1, HEIGHT - 1);
        line(rgb, x0, y0, x0, y1, color, 0, 0, WIDTH - 1, HEIGHT - 1);
        line(rgb, x1, y0, x1, y1, color, 0, 0, WIDTH - 1, HEIGHT - 1);
    }

    /** A 2-pixel-thick line: the Bresenham line and its copy one pixel across the main direction. */
    private static void thickLine(int[] rgb, int x0, int y0, int x1, int y1, int color, int cx0, int cy0, int cx1, int cy1) {
        line(rgb, x0, y0, x1, y1, color, cx0, cy0, cx1, cy1);
        if (Math.abs(x1 - x0) >= Math.abs(y1 - y0)) line(rgb, x0, y0 + 1, x1, y1 + 1, color, cx0, cy0, cx1, cy1);
        else line(rgb, x0 + 1, y0, x1 + 1, y1, color, cx0, cy0, cx1, cy1);
    }

    /** Bresenham's line from (x0, y0) to (x1, y1), keeping pixels inside the clip box [cx0..cx1] x [cy0..cy1]. */
    private static void line(int[] rgb, int x0, int y0, int x1, int y1, int color, int cx0, int cy0, int cx1, int cy1) {
        int dx = Math.abs(x1 - x0), dy = -Math.abs(y1 - y0);
        int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
        int err = dx + dy; // err = dx - |dy| tracks which way the true line is from the pixel
        while (true) {
            if (x0 >= cx0 && x0 <= cx1 && y0 >= cy0 && y0 <= cy1) rgb[y0 * WIDTH + x0] = color;
            if (x0 == x1 && y0 == y1) return;
            int e2 = 2 * err;
            if (e2 >= dy) {
                err += dy;
                x0 += sx;
            }
            if (e2 <= dx) {
                err += dx;
                y0 += sy;
            }
        }
    }

    /** How many times to enlarge a picture of images of this size so each is at least 64 pixels across. */
    public static int enlargement(int imageSize) {
        return Math.max(1, (64 + imageSize - 1) / imageSize);
    }
}
