/** Entry of the head-unit app: registers <head-unit-app> (the vehicle client loads lazily from it). */
import { followLocaleWithChineseFont } from './i18n/cjk-font.js';
import { localeState } from './i18n/locale.js';
import './ui/head-unit-app.js';

followLocaleWithChineseFont(localeState);
