/** The font files made by head-unit/build/cjk-font-plugin.ts at build time. */
declare module 'virtual:evauth-cjk-font' {
  export interface CjkFontFile {
    url: string;
    /** CSS font-weight, "400" or "700" */
    weight: string;
    /** CSS unicode-range the face is used for */
    unicodeRange: string;
  }
  /** the CJK glyphs every language shows (the 中文 button), bold */
  export const labelFont: CjkFontFile;
  /** every CJK glyph of the app, one file per weight */
  export const chineseFonts: CjkFontFile[];
}
