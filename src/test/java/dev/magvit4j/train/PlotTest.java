package dev.magvit4j.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class PlotTest {

    private static Plot.Series series(String name, int n, java.util.function.IntToDoubleFunction y) {
        double[] xs = new double[n], ys = new double[n];
        for (int i = 0; i < n; i++) {
            xs[i] = i;
            ys[i] = y.applyAsDouble(i);
        }
        return new Plot.Series(name, xs, ys);
    }

    @Test
    void rendersOddInputs() {
        List<List<Plot.Series>> cases = List.of(
                List.of(series("loss", 100, i -> 5 * Math.exp(-i / 30.0) + 0.1)),
                List.of(series("flat", 10, i -> 3.0)),
                List.of(series("zero", 10, i -> 0.0)),
                List.of(),
                List.of(series("empty", 0, i -> 0)),
                List.of(series("nan", 20, i -> i % 5 == 2 ? Double.NaN : i == 7 ? Double.POSITIVE_INFINITY : i)),
                List.of(series("one", 1, i -> 2.5)),
                List.of(series("allnan", 4, i -> Double.NaN)),
                List.of(series("big", 50, i -> 1e9 + i * 1e7), series("tiny", 50, i -> 1e-6 * i)));
        for (boolean logY : new boolean[] {false, true}) {
            for (List<Plot.Series> c : cases) {
                BufferedImage img = Plot.render("title", "step", c, logY);
                assertEquals(Plot.WIDTH, img.getWidth());
                assertEquals(Plot.HEIGHT, img.getHeight());
            }
        }
        // log axis with non-positive values: those points are skipped
        Plot.render(null, null, List.of(series("mixed", 30, i -> i - 10.0)), true);
    }

    @Test
    void seriesColoursAppearInsideThePlot() {
        assertEquals(0xD62728, Plot.color(1));
        BufferedImage img = Plot.render("curves", "step",
                List.of(series("a", 50, i -> i), series("b", 50, i -> 50 - i)), false);
        int red = 0, blue = 0;
        for (int y = 60; y < Plot.HEIGHT - 60; y++) {
            for (int x = 100; x < Plot.WIDTH - 40; x++) {
                int rgb = img.getRGB(x, y) & 0xFFFFFF;
                if (rgb == Plot.color(1)) red++;
                if (rgb == Plot.color(0)) blue++;
            }
        }
        assertTrue(red > 200, "only " + red + " red pixels");
        assertTrue(blue > 200, "only " + blue + " blue pixels");
        assertEquals(0xFFFFFF, img.getRGB(Plot.WIDTH - 2, Plot.HEIGHT - 2) & 0xFFFFFF);
    }

    @Test
    void writeCreatesThePng(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("sub/loss.png");
        Plot.write(file, "Training loss", "step",
                List.of(series("train", 200, i -> 6 * Math.exp(-i / 50.0) + 0.3), series("val", 200, i -> 6.2 * Math.exp(-i / 55.0) + 0.4)), true);
        assertTrue(Files.size(file) > 500);
        String out = System.getProperty("plot.dir");
        if (out != null) { // -Dplot.dir=/tmp writes charts to look at
            Files.copy(file, Path.of(out, "plot_log.png"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Plot.write(Path.of(out, "plot_lin.png"), "Accuracy (%) vs step", "step [x1000]",
                    List.of(series("train acc", 120, i -> 100 * (1 - Math.exp(-i / 20.0))), series("val", 120, i -> i % 17 == 3 ? Double.NaN : 90 * (1 - Math.exp(-i / 25.0)))), false);
        }
    }
}
