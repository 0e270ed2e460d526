package dev.magvit4j.train;

import dev.magvit4j.io.AtomicFiles;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.StandardCopyOption;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The metrics CSV of a run ({@code step,<columns...>}, one row per step) and the same numbers in
 * memory for the plots. A resumed run keeps the rows up to its checkpoint's step and drops later
 * ones (those steps are taken again), so the file never holds a step twice.
 */
public final class Metrics implements AutoCloseable {

    private final List<String> columns;
    private final List<double[]> rows = new ArrayList<>();
    private final BufferedWriter out;

    public Metrics(Path csv, List<String> columns, long resumeStep) throws IOException {
        this.columns = List.copyOf(columns);
        String header = "step," + String.join(",", columns);
        List<String> kept = new ArrayList<>();
        if (resumeStep > 0 && Files.isRegularFile(csv)) {
            List<String> lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
            if (!lines.isEmpty() && !lines.get(0).equals(header)) {   // another program's columns: keep that file aside
                Files.move(csv, csv.resolveSibling(csv.getFileName() + ".old"), StandardCopyOption.REPLACE_EXISTING);
            } else if (!lines.isEmpty()) {
                for (String line : lines.subList(1, lines.size())) {
                    double[] row = parse(line);
                    if (row != null && row[0] <= resumeStep) {
                        rows.add(row);
                        kept.add(line);
                    }
                }
            }
        }
        Files.createDirectories(csv.toAbsolutePath().getParent());
        // The kept rows replace the old file atomically, so a crash here loses nothing.
        StringBuilder text = new StringBuilder(header).append('\n');
        for (String line : kept) text.append(line).append('\n');
        AtomicFiles.write(csv, text.toString().getBytes(StandardCharsets.UTF_8));
        out = Files.newBufferedWriter(csv, StandardCharsets.UTF_8, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
    }

    private double[] parse(String line) {
        String[] f = line.split(",", -1);
        if (f.length != columns.size() + 1) return null;
        double[] row = new double[f.length];
        try {
            for (int i = 0; i < f.length; i++) row[i] = f[i].isEmpty() ? Double.NaN : Double.parseDouble(f[i]);
        } catch (NumberFormatException e) {
            return null;
        }
        return row;
    }

    /** Appends step's row; columns missing from {@code values} are left empty. */
    public void add(long step, Map<String, Double> values) throws IOException {
        double[] row = new double[columns.size() + 1];
        row[0] = step;
        StringBuilder line = new StringBuilder(Long.toString(step));
        for (int i = 0; i < columns.size(); i++) {
            Double v = values.get(columns.get(i));
            row[i + 1] = v == null ? Double.NaN : v;
            line.append(',');
            if (v != null) line.append(String.format(Locale.ROOT, "%.6g", v));
        }
        rows.add(row);
        out.write(line.toString());
        out.newLine();
        out.flush();
    }

    public double[] steps() {
        return column(-1);
    }

    /** All values of a column so far, NaN where a row had none. */
    public double[] column(String name) {
        int i = columns.indexOf(name);
        if (i < 0) throw new IllegalArgumentException("no metric column '" + name + "'");
        return column(i);
    }

    private double[] column(int i) {
        double[] out = new double[rows.size()];
        for (int r = 0; r < out.length; r++) out[r] = rows.get(r)[i + 1];
        return out;
    }

    /** A plot series of a column against the step. */
    public Plot.Series series(String name) {
        return new Plot.Series(name, steps(), column(name));
    }

    /** The mean of a column over its last {@code n} finite values (NaN if none). */
    public double recentMean(String name, int n) {
        double[] c = column(name);
        double sum = 0;
        int count = 0;
        for (int i = c.length - 1; i >= 0 && count < n; i--) {
            if (Double.isFinite(c[i])) {
                sum += c[i];
                count++;
            }
        }
        return count == 0 ? Double.NaN : sum / count;
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
