/**
 * Text widths for server-side rendering, read off the DejaVu fonts the PNG is drawn with. Without
 * a canvas, Vega guesses every character at 0.8 em, twice the width of a digit in DejaVu Sans, so
 * its axes judged tick labels to overlap and hid every other one (opacity 0) in the SVG and PNG
 * while a browser, measuring the real font, showed them all. With these widths the static exports
 * keep the labels the browser keeps.
 */

/** Advance widths of one font, in em, by code point. */
export interface FontWidths {
  /** Width of a code point in em (the font's default width when it has no glyph). */
  width(codePoint: number): number;
}

/** Reads the advance widths of a TrueType font (tables head, hhea, hmtx and a cmap format 4). */
export function parseFontWidths(bytes: Uint8Array): FontWidths {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tables = new Map<string, number>();
  const count = dv.getUint16(4);
  for (let i = 0; i < count; i++) {
    const at = 12 + 16 * i;
    const tag = String.fromCharCode(...bytes.subarray(at, at + 4));
    tables.set(tag, dv.getUint32(at + 8));
  }
  const table = (tag: string) => {
    const at = tables.get(tag);
    if (at === undefined) throw new Error(`the font has no ${tag} table`);
    return at;
  };
  const unitsPerEm = dv.getUint16(table("head") + 18);
  const metrics = dv.getUint16(table("hhea") + 34);
  const hmtx = table("hmtx");
  const advance = (glyph: number) =>
    dv.getUint16(hmtx + 4 * Math.min(glyph, metrics - 1)) / unitsPerEm;
  const glyphOf = cmapFormat4(dv, table("cmap"));
  const cache = new Map<number, number>();
  return {
    width(cp: number): number {
      let w = cache.get(cp);
      if (w === undefined) cache.set(cp, w = advance(glyphOf(cp)));
      return w;
    },
  };
}

/** The glyph lookup of the Unicode BMP subtable (platform 3 encoding 1, or platform 0). */
function cmapFormat4(dv: DataView, cmap: number): (cp: number) => number {
  const n = dv.getUint16(cmap + 2);
  let sub = -1;
  for (let i = 0; i < n; i++) {
    const platform = dv.getUint16(cmap + 4 + 8 * i), encoding = dv.getUint16(cmap + 6 + 8 * i);
    const at = cmap + dv.getUint32(cmap + 8 + 8 * i);
    if (dv.getUint16(at) !== 4) continue;
    if ((platform === 3 && encoding === 1) || (platform === 0 && sub < 0)) sub = at;
  }
  if (sub < 0) throw new Error("the font has no Unicode cmap (format 4)");
  const segments = dv.getUint16(sub + 6) / 2;
  const ends = sub + 14, starts = ends + 2 * segments + 2;
  const deltas = starts + 2 * segments, offsets = deltas + 2 * segments;
  return (cp: number) => {
    if (cp > 0xffff) return 0;
    for (let s = 0; s < segments; s++) {
      if (dv.getUint16(ends + 2 * s) < cp) continue;
      const start = dv.getUint16(starts + 2 * s);
      if (start > cp) return 0;
      const delta = dv.getInt16(deltas + 2 * s), ro = dv.getUint16(offsets + 2 * s);
      if (ro === 0) return (cp + delta) & 0xffff;
      const g = dv.getUint16(offsets + 2 * s + ro + 2 * (cp - start));
      return g === 0 ? 0 : (g + delta) & 0xffff;
    }
    return 0;
  };
}

/** What Vega passes of a text item. */
export interface TextItem {
  fontSize?: number | string;
  fontWeight?: number | string;
}

/** Vega's text width function (`vega.textMetrics.width`) over a regular and a bold font. */
export function textWidth(regular: FontWidths, bold: FontWidths) {
  return (item: TextItem, text: unknown): number => {
    const size = item.fontSize != null ? +item.fontSize || 0 : 11;
    const s = text == null ? "" : String(text).trim();
    const w = item.fontWeight;
    const font = w === "bold" || w === "bolder" || (Number(w) >= 600) ? bold : regular;
    let em = 0;
    for (const ch of s) em += font.width(ch.codePointAt(0)!);
    return em * size;
  };
}
