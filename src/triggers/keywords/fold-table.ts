/**
 * Per-character folding for the fast path: what each code point becomes in normalized text, cached in
 * lazily filled tables shared by every matcher, so `match` can fold a message while it scans it and
 * only call `normalizeText` on messages that need context-dependent normalization.
 */
import { normalizeText } from './normalize.js';

// The fold of a code point: >= 0 the single BMP code unit it becomes whatever its neighbours,
// otherwise one of these.
const UNKNOWN = -1;
/** Its normalization may depend on its neighbours (or it is a lone surrogate): normalize the message. */
export const UNSAFE = -2;
/** Disappears under normalization (variation selectors). */
export const SKIP = -3;
/** A supplementary code point that normalizes to itself (two code units). */
export const AS_IS = -4;
/** Becomes several code units, whatever its neighbours (ß -> ss, ﬁ -> fi): see `expansions`. */
export const EXPAND = -5;

// Characters that can compose with the character before them under NFC (combining marks, Hangul
// medial vowels and final consonants) or reorder with it. U+16D67 (Kirat Rai, Unicode 16) is a
// composition second that this engine's regex tables do not class as a mark; found by decomposing
// every code point (tests/unit/keyword-matcher.test.ts checks every BMP fold against normalizeText).
const MAY_ATTACH_TO_PREVIOUS = /[\p{M}\u1100-\u11FF\u{16D67}]/u;
const ANY_SURROGATE = /[\uD800-\uDFFF]/;

/** Lazily filled fold of every BMP code unit (surrogates: UNSAFE; pairs are looked up as code points). */
const bmpFold = new Int32Array(0x10000).fill(UNKNOWN);
/** Lazily filled fold of plane 1, where emoji live; other planes are computed each time (rare). */
const plane1Fold = new Int32Array(0x10000).fill(UNKNOWN);
/** Multi-unit folds, for code points whose fold is EXPAND. Bounded by the number of such characters. */
const expansions = new Map<number, string>();

function computeFold(cp: number): number {
  if (cp >= 0xd800 && cp <= 0xdfff) return UNSAFE;
  const original = String.fromCodePoint(cp);
  const folded = normalizeText(original);
  if (folded.length === 0) return SKIP;
  if (MAY_ATTACH_TO_PREVIOUS.test(folded)) return UNSAFE;
  if (cp > 0xffff && folded === original) return AS_IS;
  if (ANY_SURROGATE.test(folded)) return UNSAFE;
  if (folded.length === 1) return folded.charCodeAt(0);
  expansions.set(cp, folded);
  return EXPAND;
}

/** The fold of code point `cp`: a BMP code unit (>= 0) or one of the constants above. */
export function foldOf(cp: number): number {
  const table = cp <= 0xffff ? bmpFold : cp <= 0x1ffff ? plane1Fold : undefined;
  if (table === undefined) return computeFold(cp);
  const i = cp & 0xffff;
  let fold = table[i]!;
  if (fold === UNKNOWN) {
    fold = computeFold(cp);
    table[i] = fold;
  }
  return fold;
}

/** What a code point whose fold is EXPAND becomes. */
export function expansionOf(cp: number): string {
  return expansions.get(cp)!;
}

/**
 * The fast path's view of one code point: what it becomes in normalized text whatever its neighbours,
 * or undefined when that depends on them. Exported for tests, which check it against `normalizeText`.
 */
export function foldCodePoint(cp: number): string | undefined {
  const fold = foldOf(cp);
  if (fold >= 0) return String.fromCharCode(fold);
  if (fold === SKIP) return '';
  if (fold === AS_IS) return String.fromCodePoint(cp);
  if (fold === EXPAND) return expansions.get(cp)!;
  return undefined;
}

/** The normalized code point a code point stands for when it folds one-to-one, else undefined. */
export function foldedOneToOne(cp: number): number | undefined {
  if (cp < 0) return -1;
  const fold = foldOf(cp);
  if (fold >= 0 && cp <= 0xffff) return fold;
  if (fold === AS_IS) return cp;
  return undefined;
}
