package dev.magvit4j.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Command-line options: --name value, --flag, and positional arguments; unknown options are errors. */
final class Args {

    final List<String> positional = new ArrayList<>();
    private final Map<String, String> options = new LinkedHashMap<>();

    /** Options outside valued and flags, when the command accepts them (training settings). */
    final Map<String, Object> extra = new LinkedHashMap<>();
    private final boolean open;

    /** valued: options that take a value; flags: options that do not. */
    Args(String[] argv, int from, Set<String> valued, Set<String> flags) {
        this(argv, from, valued, flags, false);
    }

    /** With {@code open}, any other {@code --name value} is collected in {@link #extra} for the caller to check. */
    Args(String[] argv, int from, Set<String> valued, Set<String> flags, boolean open) {
        this.open = open;
        for (int i = from; i < argv.length; i++) {
            String a = argv[i];
            if (!a.startsWith("--")) {
                positional.add(a);
                continue;
            }
            String name = a.substring(2), value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (flags.contains(name)) {
                if (value != null) throw new CliException("option --" + name + " takes no value");
                options.put(name, "true");
            } else if (valued.contains(name)) {
                if (value == null) {
                    if (i + 1 >= argv.length) throw new CliException("option --" + name + " needs a value");
                    value = argv[++i];
                }
                options.put(name, value);
            } else if (open) {
                if (value == null) {
                    if (i + 1 >= argv.length) throw new CliException("option --" + name + " needs a value");
                    value = argv[++i];
                }
                extra.put(name, value);
            } else {
                throw new CliException("unknown option --" + name + " (see ./magvit4j help)");
            }
        }
    }

    boolean flag(String name) {
        return options.containsKey(name);
    }

    String get(String name, String fallback) {
        return options.getOrDefault(name, fallback);
    }

    int getInt(String name, int fallback) {
        String v = options.get(name);
        if (v == null) return fallback;
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new CliException("--" + name + " needs an integer, got '" + v + "'");
        }
    }

    double getDouble(String name, double fallback) {
        String v = options.get(name);
        if (v == null) return fallback;
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new CliException("--" + name + " needs a number, got '" + v + "'");
        }
    }
}
