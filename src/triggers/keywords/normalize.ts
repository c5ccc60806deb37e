/**
 * Normalization: the text keywords are matched on. Keywords and messages go through the same
 * `normalizeText`, so `ＷＯＷ`, `WOW` and `wow` are one word.
 */

/**
 * Folds that `toLowerCase` alone misses, all one-to-one or deletions except ß:
 * - `ß` (and `ẞ`, which lower-cases to ß) -> `ss`, as Unicode full case folding does, so `STRASSE`
 *   matches `straße`. The price: a keyword `ß` also fires on "class"; acceptable for chat.
 * - final sigma `ς` -> `σ`: `toLowerCase` picks σ or ς from context, so `ΟΔΟΣ` would not match `οδοσ`.
 * - U+FE0E/U+FE0F variation selectors are dropped: phones send ❤️ (U+2764 U+FE0F) and ❤ interchangeably.
 * - typographic apostrophes ‘ ’ ʼ -> ': phones "smart-quote" don't into don’t.
 * Deliberately not folded: Turkish dotless ı (Unicode's default folding keeps it distinct), accents
 * (café and cafe are different words), and confusables/leetspeak (out of scope).
 */
const EXTRA_FOLDS: Readonly<Record<string, string>> = {
  ß: 'ss',
  ς: 'σ',
  '\u2018': "'",
  '\u2019': "'",
  '\u02BC': "'",
};
const EXTRA_FOLD_TEST = /[ßς\u2018\u2019\u02BC]/;
const EXTRA_FOLD_ALL = /[ßς\u2018\u2019\u02BC]/g;
const VARIATION_SELECTORS = /[\uFE0E\uFE0F]/g;

/**
 * The text keywords are matched on: variation selectors removed, then NFKC (compatibility forms like
 * fullwidth `ＷＯＷ` or ligatures `ﬁ` become plain letters), then `toLowerCase` (locale-independent),
 * then the extra folds above. Selectors go first so that NFKC can compose across where they were,
 * which keeps the function idempotent.
 */
export function normalizeText(s: string): string {
  const bare = s.includes('\uFE0F') || s.includes('\uFE0E') ? s.replace(VARIATION_SELECTORS, '') : s;
  const nfkc = bare.normalize('NFKC');
  const lowered = nfkc.toLowerCase();
  // Lower-casing can add combining marks (İ -> i + U+0307) that NFKC must then reorder among the
  // marks already there; normalize again only in that rare case, which keeps the function idempotent.
  const folded = lowered === nfkc ? lowered : lowered.normalize('NFKC');
  // NFKC again after the extra folds: `ss` from ß may now compose with a following accent.
  return EXTRA_FOLD_TEST.test(folded)
    ? folded.replace(EXTRA_FOLD_ALL, (ch) => EXTRA_FOLDS[ch] ?? ch).normalize('NFKC')
    : folded;
}
