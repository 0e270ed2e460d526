package dev.magvit4j.backend.cuda;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A kernel's parameter list as its PTX declares it, to check each launch's arguments against.
 * The driver cannot: it copies whatever bytes it is given, so a missing, extra or mistyped
 * argument would run the kernel on garbage. Parameters are {@code .u64} (pointers and 64-bit
 * integers), {@code .u32}/{@code .s32}, {@code .f32}, {@code .f64}, or {@code .b8 name[N]} (a
 * struct of N bytes passed by value, such as a {@code Layout}).
 */
record KernelSignature(String kernel, List<String> params) {

    private static final Pattern ENTRY = Pattern.compile("\\.entry\\s+(\\w+)\\s*\\(([^)]*)\\)");
    private static final Pattern PARAM = Pattern.compile("\\.param\\s+(?:\\.align\\s+\\d+\\s+)?\\.([usfb])(\\d+)(?:\\s+\\.ptr(?:\\s+\\.\\w+)*\\s+\\.align\\s+\\d+)?\\s+\\w+(?:\\[(\\d+)])?");

    /** Every .entry of a PTX module, by name. */
    static Map<String, KernelSignature> parse(String ptx) {
        Map<String, KernelSignature> out = new HashMap<>();
        Matcher e = ENTRY.matcher(ptx);
        while (e.find()) {
            List<String> params = new ArrayList<>();
            Matcher p = PARAM.matcher(e.group(2));
            while (p.find()) {
                String type = p.group(1) + p.group(2);
                params.add(p.group(3) == null ? type : type + "[" + p.group(3) + "]");
            }
            out.put(e.group(1), new KernelSignature(e.group(1), List.copyOf(params)));
        }
        return out;
    }

    /** Throws, naming the kernel and the first mismatch, unless args fit the parameters one to one. */
    void check(Object[] args) {
        if (args.length != params.size()) {
            throw new IllegalArgumentException("kernel " + kernel + " takes " + params.size() + " arguments " + params + ", given " + args.length);
        }
        for (int i = 0; i < args.length; i++) {
            String p = params.get(i);
            boolean fits = switch (args[i]) {
                case CudaPtr ignored -> p.equals("u64") || p.equals("b64");
                case Long ignored -> p.equals("u64") || p.equals("s64") || p.equals("b64");
                case Integer ignored -> p.equals("u32") || p.equals("s32") || p.equals("b32");
                case Float ignored -> p.equals("f32");
                case Double ignored -> p.equals("f64");
                case int[] struct -> p.equals("b8[" + 4 * struct.length + "]");
                case null, default -> false;
            };
            if (!fits) {
                String given = args[i] == null ? "null" : args[i] instanceof int[] s ? "int[" + s.length + "]" : args[i].getClass().getSimpleName();
                throw new IllegalArgumentException("kernel " + kernel + ": argument " + i + " is a " + given + " but the kernel's parameter is ." + p + " (parameters " + params + ")");
            }
        }
    }
}
