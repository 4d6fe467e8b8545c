/**
 * The family name of the app's own Chinese font (i18n/cjk-font.ts registers its faces). Its faces only claim CJK
 * code points, so it goes first in every font stack: index.html's, and theme.ts's monospace one.
 */
export const CJK_FONT_FAMILY = 'evauth Noto Sans SC';
