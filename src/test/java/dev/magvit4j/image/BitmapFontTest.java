package dev.magvit4j.image;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

class BitmapFontTest {

    private static String bitmap(char c) {
        StringBuilder sb = new StringBuilder();
        for (int row = 0; row < BitmapFont.GLYPH_H; row++) {
            for (int col = 0; col < BitmapFont.GLYPH_W; col++) sb.append(BitmapFont.pixel(c, col, row) ? '#' : '.');
        }
        return sb.toString();
    }

    @Test
    void printableGlyphsDifferFromTheBoxAndEachOther() {
        String box = bitmap('\u0001');
        assertEquals("#####" + "#...#".repeat(5) + "#####", box);
        for (char c = 32; c <= 126; c++) {
            assertNotEquals(box, bitmap(c), "glyph of '" + c + "' is the unknown-character box");
            if (c != ' ') assertTrue(bitmap(c).contains("#"), "glyph of '" + c + "' is empty");
            for (char d = 32; d < c; d++) assertNotEquals(bitmap(d), bitmap(c), "'" + d + "' and '" + c + "' look the same");
        }
        assertEquals(".".repeat(35), bitmap(' '));
        assertFalse(BitmapFont.pixel('A', -1, 0));
        assertFalse(BitmapFont.pixel('A', 5, 0));
        assertFalse(BitmapFont.pixel('A', 0, 7));
    }

    @Test
    void drawCoversExactlyTheAdvanceBox() {
        int w = 200, h = 40, scale = 3, x = 7, y = 5;
        String text = "W0_|%";
        int[] rgb = new int[w * h];
        BitmapFont.draw(rgb, w, h, text, x, y, scale, 0xFFFFFF);
        int minX = w, maxX = -1, minY = h, maxY = -1;
        for (int py = 0; py < h; py++) {
            for (int px = 0; px < w; px++) {
                if (rgb[py * w + px] == 0) continue;
                minX = Math.min(minX, px);
                maxX = Math.max(maxX, px);
                minY = Math.min(minY, py);
                maxY = Math.max(maxY, py);
            }
        }
        // glyphs fill their 5x7 box; the advance box adds one column and one row of spacing
        assertEquals(x, minX);
        assertEquals(x + BitmapFont.width(text, scale) - scale - 1, maxX);
        assertEquals(y, minY);
        assertEquals(y + BitmapFont.height(scale) - scale - 1, maxY);
        assertEquals(text.length() * 6 * scale, BitmapFont.width(text, scale));
        assertEquals(0, BitmapFont.width("", 2));
    }

    @Test
    void drawClipsAtTheBorders() {
        int w = 20, h = 10;
        int[] rgb = new int[w * h];
        for (int[] p : new int[][] {{-7, -5}, {15, 6}, {-100, 3}, {3, 100}, {-3, 2}}) {
            BitmapFont.draw(rgb, w, h, "Hello, clip!", p[0], p[1], 2, 0x123456);
        }
        assertTrue(Arrays.stream(rgb).anyMatch(v -> v == 0x123456));
        assertThrows(IllegalArgumentException.class, () -> BitmapFont.draw(rgb, w, h, "x", 0, 0, 0, 1));
    }
}
