package dev.magvit4j.train;

import dev.magvit4j.io.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Training settings by name ({@code batch_size}, {@code lr}, ...), from a small JSON config file
 * and/or command-line flags ({@code --batch-size 8} is {@code batch_size}). Values may be JSON
 * numbers, lists or strings; every name must be one the recipe knows, so a typo is an error.
 */
public final class Settings {

    private final Map<String, Object> values;
    private final java.util.Set<String> used = new java.util.HashSet<>();

    public Settings(Map<String, Object> values) {
        this.values = new LinkedHashMap<>();
        values.forEach((k, v) -> this.values.put(k.replace('-', '_'), v));
    }

    public static Settings none() {
        return new Settings(Map.of());
    }

    /** A JSON object file's settings, then {@code overrides} on top. */
    public static Settings load(Path json, Map<String, Object> overrides) throws IOException {
        Map<String, Object> all = new LinkedHashMap<>();
        if (json != null) {
            Object parsed;
            try {
                parsed = Json.parse(Files.readString(json));
            } catch (IllegalArgumentException e) {
                throw new IOException(json + ": not valid JSON: " + e.getMessage(), e);
            }
            if (!(parsed instanceof Map<?, ?> m)) throw new IOException(json + ": a training config must be a JSON object of settings");
            m.forEach((k, v) -> all.put(String.valueOf(k), v));
        }
        all.putAll(overrides);
        return new Settings(all);
    }

    public boolean has(String key) {
        return values.containsKey(key);
    }

    public int getInt(String key, int def) {
        return (int) getLong(key, def);
    }

    public long getLong(String key, long def) {
        Object v = take(key);
        if (v == null) return def;
        double d = number(key, v);
        if (d != Math.rint(d) || Math.abs(d) > 9e15) throw new IllegalArgumentException("setting " + key + " must be an integer, got " + v);
        return (long) d;
    }

    public float getFloat(String key, float def) {
        Object v = take(key);
        return v == null ? def : (float) number(key, v);
    }

    public String getString(String key, String def) {
        Object v = take(key);
        return v == null ? def : String.valueOf(v);
    }

    /** A list of integers: a JSON list, or "1,2,4" as a string. */
    public int[] getInts(String key, int[] def) {
        Object v = take(key);
        if (v == null) return def;
        List<Object> items = new ArrayList<>();
        if (v instanceof List<?> l) items.addAll(l);
        else for (String s : String.valueOf(v).replace("[", "").replace("]", "").split(",")) if (!s.isBlank()) items.add(s.trim());
        int[] out = new int[items.size()];
        for (int i = 0; i < out.length; i++) {
            double d = number(key, items.get(i));
            if (d != Math.rint(d)) throw new IllegalArgumentException("setting " + key + " must list integers, got " + v);
            out[i] = (int) d;
        }
        return out;
    }

    private Object take(String key) {
        used.add(key);
        return values.get(key);
    }

    private static double number(String key, Object v) {
        if (v instanceof Number n) return n.doubleValue();
        try {
            return Double.parseDouble(String.valueOf(v).trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("setting " + key + " must be a number, got '" + v + "'");
        }
    }

    /** Throws if a setting was given that nothing read (a typo or a setting of the other stage). */
    public void checkAllUsed(String what) {
        TreeSet<String> unknown = new TreeSet<>(values.keySet());
        unknown.removeAll(used);
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("unknown " + what + " setting(s) " + unknown + "; known: " + new TreeSet<>(used));
        }
    }
}
