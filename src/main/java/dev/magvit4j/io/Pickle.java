package dev.magvit4j.io;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.RandomAccess;
import java.util.regex.Pattern;

/**
 * A restricted unpickler (protocols 0 to 5) that builds data and nothing else. It never imports,
 * calls or instantiates anything named in the pickle: every global is kept as an {@link Opaque}
 * placeholder, and a call of one ({@code REDUCE}, {@code NEWOBJ}, {@code INST}, ...) becomes an
 * {@code Opaque} that records the arguments, unless the caller's {@link Resolver} builds the
 * object itself (this is how {@link Checkpoint} rebuilds torch tensors).
 *
 * <p>What comes out:
 * <ul>
 * <li>dict, {@code collections.OrderedDict} → {@link LinkedHashMap} (insertion order kept);
 * <li>list → {@link ArrayList}; set → {@code ArrayList}; tuple and frozenset → an unmodifiable
 *     {@code List} (which allows null elements) — test {@link #isTuple};
 * <li>str → {@link String}; bytes, bytearray (and protocol 2's {@code _codecs.encode(s, 'latin1')}) → {@code byte[]};
 * <li>int → {@link Long}, or {@link BigInteger} when it does not fit; float → {@link Double};
 *     bool → {@link Boolean}; None → null;
 * <li>persistent ids → whatever the resolver returns for them.
 * </ul>
 *
 * <p>A {@code BUILD} on an Opaque stores its state; on a dict or list (the attributes of a
 * subclass, such as a torch state dict's {@code _metadata}) or on a resolver's object the state
 * is dropped. Objects may be shared or self-referencing as in Python; {@link Opaque#toString()}
 * is shallow, but {@code toString()}/{@code equals} of the lists and maps are Java's (recursive).
 *
 * <p>The machine is iterative (no recursion on the input's structure) and every length is
 * checked against the remaining input before anything is allocated. Limits: {@value #MAX_STACK}
 * stack items, {@value #MAX_MARKS} open MARKs, {@value #MAX_MEMO} memo entries, integers of at
 * most {@value #MAX_INT_BYTES} bytes ({@value #MAX_INT_DIGITS} digits in text form). Dictionary
 * keys must be hashable scalars or flat tuples of them. Any opcode out of place (wrong types on
 * the stack, a missing MARK, a missing memo key, STOP with a bad stack, an unknown opcode)
 * raises a {@link CheckpointException} that names the opcode and its byte offset.
 */
public final class Pickle {

    public static final int MAX_STACK = 100_000;
    public static final int MAX_MARKS = 10_000;
    public static final int MAX_MEMO = 1_000_000;
    public static final int MAX_INT_BYTES = 1024;
    public static final int MAX_INT_DIGITS = 2500;
    /** The highest protocol understood. */
    public static final int HIGHEST_PROTOCOL = 5;

    /**
     * Builds the objects the unpickler must not build itself. Implementations only interpret
     * data; they must never execute anything. A problem is reported by throwing a
     * {@link CheckpointException} whose message is the problem alone: the unpickler prefixes the
     * file, the opcode and its offset.
     */
    public interface Resolver {
        /** The object for a persistent id (PERSID: a String; BINPERSID: any object). */
        Object persistentLoad(Object pid) throws CheckpointException;

        /**
         * The object a call of {@code module.name(args...)} would build, or null to leave it an
         * {@link Opaque}. {@code args} is a tuple.
         */
        default Object call(String module, String name, List<Object> args) throws CheckpointException {
            return null;
        }
    }

    /**
     * A placeholder for a Python global (a class or function) or for an object built by calling
     * one. Never executed. A bare global has {@code args() == null}; a call records its
     * positional arguments (a tuple), keyword arguments (NEWOBJ_EX), the state given by BUILD,
     * and the items appended or set on it (list and dict subclasses). Identity semantics for
     * equals/hashCode; toString is shallow.
     */
    public static final class Opaque {
        private final String module;
        private final String name;
        private final List<Object> args;
        private final Map<Object, Object> kwargs;
        private Object state;
        private final List<Object> listItems = new ArrayList<>();
        private final Map<Object, Object> dictItems = new LinkedHashMap<>();

        Opaque(String module, String name, List<Object> args, Map<Object, Object> kwargs) {
            this.module = module;
            this.name = name;
            this.args = args;
            this.kwargs = kwargs;
        }

        public String module() { return module; }
        public String name() { return name; }
        /** "module.name". */
        public String qualifiedName() { return module + "." + name; }
        /** The positional arguments of the call, or null for a bare (uncalled) global. */
        public List<Object> args() { return args; }
        /** Keyword arguments (NEWOBJ_EX), empty otherwise. */
        public Map<Object, Object> kwargs() { return kwargs; }
        /** The state given by BUILD, or null. */
        public Object state() { return state; }
        /** Items appended (APPEND/APPENDS/ADDITEMS) to the object, e.g. of a list subclass. */
        public List<Object> listItems() { return listItems; }
        /** Items set (SETITEM/SETITEMS) on the object, e.g. of a dict subclass. */
        public Map<Object, Object> dictItems() { return dictItems; }
        public boolean isCalled() { return args != null; }

        @Override
        public String toString() {
            if (args == null) return "Opaque(" + qualifiedName() + ")";
            return "Opaque(" + qualifiedName() + ", " + args.size() + " args"
                    + (state != null ? ", state: " + typeName(state) : "")
                    + (listItems.isEmpty() ? "" : ", " + listItems.size() + " list items")
                    + (dictItems.isEmpty() ? "" : ", " + dictItems.size() + " dict items") + ")";
        }
    }

    /** True for the unmodifiable lists that stand for tuples and frozensets. */
    public static boolean isTuple(Object o) {
        return o instanceof Tuple;
    }

    /** Unpickles data that holds no persistent ids. */
    public static Object load(byte[] data) throws CheckpointException {
        return load(MemorySegment.ofArray(data), "pickle", null);
    }

    /**
     * Unpickles one object from the start of data; bytes after STOP are ignored (as in Python).
     *
     * @param source   the name used in error messages (e.g. "model.ckpt: archive/data.pkl")
     * @param resolver persistent ids and calls of globals; null when the pickle may hold neither
     *                 persistent ids nor objects that need one
     */
    public static Object load(MemorySegment data, String source, Resolver resolver) throws CheckpointException {
        return new Pickle(data, source, resolver).run();
    }

    // ---------------------------------------------------------------- machine

    private static final ValueLayout.OfInt LE_INT = Zip.LE_INT;
    private static final ValueLayout.OfLong LE_LONG = Zip.LE_LONG;
    private static final ValueLayout.OfShort LE_SHORT = Zip.LE_SHORT;
    private static final ValueLayout.OfLong BE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final Pattern DECIMAL = Pattern.compile("[+-]?[0-9]+");
    private static final Pattern FLOAT_TEXT = Pattern.compile("[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?");

    private final MemorySegment in;
    private final long limit;
    private final String source;
    private final Resolver resolver;
    private long pos;
    /** Where the opcode being run starts, and which it is (for messages). */
    private long opAt;
    private int op;
    private Object[] stack = new Object[64];
    private int size;
    private int[] marks = new int[16];
    private int markCount;
    private final Map<Long, Object> memo = new HashMap<>();

    private Pickle(MemorySegment in, String source, Resolver resolver) {
        this.in = in;
        this.limit = in.byteSize();
        this.source = source;
        this.resolver = resolver;
    }

    /** A problem with the opcode being run; turned into a CheckpointException by {@link #run}. */
    private static final class Bad extends RuntimeException {
        Bad(String message) {
            super(message, null, false, false);
        }
    }

    private Object run() throws CheckpointException {
        try {
            return loop();
        } catch (Bad e) {
            throw new CheckpointException(source + ": " + e.getMessage());
        } catch (CheckpointException e) {
            throw new CheckpointException(source + ": " + where() + ": " + e.getMessage(), e);
        }
    }

    private String where() {
        return "pickle opcode " + opName(op) + " at byte " + opAt;
    }

    private Bad bad(String problem) {
        return new Bad(where() + ": " + problem);
    }

    private Object loop() throws CheckpointException {
        while (true) {
            if (pos >= limit) {
                opAt = pos;
                throw new Bad("truncated: the pickle ends at byte " + pos + " without a STOP opcode");
            }
            opAt = pos;
            op = in.get(ValueLayout.JAVA_BYTE, pos++) & 0xff;
            switch (op) {
                case 0x80 -> { // PROTO
                    int v = u8();
                    if (v > HIGHEST_PROTOCOL) throw bad("unsupported pickle protocol " + v + " (at most " + HIGHEST_PROTOCOL + ")");
                }
                case 0x95 -> { // FRAME
                    long n = i64();
                    if (n < 0 || n > limit - pos) throw bad("truncated: frame of " + Long.toUnsignedString(n) + " bytes but only " + (limit - pos) + " remain");
                }
                case '.' -> { // STOP
                    if (markCount != 0) throw bad("STOP with " + markCount + " unclosed MARK(s)");
                    if (size != 1) throw bad("STOP with " + size + " items on the stack (expected 1)");
                    return stack[0];
                }
                case '(' -> { // MARK
                    if (markCount == MAX_MARKS) throw bad("more than " + MAX_MARKS + " nested MARKs (nesting too deep)");
                    if (markCount == marks.length) marks = Arrays.copyOf(marks, marks.length * 2);
                    marks[markCount++] = size;
                }
                case '0' -> { // POP
                    if (size > base()) pop();
                    else if (markCount > 0) popMark();
                    else throw bad("the stack is empty");
                }
                case '1' -> popMark(); // POP_MARK
                case '2' -> push(peek()); // DUP
                case '}' -> push(new LinkedHashMap<>()); // EMPTY_DICT
                case ']' -> push(new ArrayList<>()); // EMPTY_LIST
                case ')' -> push(Tuple.EMPTY); // EMPTY_TUPLE
                case 0x8f -> push(new ArrayList<>()); // EMPTY_SET
                case 'd' -> { // DICT
                    Object[] items = popMark();
                    Map<Object, Object> m = new LinkedHashMap<>();
                    putAll(m, items);
                    push(m);
                }
                case 'l' -> push(new ArrayList<>(Arrays.asList(popMark()))); // LIST
                case 't' -> push(new Tuple(popMark())); // TUPLE
                case 0x91 -> push(new Tuple(popMark())); // FROZENSET
                case 0x85 -> push(new Tuple(popN(1))); // TUPLE1
                case 0x86 -> push(new Tuple(popN(2))); // TUPLE2
                case 0x87 -> push(new Tuple(popN(3))); // TUPLE3
                case 'a' -> { // APPEND
                    Object v = pop();
                    listTarget().add(v);
                }
                case 'e', 0x90 -> { // APPENDS, ADDITEMS
                    Object[] items = popMark();
                    listTarget().addAll(Arrays.asList(items));
                }
                case 's' -> { // SETITEM
                    Object v = pop();
                    Object k = pop();
                    putAll(dictTarget(), new Object[] {k, v});
                }
                case 'u' -> { // SETITEMS
                    Object[] items = popMark();
                    putAll(dictTarget(), items);
                }
                case 'X' -> push(utf8(u32())); // BINUNICODE
                case 0x8c -> push(utf8(u8())); // SHORT_BINUNICODE
                case 0x8d -> push(utf8(i64())); // BINUNICODE8
                case 'V' -> push(rawUnicodeEscape(line())); // UNICODE
                case 'S' -> push(stringRepr(line())); // STRING
                case 'T' -> { // BINSTRING
                    long n = in.get(LE_INT, need(4));
                    if (n < 0) throw bad("negative string length " + n);
                    push(utf8(n));
                }
                case 'U' -> push(utf8(u8())); // SHORT_BINSTRING
                case 'B' -> push(bytes(u32())); // BINBYTES
                case 'C' -> push(bytes(u8())); // SHORT_BINBYTES
                case 0x8e, 0x96 -> push(bytes(i64())); // BINBYTES8, BYTEARRAY8
                case 'J' -> push((long) in.get(LE_INT, need(4))); // BININT
                case 'K' -> push((long) u8()); // BININT1
                case 'M' -> push((long) (in.get(LE_SHORT, need(2)) & 0xffff)); // BININT2
                case 'I' -> { // INT
                    String s = line();
                    if (s.equals("00")) push(Boolean.FALSE);
                    else if (s.equals("01")) push(Boolean.TRUE);
                    else push(decimal(s));
                }
                case 'L' -> { // LONG
                    String s = line();
                    push(decimal(s.endsWith("L") ? s.substring(0, s.length() - 1) : s));
                }
                case 0x8a -> push(littleEndianInt(u8())); // LONG1
                case 0x8b -> { // LONG4
                    long n = in.get(LE_INT, need(4));
                    if (n < 0) throw bad("negative integer length " + n);
                    push(littleEndianInt(n));
                }
                case 'G' -> push(Double.longBitsToDouble(in.get(BE_LONG, need(8)))); // BINFLOAT
                case 'F' -> push(floatText(line())); // FLOAT
                case 'N' -> push(null); // NONE
                case 0x88 -> push(Boolean.TRUE); // NEWTRUE
                case 0x89 -> push(Boolean.FALSE); // NEWFALSE
                case 'g' -> push(memoGet(memoIndex(line()))); // GET
                case 'h' -> push(memoGet(u8())); // BINGET
                case 'j' -> push(memoGet(u32())); // LONG_BINGET
                case 'p' -> memoPut(memoIndex(line())); // PUT
                case 'q' -> memoPut(u8()); // BINPUT
                case 'r' -> memoPut(u32()); // LONG_BINPUT
                case 0x94 -> memoPut(memo.size()); // MEMOIZE
                case 'c' -> { // GLOBAL
                    String module = line();
                    String name = line();
                    push(new Opaque(module, name, null, Map.of()));
                }
                case 0x93 -> { // STACK_GLOBAL
                    Object name = pop();
                    Object module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw bad("module and name must be strings, got " + typeName(module) + " and " + typeName(name));
                    }
                    push(new Opaque(m, n, null, Map.of()));
                }
                case 'R' -> { // REDUCE
                    Object args = pop();
                    Object callable = pop();
                    push(call(global(callable), tuple(args, "arguments")));
                }
                case 0x81 -> { // NEWOBJ
                    Object args = pop();
                    Object cls = pop();
                    push(newObject(global(cls), tuple(args, "arguments"), Map.of()));
                }
                case 0x92 -> { // NEWOBJ_EX
                    Object kwargs = pop();
                    Object args = pop();
                    Object cls = pop();
                    if (!(kwargs instanceof Map<?, ?> kw)) throw bad("keyword arguments must be a dict, got " + typeName(kwargs));
                    @SuppressWarnings("unchecked")
                    Map<Object, Object> kwm = (Map<Object, Object>) kw;
                    push(newObject(global(cls), tuple(args, "arguments"), Collections.unmodifiableMap(kwm)));
                }
                case 'i' -> { // INST
                    String module = line();
                    String name = line();
                    Object[] args = popMark();
                    push(call(new Opaque(module, name, null, Map.of()), new Tuple(args)));
                }
                case 'o' -> { // OBJ
                    Object[] items = popMark();
                    if (items.length == 0) throw bad("OBJ needs a class after its MARK");
                    push(call(global(items[0]), new Tuple(Arrays.copyOfRange(items, 1, items.length))));
                }
                case 'b' -> build(); // BUILD
                case 'P' -> push(persistent(line())); // PERSID
                case 'Q' -> push(persistent(pop())); // BINPERSID
                case 0x82, 0x83, 0x84 -> throw bad("extension codes (copyreg registry) are not supported");
                case 0x97, 0x98 -> throw bad("out-of-band buffers (protocol 5) are not supported");
                default -> throw new Bad("unknown pickle opcode 0x" + String.format("%02x", op) + " at byte " + opAt);
            }
        }
    }

    // ---------------------------------------------------------------- input

    private long need(long n) {
        if (n > limit - pos) {
            throw bad("truncated: needs " + n + " bytes but only " + (limit - pos) + " remain");
        }
        long at = pos;
        pos += n;
        return at;
    }

    private int u8() {
        return in.get(ValueLayout.JAVA_BYTE, need(1)) & 0xff;
    }

    private long u32() {
        return in.get(LE_INT, need(4)) & 0xFFFFFFFFL;
    }

    private long i64() {
        return in.get(LE_LONG, need(8));
    }

    /** Bytes up to the next newline (excluded), as Latin-1 text. */
    private String line() {
        long end = -1;
        for (long p = pos; p < limit; p++) {
            if (in.get(ValueLayout.JAVA_BYTE, p) == '\n') {
                end = p;
                break;
            }
        }
        if (end < 0) throw bad("truncated: no end of line before the end of the pickle");
        if (end - pos > Integer.MAX_VALUE - 16) throw bad("line of " + (end - pos) + " bytes is too long");
        byte[] b = in.asSlice(pos, end - pos).toArray(ValueLayout.JAVA_BYTE);
        pos = end + 1;
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    private byte[] bytes(long n) {
        if (n < 0 || n > limit - pos) {
            throw bad("truncated: declares " + Long.toUnsignedString(n) + " bytes but only " + (limit - pos) + " remain");
        }
        if (n > Integer.MAX_VALUE - 16) throw bad("a string of " + n + " bytes is too large");
        byte[] b = in.asSlice(pos, n).toArray(ValueLayout.JAVA_BYTE);
        pos += n;
        return b;
    }

    private String utf8(long n) {
        return new String(bytes(n), StandardCharsets.UTF_8);
    }

    private Object decimal(String s) {
        if (s.length() > MAX_INT_DIGITS) throw bad("an integer of " + s.length() + " digits is too long (at most " + MAX_INT_DIGITS + ")");
        if (!DECIMAL.matcher(s).matches()) throw bad("invalid integer literal '" + clip(s) + "'");
        return normalise(new BigInteger(s));
    }

    private Object littleEndianInt(long n) {
        if (n > MAX_INT_BYTES) throw bad("an integer of " + n + " bytes is too long (at most " + MAX_INT_BYTES + ")");
        byte[] le = bytes(n);
        if (le.length == 0) return 0L;
        byte[] be = new byte[le.length];
        for (int i = 0; i < le.length; i++) be[i] = le[le.length - 1 - i];
        return normalise(new BigInteger(be));
    }

    private static Object normalise(BigInteger v) {
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    private Double floatText(String s) {
        String t = s.trim();
        switch (t) {
            case "inf", "+inf" -> { return Double.POSITIVE_INFINITY; }
            case "-inf" -> { return Double.NEGATIVE_INFINITY; }
            case "nan", "-nan", "+nan" -> { return Double.NaN; }
            default -> { }
        }
        if (t.length() > MAX_INT_DIGITS || !FLOAT_TEXT.matcher(t).matches()) throw bad("invalid float literal '" + clip(t) + "'");
        return Double.parseDouble(t);
    }

    private long memoIndex(String s) {
        if (s.length() > 18 || !DECIMAL.matcher(s).matches()) throw bad("invalid memo index '" + clip(s) + "'");
        long v = Long.parseLong(s); // at most 18 digits: fits
        if (v < 0) throw bad("negative memo index " + v);
        return v;
    }

    /** Python's STRING argument: a quoted repr with backslash escapes, decoded as UTF-8. */
    private String stringRepr(String s) {
        if (s.length() < 2 || s.charAt(0) != s.charAt(s.length() - 1) || (s.charAt(0) != '\'' && s.charAt(0) != '"')) {
            throw bad("the STRING argument must be quoted");
        }
        byte[] out = new byte[s.length()];
        int n = 0;
        for (int i = 1; i < s.length() - 1; i++) {
            char c = s.charAt(i);
            if (c != '\\' || i + 1 >= s.length() - 1) {
                out[n++] = (byte) c;
                continue;
            }
            char e = s.charAt(++i);
            switch (e) {
                case '\n' -> { }
                case '\\' -> out[n++] = '\\';
                case '\'' -> out[n++] = '\'';
                case '"' -> out[n++] = '"';
                case 'a' -> out[n++] = 7;
                case 'b' -> out[n++] = 8;
                case 'f' -> out[n++] = 12;
                case 'n' -> out[n++] = '\n';
                case 'r' -> out[n++] = '\r';
                case 't' -> out[n++] = '\t';
                case 'v' -> out[n++] = 11;
                case 'x' -> {
                    if (i + 2 > s.length() - 2 || hex(s, i + 1, 2) < 0) throw bad("invalid \\x escape in STRING");
                    out[n++] = (byte) hex(s, i + 1, 2);
                    i += 2;
                }
                default -> {
                    if (e >= '0' && e <= '7') {
                        int v = e - '0';
                        for (int k = 0; k < 2 && i + 1 < s.length() - 1 && s.charAt(i + 1) >= '0' && s.charAt(i + 1) <= '7'; k++) {
                            v = v * 8 + (s.charAt(++i) - '0');
                        }
                        out[n++] = (byte) v;
                    } else {
                        out[n++] = '\\';
                        out[n++] = (byte) e;
                    }
                }
            }
        }
        return new String(out, 0, n, StandardCharsets.UTF_8);
    }

    /** Python's raw-unicode-escape: Latin-1 text with \\uXXXX and \\UXXXXXXXX escapes. */
    private String rawUnicodeEscape(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length() && (s.charAt(i + 1) == 'u' || s.charAt(i + 1) == 'U')) {
                int digits = s.charAt(i + 1) == 'u' ? 4 : 8;
                long cp = i + 2 + digits <= s.length() ? hex(s, i + 2, digits) : -1;
                if (cp < 0 || cp > Character.MAX_CODE_POINT) throw bad("invalid \\" + s.charAt(i + 1) + " escape in UNICODE");
                sb.appendCodePoint((int) cp);
                i += 1 + digits;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static long hex(String s, int from, int count) {
        if (from + count > s.length()) return -1;
        long v = 0;
        for (int i = from; i < from + count; i++) {
            int d = Character.digit(s.charAt(i), 16);
            if (d < 0) return -1;
            v = v * 16 + d;
        }
        return v;
    }

    private static String clip(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }

    // ---------------------------------------------------------------- stack and memo

    private int base() {
        return markCount == 0 ? 0 : marks[markCount - 1];
    }

    private void push(Object o) {
        if (size == MAX_STACK) throw bad("the stack holds more than " + MAX_STACK + " items");
        if (size == stack.length) stack = Arrays.copyOf(stack, Math.min(MAX_STACK, stack.length * 2));
        stack[size++] = o;
    }

    private Object pop() {
        if (size <= base()) throw bad(markCount > 0 ? "needs an item but the stack is empty above the last MARK" : "needs an item but the stack is empty");
        Object o = stack[--size];
        stack[size] = null;
        return o;
    }

    private Object peek() {
        if (size <= base()) throw bad(markCount > 0 ? "needs an item but the stack is empty above the last MARK" : "needs an item but the stack is empty");
        return stack[size - 1];
    }

    private Object[] popN(int n) {
        if (size - base() < n) throw bad("needs " + n + " items but the stack holds " + (size - base()) + (markCount > 0 ? " above the last MARK" : ""));
        Object[] out = Arrays.copyOfRange(stack, size - n, size);
        Arrays.fill(stack, size - n, size, null);
        size -= n;
        return out;
    }

    private Object[] popMark() {
        if (markCount == 0) throw bad("no MARK on the stack");
        int m = marks[--markCount];
        Object[] out = Arrays.copyOfRange(stack, m, size);
        Arrays.fill(stack, m, size, null);
        size = m;
        return out;
    }

    private Object memoGet(long index) {
        Object v = memo.get(index);
        if (v == null && !memo.containsKey(index)) throw bad("memo key " + index + " is missing");
        return v;
    }

    private void memoPut(long index) {
        Object top = peek();
        if (memo.size() >= MAX_MEMO && !memo.containsKey(index)) throw bad("the memo holds more than " + MAX_MEMO + " entries");
        memo.put(index, top);
    }

    // ---------------------------------------------------------------- containers

    @SuppressWarnings("unchecked")
    private List<Object> listTarget() {
        Object t = peek();
        if (t instanceof ArrayList<?> l) return (List<Object>) l;
        if (t instanceof Opaque o && o.isCalled()) return o.listItems;
        throw bad("the target is " + describe(t) + ", not a list");
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dictTarget() {
        Object t = peek();
        if (t instanceof LinkedHashMap<?, ?> m) return (Map<Object, Object>) m;
        if (t instanceof Opaque o && o.isCalled()) return o.dictItems;
        throw bad("the target is " + describe(t) + ", not a dict");
    }

    private void putAll(Map<Object, Object> m, Object[] kv) {
        if (kv.length % 2 != 0) throw bad("odd number of items (" + kv.length + ") for key/value pairs");
        for (int i = 0; i < kv.length; i += 2) {
            checkKey(kv[i]);
            m.put(kv[i], kv[i + 1]);
        }
    }

    /** Keys must hash in constant depth: scalars, or flat tuples of scalars. */
    private void checkKey(Object k) {
        if (k instanceof Tuple t) {
            for (Object e : t) {
                if (e instanceof List<?> || e instanceof Map<?, ?>) throw bad("unsupported dict key: a nested tuple");
            }
        } else if (k instanceof List<?> || k instanceof Map<?, ?>) {
            throw bad("unhashable dict key " + describe(k));
        }
    }

    private Opaque global(Object o) {
        if (o instanceof Opaque g && !g.isCalled()) return g;
        throw bad("the callable is " + describe(o) + ", not a class or function");
    }

    private List<Object> tuple(Object o, String what) {
        if (o instanceof Tuple t) return t;
        throw bad("the " + what + " are " + describe(o) + ", not a tuple");
    }

    // ---------------------------------------------------------------- calls (interpreted, never executed)

    private static boolean builtin(Opaque g, String name) {
        return (g.module.equals("builtins") || g.module.equals("__builtin__")) && g.name.equals(name);
    }

    private Object call(Opaque g, List<Object> args) throws CheckpointException {
        if (resolver != null) {
            Object r = resolver.call(g.module, g.name, args);
            if (r != null) return r;
        }
        if ((g.module.equals("collections") && g.name.equals("OrderedDict")) || builtin(g, "dict")) {
            if (args.isEmpty()) return new LinkedHashMap<>();
            if (args.size() == 1 && args.get(0) instanceof List<?> pairs) {
                Map<Object, Object> m = new LinkedHashMap<>();
                for (Object p : pairs) {
                    if (!(p instanceof List<?> kv) || kv.size() != 2) throw bad(g.qualifiedName() + " needs (key, value) pairs, got " + describe(p));
                    putAll(m, new Object[] {kv.get(0), kv.get(1)});
                }
                return m;
            }
        }
        if (builtin(g, "set") || builtin(g, "list") || builtin(g, "frozenset")) {
            boolean frozen = g.name.equals("frozenset");
            if (args.isEmpty()) return frozen ? Tuple.EMPTY : new ArrayList<>();
            if (args.size() == 1 && args.get(0) instanceof List<?> items) {
                return frozen ? new Tuple(items.toArray()) : new ArrayList<Object>(items);
            }
        }
        if (g.module.equals("_codecs") && g.name.equals("encode") && args.size() == 2
                && args.get(0) instanceof String s && args.get(1) instanceof String enc) {
            return encode(s, enc);
        }
        if (builtin(g, "bytearray") || builtin(g, "bytes")) {
            if (args.isEmpty()) return new byte[0];
            if (args.size() == 1 && args.get(0) instanceof byte[] b) return b.clone();
            if (args.size() == 2 && args.get(0) instanceof String s && args.get(1) instanceof String enc) return encode(s, enc);
        }
        if ((g.module.equals("copyreg") || g.module.equals("copy_reg")) && args.size() >= 1 && args.get(0) instanceof Opaque cls && !cls.isCalled()) {
            if (g.name.equals("_reconstructor")) return new Opaque(cls.module, cls.name, new Tuple(args.subList(1, args.size()).toArray()), Map.of());
            if (g.name.equals("__newobj__")) return newObject(cls, new Tuple(args.subList(1, args.size()).toArray()), Map.of());
        }
        return new Opaque(g.module, g.name, args, Map.of());
    }

    private Object newObject(Opaque cls, List<Object> args, Map<Object, Object> kwargs) {
        if (args.isEmpty() && kwargs.isEmpty()) {
            if ((cls.module.equals("collections") && cls.name.equals("OrderedDict")) || builtin(cls, "dict")) return new LinkedHashMap<>();
            if (builtin(cls, "list") || builtin(cls, "set")) return new ArrayList<>();
        }
        return new Opaque(cls.module, cls.name, args, kwargs);
    }

    private byte[] encode(String s, String encoding) {
        String enc = encoding.toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        return switch (enc) {
            case "latin1", "latin-1", "iso-8859-1", "iso8859-1" -> {
                for (int i = 0; i < s.length(); i++) {
                    if (s.charAt(i) > 0xff) throw bad("cannot encode character U+" + Integer.toHexString(s.charAt(i)) + " as latin-1");
                }
                yield s.getBytes(StandardCharsets.ISO_8859_1);
            }
            case "utf-8", "utf8" -> s.getBytes(StandardCharsets.UTF_8);
            case "ascii" -> {
                for (int i = 0; i < s.length(); i++) {
                    if (s.charAt(i) > 0x7f) throw bad("cannot encode character U+" + Integer.toHexString(s.charAt(i)) + " as ascii");
                }
                yield s.getBytes(StandardCharsets.US_ASCII);
            }
            default -> throw bad("unsupported encoding '" + clip(encoding) + "'");
        };
    }

    @SuppressWarnings("unchecked")
    private void build() {
        Object state = pop();
        Object target = peek();
        if (target instanceof Opaque o) {
            if (!o.isCalled()) throw bad("BUILD on the class " + o.qualifiedName() + " itself");
            if (o.state instanceof LinkedHashMap<?, ?> old && state instanceof Map<?, ?> add) {
                ((Map<Object, Object>) old).putAll(add);
            } else {
                o.state = state;
            }
        } else if (target == null || target instanceof String || target instanceof Number || target instanceof Boolean || target instanceof byte[]) {
            throw bad("BUILD on " + describe(target));
        }
        // dicts, lists, tuples and resolver objects: the state is dropped (see the class comment)
    }

    private Object persistent(Object pid) throws CheckpointException {
        if (resolver == null) throw bad("a persistent id, but this pickle is read without persistent storage");
        return resolver.persistentLoad(pid);
    }

    // ---------------------------------------------------------------- descriptions

    /** Python's name for the type of an object. */
    static String typeName(Object o) {
        if (o == null) return "None";
        if (o instanceof String) return "str";
        if (o instanceof Long || o instanceof BigInteger) return "int";
        if (o instanceof Double) return "float";
        if (o instanceof Boolean) return "bool";
        if (o instanceof byte[]) return "bytes";
        if (o instanceof Tuple) return "tuple";
        if (o instanceof List<?>) return "list";
        if (o instanceof Map<?, ?>) return "dict";
        if (o instanceof Opaque op) return op.isCalled() ? op.qualifiedName() + " object" : "global " + op.qualifiedName();
        return o.getClass().getSimpleName();
    }

    /** A short description for messages (never recursive). */
    static String describe(Object o) {
        if (o instanceof String s) return "the str '" + clip(s) + "'";
        if (o instanceof Opaque op) return op.isCalled() ? "a " + op.qualifiedName() + " object" : "the global " + op.qualifiedName();
        if (o == null) return "None";
        String t = typeName(o);
        return ("aeiou".indexOf(t.charAt(0)) >= 0 ? "an " : "a ") + t;
    }

    static String opName(int op) {
        return switch (op) {
            case '(' -> "MARK"; case '.' -> "STOP"; case '0' -> "POP"; case '1' -> "POP_MARK"; case '2' -> "DUP";
            case 'F' -> "FLOAT"; case 'I' -> "INT"; case 'J' -> "BININT"; case 'K' -> "BININT1"; case 'L' -> "LONG";
            case 'M' -> "BININT2"; case 'N' -> "NONE"; case 'P' -> "PERSID"; case 'Q' -> "BINPERSID"; case 'R' -> "REDUCE";
            case 'S' -> "STRING"; case 'T' -> "BINSTRING"; case 'U' -> "SHORT_BINSTRING"; case 'V' -> "UNICODE";
            case 'X' -> "BINUNICODE"; case 'a' -> "APPEND"; case 'b' -> "BUILD"; case 'c' -> "GLOBAL"; case 'd' -> "DICT";
            case '}' -> "EMPTY_DICT"; case 'e' -> "APPENDS"; case 'g' -> "GET"; case 'h' -> "BINGET"; case 'i' -> "INST";
            case 'j' -> "LONG_BINGET"; case 'l' -> "LIST"; case ']' -> "EMPTY_LIST"; case 'o' -> "OBJ"; case 'p' -> "PUT";
            case 'q' -> "BINPUT"; case 'r' -> "LONG_BINPUT"; case 's' -> "SETITEM"; case 't' -> "TUPLE"; case ')' -> "EMPTY_TUPLE";
            case 'u' -> "SETITEMS"; case 'G' -> "BINFLOAT"; case 'B' -> "BINBYTES"; case 'C' -> "SHORT_BINBYTES";
            case 0x80 -> "PROTO"; case 0x81 -> "NEWOBJ"; case 0x82 -> "EXT1"; case 0x83 -> "EXT2"; case 0x84 -> "EXT4";
            case 0x85 -> "TUPLE1"; case 0x86 -> "TUPLE2"; case 0x87 -> "TUPLE3"; case 0x88 -> "NEWTRUE"; case 0x89 -> "NEWFALSE";
            case 0x8a -> "LONG1"; case 0x8b -> "LONG4"; case 0x8c -> "SHORT_BINUNICODE"; case 0x8d -> "BINUNICODE8";
            case 0x8e -> "BINBYTES8"; case 0x8f -> "EMPTY_SET"; case 0x90 -> "ADDITEMS"; case 0x91 -> "FROZENSET";
            case 0x92 -> "NEWOBJ_EX"; case 0x93 -> "STACK_GLOBAL"; case 0x94 -> "MEMOIZE"; case 0x95 -> "FRAME";
            case 0x96 -> "BYTEARRAY8"; case 0x97 -> "NEXT_BUFFER"; case 0x98 -> "READONLY_BUFFER";
            default -> String.format("0x%02x", op);
        };
    }

    /** An immutable list standing for a Python tuple or frozenset; allows null elements. */
    private static final class Tuple extends AbstractList<Object> implements RandomAccess {
        static final Tuple EMPTY = new Tuple(new Object[0]);
        private final Object[] items;

        Tuple(Object[] items) {
            this.items = items;
        }

        @Override
        public Object get(int index) {
            return items[index];
        }

        @Override
        public int size() {
            return items.length;
        }
    }
}
