/** Word boundaries for word-mode keywords, looked at in normalized text. */

/**
 * Scripts written without spaces between words. Whole-word matching cannot see word edges in them, so
 * a character of these scripts is never treated as "inside a word" by the boundary check: `日本` in word
 * mode fires on "日本語" and `cat` fires on "catが好き". Everything else with a letter, digit or mark
 * (Latin, Cyrillic, Greek, Arabic, Devanagari, Hangul, ...) is a word character, so `привет` does not
 * fire on "приветствую".
 */
const NO_SPACE_SCRIPT =
  /[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Thai}\p{scx=Lao}\p{scx=Khmer}\p{scx=Myanmar}\p{scx=Tibetan}]/u;
const LETTER_DIGIT_MARK = /[\p{L}\p{N}\p{M}]/u;

const asciiWord = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  asciiWord[c] = (c >= 48 && c <= 57) || (c >= 97 && c <= 122) || (c >= 65 && c <= 90) ? 1 : 0;
}

/** Whether code point `cp` (of normalized text; -1 = none) glues to a word edge next to it. */
export function isWordCodePoint(cp: number): boolean {
  if (cp < 0) return false;
  if (cp < 128) return asciiWord[cp] === 1;
  const ch = String.fromCodePoint(cp);
  return LETTER_DIGIT_MARK.test(ch) && !NO_SPACE_SCRIPT.test(ch);
}

export function firstCodePoint(s: string): number {
  return s.codePointAt(0) ?? -1;
}

export function lastCodePoint(s: string): number {
  return codePointBefore(s, s.length);
}

/** The code point that ends just before index `i`, or -1 at the start. */
export function codePointBefore(s: string, i: number): number {
  if (i <= 0) return -1;
  const low = s.charCodeAt(i - 1);
  if (low >= 0xdc00 && low <= 0xdfff && i >= 2) {
    const high = s.charCodeAt(i - 2);
    if (high >= 0xd800 && high <= 0xdbff) return (high - 0xd800) * 0x400 + (low - 0xdc00) + 0x10000;
  }
  return low;
}

/** Which edges of a word-mode keyword must not glue to a word character next to them. */
export interface WordEdges {
  readonly checkStart: boolean;
  readonly checkEnd: boolean;
}

/** Word-mode boundary check for a candidate at [start, end) of `normalized`. */
export function isWholeIn(
  normalized: string,
  start: number,
  end: number,
  entry: WordEdges,
): boolean {
  if (entry.checkStart && isWordCodePoint(codePointBefore(normalized, start))) return false;
  if (
    entry.checkEnd &&
    isWordCodePoint(end < normalized.length ? normalized.codePointAt(end)! : -1)
  ) {
    return false;
  }
  return true;
}
