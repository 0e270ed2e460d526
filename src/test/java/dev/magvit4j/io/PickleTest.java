package dev.magvit4j.io;

import dev.magvit4j.io.TorchFixtures.PickleWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.math.BigInteger;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The unpickler on pickles written by CPython's pickle module (protocols 0-5) and by hand. */
class PickleTest {

    /**
     * pickle.dumps(obj, protocol=p) for p = 0..5, with l = [1] and obj = {'a': [1, -2, 2**40,
     * -2**70, 3.5, inf, None, True, False, -1.25e-300], 'b': ('x', b'\x00\xff', 'é☃ q\'"\\\n'),
     * 'c': {'nested': {}}, 'd': {7}, 'e': frozenset([8]), 'od': OrderedDict([('k', 1)]),
     * 's1': l, 's2': l, 't1': (1,), 't2': (1, 2), 't3': (1, 2, 3), 'big': 2**31, 'neg': -129,
     * 'ba': bytearray(b'ab')}.
     */
    private static final String[] CPYTHON = {
        "286470300a56610a70310a286c70320a49310a61492d320a614c313039393531313632373737364c0a614c2d313138303539313632303731373431313330333432344c0a6146332e350a6146696e660a614e614930310a614930300a61462d312e3235652d3330300a617356620a70330a2856780a70340a635f636f646563730a656e636f64650a70350a28565c7530303030ff0a70360a566c6174696e310a70370a7470380a5270390a56e95c7532363033207127225c75303035635c75303030610a7031300a747031310a7356630a7031320a28647031330a566e65737465640a7031340a28647031350a737356640a7031360a635f5f6275696c74696e5f5f0a7365740a7031370a28286c7031380a49370a61747031390a527032300a7356650a7032310a635f5f6275696c74696e5f5f0a66726f7a656e7365740a7032320a28286c7032330a49380a61747032340a527032350a73566f640a7032360a63636f6c6c656374696f6e730a4f726465726564446963740a7032370a2874527032380a566b0a7032390a49310a73735673310a7033300a286c7033310a49310a61735673320a7033320a6733310a735674310a7033330a2849310a747033340a735674320a7033350a2849310a49320a747033360a735674330a7033370a2849310a49320a49330a747033380a73566269670a7033390a4c323134373438333634384c0a73566e65670a7034300a492d3132390a735662610a7034310a635f5f6275696c74696e5f5f0a6279746561727261790a7034320a2867350a285661620a7034330a67370a747034340a527034350a747034360a527034370a732e",
        "7d71002858010000006171015d7102284b014afeffffff4c313039393531313632373737364c0a4c2d313138303539313632303731373431313330333432344c0a47400c000000000000477ff00000000000004e4930310a4930300a4781aac9a7b3b7302f655801000000627103285801000000787104635f636f646563730a656e636f64650a710528580300000000c3bf710658060000006c6174696e317107747108527109580b000000c3a9e29883207127225c0a710a74710b580100000063710c7d710d58060000006e6573746564710e7d710f735801000000647110635f5f6275696c74696e5f5f0a7365740a7111285d71124b07617471135271145801000000657115635f5f6275696c74696e5f5f0a66726f7a656e7365740a7116285d71174b086174711852711958020000006f64711a63636f6c6c656374696f6e730a4f726465726564446963740a711b2952711c58010000006b711d4b017358020000007331711e5d711f4b0161580200000073327120681f580200000074317121284b01747122580200000074327123284b014b02747124580200000074337125284b014b024b03747126580300000062696771274c323134373438333634384c0a58030000006e656771284a7fffffff580200000062617129635f5f6275696c74696e5f5f0a6279746561727261790a712a2868052858020000006162712b680774712c52712d74712e52712f752e",
        "80027d71002858010000006171015d7102284b014afeffffff8a060000000000018a090000000000000000c047400c000000000000477ff00000000000004e88894781aac9a7b3b7302f6558010000006271035801000000787104635f636f646563730a656e636f64650a7105580300000000c3bf710658060000006c6174696e317107867108527109580b000000c3a9e29883207127225c0a710a87710b580100000063710c7d710d58060000006e6573746564710e7d710f735801000000647110635f5f6275696c74696e5f5f0a7365740a71115d71124b07618571135271145801000000657115635f5f6275696c74696e5f5f0a66726f7a656e7365740a71165d71174b086185711852711958020000006f64711a63636f6c6c656374696f6e730a4f726465726564446963740a711b2952711c58010000006b711d4b017358020000007331711e5d711f4b0161580200000073327120681f5802000000743171214b018571225802000000743271234b014b028671245802000000743371254b014b024b03877126580300000062696771278a05000000800058030000006e656771284a7fffffff580200000062617129635f5f6275696c74696e5f5f0a6279746561727261790a712a680558020000006162712b680786712c52712d85712e52712f752e",
        "80037d71002858010000006171015d7102284b014afeffffff8a060000000000018a090000000000000000c047400c000000000000477ff00000000000004e88894781aac9a7b3b7302f6558010000006271035801000000787104430200ff7105580b000000c3a9e29883207127225c0a710687710758010000006371087d710958060000006e6573746564710a7d710b73580100000064710c636275696c74696e730a7365740a710d5d710e4b076185710f5271105801000000657111636275696c74696e730a66726f7a656e7365740a71125d71134b086185711452711558020000006f64711663636f6c6c656374696f6e730a4f726465726564446963740a71172952711858010000006b71194b017358020000007331711a5d711b4b016158020000007332711c681b58020000007431711d4b0185711e58020000007432711f4b014b028671205802000000743371214b014b024b03877122580300000062696771238a05000000800058030000006e656771244a7fffffff580200000062617125636275696c74696e730a6279746561727261790a7126430261627127857128527129752e",
        "80049525010000000000007d94288c0161945d94284b014afeffffff8a060000000000018a090000000000000000c047400c000000000000477ff00000000000004e88894781aac9a7b3b7302f658c0162948c017894430200ff948c0bc3a9e29883207127225c0a9487948c0163947d948c066e6573746564947d94738c0164948f94284b07908c016594284b0891948c026f64948c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c016b944b01738c027331945d944b01618c0273329468178c027431944b0185948c027432944b014b0286948c027433944b014b024b0387948c03626967948a0500000080008c036e6567944a7fffffff8c026261948c086275696c74696e73948c09627974656172726179949394430261629485945294752e",
        "8005950f010000000000007d94288c0161945d94284b014afeffffff8a060000000000018a090000000000000000c047400c000000000000477ff00000000000004e88894781aac9a7b3b7302f658c0162948c017894430200ff948c0bc3a9e29883207127225c0a9487948c0163947d948c066e6573746564947d94738c0164948f94284b07908c016594284b0891948c026f64948c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c016b944b01738c027331945d944b01618c0273329468178c027431944b0185948c027432944b014b0286948c027433944b014b024b0387948c03626967948a0500000080008c036e6567944a7fffffff8c02626194960200000000000000616294752e",
    };

    /** pickle.dumps([Foo(), AttrDict(lr=0.5), L([1, 2])]) with Foo a plain class (x = 1), AttrDict(dict), L(list); protocols 0, 2, 4. */
    private static final String[] CLASSES = {
        "286c70300a63636f70795f7265670a5f7265636f6e7374727563746f720a70310a28635f5f6d61696e5f5f0a466f6f0a70320a635f5f6275696c74696e5f5f0a6f626a6563740a70330a4e7470340a5270350a286470360a56780a70370a49310a73626167310a28635f5f6d61696e5f5f0a41747472446963740a70380a635f5f6275696c74696e5f5f0a646963740a70390a28647031300a566c720a7031310a46302e350a73747031320a527031330a6167310a28635f5f6d61696e5f5f0a4c0a7031340a635f5f6275696c74696e5f5f0a6c6973740a7031350a286c7031360a49310a6149320a61747031370a527031380a612e",
        "80025d710028635f5f6d61696e5f5f0a466f6f0a7101298171027d710358010000007871044b017362635f5f6d61696e5f5f0a41747472446963740a71052981710658020000006c727107473fe000000000000073635f5f6d61696e5f5f0a4c0a710829817109284b014b0265652e",
        "80049557000000000000005d94288c085f5f6d61696e5f5f948c03466f6f9493942981947d948c0178944b01736268018c0841747472446963749493942981948c026c7294473fe00000000000007368018c014c949394298194284b014b0265652e",
    };

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3, 4, 5})
    void cpythonProtocols(int protocol) throws Exception {
        Object root = Pickle.load(HexFormat.of().parseHex(CPYTHON[protocol]));
        Map<?, ?> m = assertInstanceOf(Map.class, root);
        assertEquals(List.of("a", "b", "c", "d", "e", "od", "s1", "s2", "t1", "t2", "t3", "big", "neg", "ba"), List.copyOf(m.keySet()));
        List<?> a = (List<?>) m.get("a");
        assertEquals(1L, a.get(0));
        assertEquals(-2L, a.get(1));
        assertEquals(1L << 40, a.get(2));
        assertEquals(BigInteger.TWO.pow(70).negate(), a.get(3));
        assertEquals(3.5, a.get(4));
        assertEquals(Double.POSITIVE_INFINITY, a.get(5));
        assertNull(a.get(6));
        assertEquals(Boolean.TRUE, a.get(7));
        assertEquals(Boolean.FALSE, a.get(8));
        assertEquals(-1.25e-300, a.get(9));
        List<?> b = (List<?>) m.get("b");
        assertTrue(Pickle.isTuple(b));
        assertEquals("x", b.get(0));
        assertArrayEquals(new byte[] {0, (byte) 0xff}, (byte[]) b.get(1));
        assertEquals("é☃ q'\"\\\n", b.get(2));
        assertEquals(Map.of("nested", Map.of()), m.get("c"));
        assertEquals(List.of(7L), m.get("d"));
        assertEquals(List.of(8L), m.get("e"));
        assertEquals(Map.of("k", 1L), m.get("od"));
        assertSame(m.get("s1"), m.get("s2"));
        assertEquals(List.of(1L), m.get("s1"));
        assertFalse(Pickle.isTuple(m.get("s1")));
        assertEquals(List.of(1L), m.get("t1"));
        assertEquals(List.of(1L, 2L), m.get("t2"));
        assertEquals(List.of(1L, 2L, 3L), m.get("t3"));
        assertTrue(Pickle.isTuple(m.get("t3")));
        assertEquals(1L << 31, m.get("big"));
        assertEquals(-129L, m.get("neg"));
        assertArrayEquals(new byte[] {'a', 'b'}, (byte[]) m.get("ba"));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2})
    void classesBecomeOpaqueAndAreNeverInstantiated(int which) throws Exception {
        List<?> l = (List<?>) Pickle.load(HexFormat.of().parseHex(CLASSES[which]));
        assertEquals(3, l.size());
        Pickle.Opaque foo = assertInstanceOf(Pickle.Opaque.class, l.get(0));
        assertEquals("__main__", foo.module());
        assertEquals("Foo", foo.name());
        assertEquals(Map.of("x", 1L), foo.state());
        Pickle.Opaque attr = assertInstanceOf(Pickle.Opaque.class, l.get(1));
        assertEquals("__main__.AttrDict", attr.qualifiedName());
        Pickle.Opaque list = assertInstanceOf(Pickle.Opaque.class, l.get(2));
        assertEquals("L", list.name());
        if (which == 0) {
            // protocol 0: copyreg._reconstructor(cls, base, state) keeps base and state as the arguments
            assertEquals(Map.of("lr", 0.5), attr.args().get(1));
            assertEquals(List.of(1L, 2L), list.args().get(1));
        } else {
            assertEquals(Map.of("lr", 0.5), attr.dictItems());
            assertEquals(List.of(1L, 2L), list.listItems());
        }
    }

    @Test
    void textOpcodesOfProtocolZero() throws Exception {
        // STRING with escapes, INT, LONG, FLOAT, PUT/GET, DICT, LIST, TUPLE, POP, POP_MARK, DUP
        String text = "(S'a\\x41\\n\\'b\\\\'\np0\nI-7\nL123456789012345678901234567890L\nF-2.5e3\nI00\nI01\n"
                + "(I1\nI2\n1" // POP_MARK drops (1, 2)
                + "g0\nN0" // GET then NONE popped
                + "(l2a" // [] DUP APPEND: a list holding itself
                + "t.";
        List<?> t = (List<?>) Pickle.load(text.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        assertEquals("aA\n'b\\", t.get(0));
        assertEquals(-7L, t.get(1));
        assertEquals(new BigInteger("123456789012345678901234567890"), t.get(2));
        assertEquals(-2500.0, t.get(3));
        assertEquals(false, t.get(4));
        assertEquals(true, t.get(5));
        assertEquals("aA\n'b\\", t.get(6));
        List<?> self = (List<?>) t.get(7);
        assertSame(self, self.get(0));
    }

    @Test
    void binaryOpcodesByHand() throws Exception {
        PickleWriter w = new PickleWriter().proto(4).mark();
        w.op('T').le32(2).op('h', 'i');                  // BINSTRING
        w.op('U', 2, 'y', 'o');                          // SHORT_BINSTRING
        w.op(0x8d).le64(3).op('a', 'b', 'c');            // BINUNICODE8
        w.op(0x8e).le64(2).op(1, 2);                     // BINBYTES8
        w.op('B').le32(1).op(9);                         // BINBYTES
        w.op('C', 1, 8);                                 // SHORT_BINBYTES
        w.op(0x8b).le32(2).op(0x00, 0x80);               // LONG4: -32768
        w.op(0x8a, 0);                                   // LONG1 of no bytes: 0
        w.op('M', 0xff, 0xff);                           // BININT2: 65535
        w.op('J').le32(-5);                              // BININT
        w.op(0x8f).mark().integer(3).integer(4).op(0x90); // EMPTY_SET, ADDITEMS
        w.mark().integer(5).op(0x91);                     // FROZENSET
        // NEWOBJ_EX: cls, args, kwargs
        w.op(0x8c, 3).raw("pkg".getBytes()).op(0x8c, 3).raw("Cls".getBytes()).op(0x93).op(0x94) // STACK_GLOBAL, MEMOIZE
                .mark().integer(1).tuple().emptyDict().str("k").integer(2).setitem().op(0x92);
        w.op('P').raw("pid-1\n".getBytes());              // PERSID
        w.tuple().stop();
        List<Object> pids = new java.util.ArrayList<>();
        Object root = Pickle.load(java.lang.foreign.MemorySegment.ofArray(w.bytes()), "hand.pkl", new Pickle.Resolver() {
            @Override
            public Object persistentLoad(Object pid) {
                pids.add(pid);
                return "resolved:" + pid;
            }
        });
        List<?> t = (List<?>) root;
        assertEquals("hi", t.get(0));
        assertEquals("yo", t.get(1));
        assertEquals("abc", t.get(2));
        assertArrayEquals(new byte[] {1, 2}, (byte[]) t.get(3));
        assertArrayEquals(new byte[] {9}, (byte[]) t.get(4));
        assertArrayEquals(new byte[] {8}, (byte[]) t.get(5));
        assertEquals(-32768L, t.get(6));
        assertEquals(0L, t.get(7));
        assertEquals(65535L, t.get(8));
        assertEquals(-5L, t.get(9));
        assertEquals(List.of(3L, 4L), t.get(10));
        assertEquals(List.of(5L), t.get(11));
        assertTrue(Pickle.isTuple(t.get(11)));
        Pickle.Opaque o = (Pickle.Opaque) t.get(12);
        assertEquals("pkg.Cls", o.qualifiedName());
        assertEquals(List.of(1L), o.args());
        assertEquals(Map.of("k", 2L), o.kwargs());
        assertEquals("resolved:pid-1", t.get(13));
        assertEquals(List.of("pid-1"), pids);
    }

    @Test
    void instAndObjRecordArguments() throws Exception {
        byte[] inst = "(I1\nimod\nKlass\n.".getBytes();
        Pickle.Opaque a = (Pickle.Opaque) Pickle.load(inst);
        assertEquals("mod.Klass", a.qualifiedName());
        assertEquals(List.of(1L), a.args());
        PickleWriter w = new PickleWriter().mark().global("mod", "Other").integer(2).integer(3).op('o').stop();
        Pickle.Opaque b = (Pickle.Opaque) Pickle.load(w.bytes());
        assertEquals(List.of(2L, 3L), b.args());
        // a bare global stays uncalled
        Pickle.Opaque g = (Pickle.Opaque) Pickle.load(new PickleWriter().global("torch", "float32").stop().bytes());
        assertFalse(g.isCalled());
        assertEquals("Opaque(torch.float32)", g.toString());
    }
}
