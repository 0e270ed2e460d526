package dev.magvit4j.image;

/**
 * A fixed 5x7 pixel font for printable ASCII (32..126), so text needs no installed fonts and
 * renders bit-identically everywhere. Each glyph sits in the top-left of a 6x8 cell (one column
 * and one row of spacing); a scale factor s draws every font pixel as an s x s block. Characters
 * outside 32..126 draw as a box.
 */
public final class BitmapFont {

    /** Glyph size and cell (advance) size in font pixels. */
    public static final int GLYPH_W = 5, GLYPH_H = 7, CELL_W = 6, CELL_H = 8;

    // 7 characters per glyph, one per row from the top, each a base-32 digit (0-9, A-V) whose
    // 5 bits are the row's pixels, leftmost column in the highest bit. Glyph i is ASCII 32 + i.
    private static final String DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUV";
    private static final String GLYPHS = ""
            + "00000004444404AAA0000AAVAVAA4FKE5U4OP248J3CIK8LID448000024888428422248"
            + "04LEL40044V4400000C48000V00000000CC01248G0EHJLPHE4C4444EEH1248VV2421HE"
            + "26AIV22VGU11HE68GUHHEV124888EHHEHHEEHHF12C0CC0CC00CC0C48248G84200V0V00"
            + "8421248EH12404EH1DLLEEHHHVHHUHHUHHUEHGGGHESIHHHISVGGUGGVVGGUGGGEHGNHHF"
            + "HHHVHHHE44444E72222ICHIKOKIHGGGGGGVHRLLHHHHHPLJHHEHHHHHEUHHUGGGEHHHLID"
            + "UHHUKIHFGGE11UV444444HHHHHHEHHHHHA4HHHLLLAHHA4AHHHHHA444V1248GVE88888E"
            + "0G84210E22222E4AH0000000000V842000000E1FHFGGMPHHU00EGGHE11DJHHF00EHVGE"
            + "698S88800FHF1EGGMPHHH40C444E20622ICGGIKOKIC44444E00QLLHH00MPHHH00EHHHE"
            + "00UHUGG00DJF1100MPGGG00EGE1U88S889600HHHJD00HHHA400HHLLA00HA4AH00HHF1E"
            + "00V248V244844244444448442448008L200";

    private BitmapFont() {}

    /** The advance width of {@code text} in pixels: {@code 6 * scale} per character. */
    public static int width(String text, int scale) {
        return text.length() * CELL_W * scale;
    }

    /** The line height in pixels: {@code 8 * scale} (glyphs use the top 7 rows). */
    public static int height(int scale) {
        return CELL_H * scale;
    }

    /**
     * Whether the glyph of {@code c} is lit at column {@code col} (0..4) and row {@code row}
     * (0..6, from the top); false outside the glyph. Unknown characters are a box.
     */
    public static boolean pixel(char c, int col, int row) {
        if (col < 0 || col >= GLYPH_W || row < 0 || row >= GLYPH_H) return false;
        if (c < 32 || c > 126) return col == 0 || col == GLYPH_W - 1 || row == 0 || row == GLYPH_H - 1;
        int bits = DIGITS.indexOf(GLYPHS.charAt((c - 32) * GLYPH_H + row));
        return (bits >> (GLYPH_W - 1 - col) & 1) != 0;
    }

    /**
     * Draws {@code text} with its top-left corner at (x, y) onto a packed 0xRRGGBB raster of
     * {@code imageWidth x imageHeight} (row-major), setting lit pixels to {@code color}. Pixels
     * outside the raster are clipped; the text may start anywhere, even off the image.
     */
    public static void draw(int[] rgb, int imageWidth, int imageHeight, String text, int x, int y, int scale, int color) {
        if (scale < 1) throw new IllegalArgumentException("font scale must be >= 1, got " + scale);
        if (rgb.length < (long) imageWidth * imageHeight) {
            throw new IllegalArgumentException("raster of " + rgb.length + " pixels is smaller than " + imageWidth + "x" + imageHeight);
        }
        for (int i = 0; i < text.length(); i++) {
            int gx = x + i * CELL_W * scale;
            for (int row = 0; row < GLYPH_H; row++) {
                for (int col = 0; col < GLYPH_W; col++) {
                    if (!pixel(text.charAt(i), col, row)) continue;
                    int px0 = Math.max(0, gx + col * scale), px1 = Math.min(imageWidth, gx + (col + 1) * scale);
                    int py0 = Math.max(0, y + row * scale), py1 = Math.min(imageHeight, y + (row + 1) * scale);
                    for (int py = py0; py < py1; py++) {
                        for (int px = px0; px < px1; px++) rgb[py * imageWidth + px] = color;
                    }
                }
            }
        }
    }
}
