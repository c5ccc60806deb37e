/**
 * Keyword matching for chat messages: one pass over the message for all keywords.
 *
 * Matching happens on *normalized* text (see `normalizeText`): both keywords and messages are folded the
 * same way, so `ＷＯＷ`, `WOW` and `wow` are one word. Keywords are compiled once into an Aho-Corasick
 * automaton (a full DFA over a compressed alphabet when it fits in memory, goto + failure links
 * otherwise), so a message costs one table lookup per character whatever the number of keywords.
 *
 * Hot path: most chat messages need no Unicode normalization. `match` folds each character through a
 * lazily filled per-code-unit table while it runs the automaton; only when it meets a character whose
 * normalization depends on its neighbours (combining marks, Hangul jamo, ß, lone surrogates, ...) does it
 * fall back to `normalizeText` on the whole message and run again. No allocation per character.
 */
import { UserError } from '../errors.js';

export type KeywordMode = 'contains' | 'word';

export interface Keyword {
  readonly word: string;
  readonly mode: KeywordMode;
}

export interface KeywordHit {
  /** The keyword as it was given to `compileMatcher` (the first one, when several normalize alike). */
  readonly keyword: Keyword;
  /**
   * Where the first occurrence starts, in UTF-16 code units of `normalizeText(text)`. For ASCII
   * messages and most others that is the index in the original text too.
   */
  readonly index: number;
}

export interface KeywordMatcher {
  /** Number of distinct keywords that can fire (duplicates after normalization counted once). */
  readonly size: number;
  /**
   * Every keyword found in `text`, each at most once, ordered by the index of its first occurrence
   * (ties: the order the keywords were given in).
   */
  match(text: string): KeywordHit[];
}

export interface CompileOptions {
  /**
   * Largest dense transition table (states x alphabet size) to build; beyond it the automaton keeps
   * sparse goto edges and failure links (slower, bounded memory). Mostly for tests.
   */
  readonly maxTableEntries?: number;
}

export const KEYWORD_MAX_LENGTH = 100;

const COMPILE_DEFAULTS = {
  // 2^21 Int32 entries = 8 MiB; 1,000 Latin keywords need well under 1 MiB.
  maxTableEntries: 1 << 21,
} as const satisfies Required<CompileOptions>;

// ---------------------------------------------------------------------------------------------------
// Normalization

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

// ---------------------------------------------------------------------------------------------------
// Validation

// Control characters (C0, DEL, C1, which include \n \r \t), line/paragraph separators, and bidi
// embedding/override/isolate controls (they make a keyword list display misleadingly). Lone surrogates
// are not text. Zero-width joiners stay allowed: emoji sequences need them.
const FORBIDDEN_IN_KEYWORD = /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069\p{Cs}]/u;

/**
 * Checks a keyword typed by a member and returns it trimmed. Length is counted in code points (what a
 * member would call characters, near enough) after trimming; a trailing newline from a paste is trimmed
 * rather than rejected.
 */
export function validateKeyword(raw: string): string {
  const word = raw.trim();
  if (word.length === 0) {
    throw new UserError('INVALID_KEYWORD', 'A keyword cannot be empty.');
  }
  if (FORBIDDEN_IN_KEYWORD.test(word)) {
    throw new UserError(
      'INVALID_KEYWORD',
      'A keyword cannot contain line breaks or control characters.',
    );
  }
  let codePoints = 0;
  for (const _ of word) codePoints++;
  if (codePoints > KEYWORD_MAX_LENGTH) {
    throw new UserError(
      'INVALID_KEYWORD',
      `A keyword can be at most ${KEYWORD_MAX_LENGTH} characters.`,
    );
  }
  if (normalizeText(word).trim().length === 0) {
    throw new UserError('INVALID_KEYWORD', 'A keyword cannot be empty.');
  }
  return word;
}

// ---------------------------------------------------------------------------------------------------
// Word boundaries

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
function isWordCodePoint(cp: number): boolean {
  if (cp < 0) return false;
  if (cp < 128) return asciiWord[cp] === 1;
  const ch = String.fromCodePoint(cp);
  return LETTER_DIGIT_MARK.test(ch) && !NO_SPACE_SCRIPT.test(ch);
}

function firstCodePoint(s: string): number {
  return s.codePointAt(0) ?? -1;
}

function lastCodePoint(s: string): number {
  return codePointBefore(s, s.length);
}

/** The code point that ends just before index `i`, or -1 at the start. */
function codePointBefore(s: string, i: number): number {
  if (i <= 0) return -1;
  const low = s.charCodeAt(i - 1);
  if (low >= 0xdc00 && low <= 0xdfff && i >= 2) {
    const high = s.charCodeAt(i - 2);
    if (high >= 0xd800 && high <= 0xdbff) return (high - 0xd800) * 0x400 + (low - 0xdc00) + 0x10000;
  }
  return low;
}

// ---------------------------------------------------------------------------------------------------
// Per-character folding for the fast path

// The fold of a code point: >= 0 the single BMP code unit it becomes whatever its neighbours,
// otherwise one of these.
const UNKNOWN = -1;
/** Its normalization may depend on its neighbours (or it is a lone surrogate): normalize the message. */
const UNSAFE = -2;
/** Disappears under normalization (variation selectors). */
const SKIP = -3;
/** A supplementary code point that normalizes to itself (two code units). */
const AS_IS = -4;
/** Becomes several code units, whatever its neighbours (ß -> ss, ﬁ -> fi): see `expansions`. */
const EXPAND = -5;

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

function foldOf(cp: number): number {
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
function foldedOneToOne(cp: number): number | undefined {
  if (cp < 0) return -1;
  const fold = foldOf(cp);
  if (fold >= 0 && cp <= 0xffff) return fold;
  if (fold === AS_IS) return cp;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Compilation

interface Entry {
  readonly keyword: Keyword;
  /** Position in the list given to compileMatcher: tie-breaker for hits at the same index. */
  readonly order: number;
  /** Length of the normalized keyword in code units. */
  readonly length: number;
  readonly checkStart: boolean;
  readonly checkEnd: boolean;
}

const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Builds the matcher once for a keyword list. Keywords that normalize to the same text with the same
 * mode count once (the first wins); keywords that normalize to nothing or contain lone surrogates never
 * fire (`validateKeyword` rejects both).
 *
 * Word mode means the match must not extend a word: if the keyword starts with a word character, the
 * character before it must not be one; likewise at the end. A keyword that starts and ends with
 * non-word characters (🔥, `!!`) therefore behaves as in contains mode, and `🔥fire` in word mode fires
 * on "wow🔥fire!" but not on "🔥fireworks".
 */
export function compileMatcher(
  keywords: readonly Keyword[],
  options: CompileOptions = {},
): KeywordMatcher {
  const maxTableEntries = options.maxTableEntries ?? COMPILE_DEFAULTS.maxTableEntries;

  const entries: Entry[] = [];
  const words: string[] = [];
  const seen = new Set<string>();
  keywords.forEach((keyword, order) => {
    const word = normalizeText(keyword.word);
    if (word.length === 0 || LONE_SURROGATE.test(word)) return;
    const key = `${keyword.mode}\u0000${word}`;
    if (seen.has(key)) return;
    seen.add(key);
    const isWord = keyword.mode === 'word';
    entries.push({
      keyword,
      order,
      length: word.length,
      checkStart: isWord && isWordCodePoint(firstCodePoint(word)),
      checkEnd: isWord && isWordCodePoint(lastCodePoint(word)),
    });
    words.push(word);
  });

  // Alphabet compression: class 0 for every code unit no keyword uses.
  const classOf = new Uint16Array(0x10000);
  let alphabetSize = 1;
  for (const word of words) {
    for (let i = 0; i < word.length; i++) {
      const unit = word.charCodeAt(i);
      if (classOf[unit] === 0) classOf[unit] = alphabetSize++;
    }
  }
  if (alphabetSize > 0xfffe) {
    // Would need keywords using nearly every UTF-16 code unit; classes must stay below the sentinels.
    throw new RangeError('keyword alphabet too large');
  }

  // Trie with sparse edges keyed by state * alphabetSize + class.
  const edges = new Map<number, number>();
  const ownOutputs: number[][] = [[]];
  let stateCount = 1;
  words.forEach((word, id) => {
    let state = 0;
    for (let i = 0; i < word.length; i++) {
      const key = state * alphabetSize + classOf[word.charCodeAt(i)]!;
      let next = edges.get(key);
      if (next === undefined) {
        next = stateCount++;
        edges.set(key, next);
        ownOutputs.push([]);
      }
      state = next;
    }
    ownOutputs[state]!.push(id);
  });

  // Children lists for the breadth-first pass.
  const children: Array<Array<[number, number]>> = Array.from({ length: stateCount }, () => []);
  for (const [key, child] of edges) {
    const parent = Math.floor(key / alphabetSize);
    children[parent]!.push([key - parent * alphabetSize, child]);
  }

  const isDense = stateCount * alphabetSize <= maxTableEntries;
  const delta = isDense ? new Int32Array(stateCount * alphabetSize) : undefined;
  const fail = new Int32Array(stateCount);
  const outLink = new Int32Array(stateCount).fill(-1);

  const sparseStep = (from: number, cls: number): number => {
    let state = from;
    for (;;) {
      const next = edges.get(state * alphabetSize + cls);
      if (next !== undefined) return next;
      if (state === 0) return 0;
      state = fail[state]!;
    }
  };

  const queue: number[] = [0];
  for (let head = 0; head < queue.length; head++) {
    const state = queue[head]!;
    if (delta !== undefined && state !== 0) {
      // Row starts as the failure state's row; children overwrite below.
      const failRow = fail[state]! * alphabetSize;
      delta.copyWithin(state * alphabetSize, failRow, failRow + alphabetSize);
    }
    for (const [cls, child] of children[state]!) {
      if (state === 0) {
        fail[child] = 0;
      } else if (delta !== undefined) {
        fail[child] = delta[fail[state]! * alphabetSize + cls]!;
      } else {
        fail[child] = sparseStep(fail[state]!, cls);
      }
      if (delta !== undefined) delta[state * alphabetSize + cls] = child;
      const f = fail[child];
      outLink[child] = ownOutputs[f]!.length > 0 ? f : outLink[f]!;
      queue.push(child);
    }
  }

  // Outputs in CSR form.
  const outputStart = new Int32Array(stateCount + 1);
  const outputIds = new Int32Array(entries.length);
  const isTerminal = new Uint8Array(stateCount);
  let cursor = 0;
  for (let state = 0; state < stateCount; state++) {
    outputStart[state] = cursor;
    for (const id of ownOutputs[state]!) outputIds[cursor++] = id;
    isTerminal[state] = ownOutputs[state]!.length > 0 || outLink[state] !== -1 ? 1 : 0;
  }
  outputStart[stateCount] = cursor;

  // The hot loop works on "rows" (state * alphabetSize, saving a multiply per character) and a
  // transition value is the next row, bitwise-negated (so negative) when the next state reports hits.
  const encode = (state: number): number =>
    isTerminal[state] === 1 ? ~(state * alphabetSize) : state * alphabetSize;
  let rows: Int32Array | undefined;
  if (delta !== undefined) {
    rows = new Int32Array(delta.length);
    for (let i = 0; i < delta.length; i++) rows[i] = encode(delta[i]!);
  }
  const sparseRowStep = (row: number, cls: number): number =>
    encode(sparseStep(row / alphabetSize, cls));

  return new AhoCorasickMatcher({
    entries,
    classOf,
    alphabetSize,
    rows,
    sparseRowStep,
    outLink,
    outputStart,
    outputIds,
  });
}

interface Automaton {
  readonly entries: readonly Entry[];
  /** Normalized code unit -> alphabet class (0: used by no keyword). */
  readonly classOf: Uint16Array;
  readonly alphabetSize: number;
  /** Dense transitions on encoded rows (see `encode`), or undefined to use `sparseRowStep`. */
  readonly rows: Int32Array | undefined;
  readonly sparseRowStep: (row: number, cls: number) => number;
  readonly outLink: Int32Array;
  readonly outputStart: Int32Array;
  readonly outputIds: Int32Array;
}

// Sentinels in `unitClass`, above any alphabet class (at most 0xfffd classes exist).
const CLASS_UNKNOWN = 0xffff;
/** Anything but a one-to-one BMP fold: surrogates, variation selectors, expansions, unsafe. */
const CLASS_SLOW = 0xfffe;
const FIRST_SENTINEL = 0xfffe;

class AhoCorasickMatcher implements KeywordMatcher {
  readonly size: number;
  readonly #a: Automaton;
  /**
   * Raw code unit of a message -> alphabet class of its fold, or a sentinel. Filled lazily from the
   * shared fold table so the hot loop does one lookup per character.
   */
  readonly #unitClass: Uint16Array;
  /** `seenAt[id] === generation` marks a keyword already reported for the current message. */
  readonly #seenAt: Uint32Array;
  /** Tie-breaker for hits at the same index; one entry per Keyword object (duplicates are dropped). */
  readonly #orderOf: ReadonlyMap<Keyword, number>;
  #generation = 0;

  // Scratch state of the scan in progress (match() is synchronous, so one set per matcher is enough).
  /** The text being scanned: the original message, or its normalization when #isScanNormalized. */
  #scanText = '';
  #isScanNormalized = false;
  /**
   * Fast path: from normalized index #alignedFrom on, every character folded one unit to one unit, so
   * original index = normalized index + #offset there.
   */
  #alignedFrom = 0;
  #offset = 0;
  /** Fast path: normalizeText(#scanText), computed only if a word check needs it. */
  #scanNormalized: string | undefined;

  constructor(automaton: Automaton) {
    this.#a = automaton;
    this.size = automaton.entries.length;
    this.#seenAt = new Uint32Array(automaton.entries.length);
    this.#orderOf = new Map(automaton.entries.map((entry) => [entry.keyword, entry.order]));
    this.#unitClass = new Uint16Array(0x10000).fill(CLASS_UNKNOWN);
    for (let c = 0; c < 128; c++) this.#fillUnitClass(c);
  }

  match(text: string): KeywordHit[] {
    if (this.size === 0) return [];
    const hits: KeywordHit[] = [];
    const isDone = this.#matchFolding(text, hits);
    const result = isDone ? hits : this.#matchNormalized(normalizeText(text));
    this.#scanText = '';
    this.#scanNormalized = undefined;
    if (result.length > 1) sortHits(result, this.#orderOf);
    return result;
  }

  #fillUnitClass(unit: number): number {
    const fold = unit >= 0xd800 && unit <= 0xdfff ? UNSAFE : foldOf(unit);
    const cls = fold >= 0 ? this.#a.classOf[fold]! : CLASS_SLOW;
    this.#unitClass[unit] = cls;
    return cls;
  }

  #nextGeneration(): number {
    if (this.#generation === 0xffffffff) {
      this.#seenAt.fill(0);
      this.#generation = 0;
    }
    return ++this.#generation;
  }

  /**
   * Runs the automaton over `text`, folding as it goes. Returns false as soon as a character needs
   * context-dependent normalization; `hits` is then garbage.
   *
   * The dense and sparse loops are written out twice on purpose: a per-character "which table?" test
   * costs about 10 % on the hot path.
   */
  #matchFolding(text: string, hits: KeywordHit[]): boolean {
    const { rows, sparseRowStep, alphabetSize } = this.#a;
    const unitClass = this.#unitClass;
    const generation = this.#nextGeneration();
    this.#scanText = text;
    this.#isScanNormalized = false;
    this.#alignedFrom = 0;
    this.#offset = 0;
    this.#scanNormalized = undefined;
    const n = text.length;
    let row = 0;
    let end = 0; // index in the normalized text just after the last unit fed
    if (rows !== undefined) {
      for (let i = 0; i < n; i++) {
        let cls = unitClass[text.charCodeAt(i)]!;
        if (cls >= FIRST_SENTINEL) {
          if (cls === CLASS_UNKNOWN) cls = this.#fillUnitClass(text.charCodeAt(i));
          if (cls === CLASS_SLOW) {
            const units = this.#feedSlowCharacter(i, row, end, generation, hits);
            if (units === 0) return false;
            row = this.#slowRow;
            end = this.#slowEnd;
            i += units - 1;
            continue;
          }
        }
        const v = rows[row + cls]!;
        end++;
        if (v >= 0) {
          row = v;
        } else {
          row = ~v;
          this.#collect(row / alphabetSize, end, generation, hits);
        }
      }
    } else {
      for (let i = 0; i < n; i++) {
        let cls = unitClass[text.charCodeAt(i)]!;
        if (cls >= FIRST_SENTINEL) {
          if (cls === CLASS_UNKNOWN) cls = this.#fillUnitClass(text.charCodeAt(i));
          if (cls === CLASS_SLOW) {
            const units = this.#feedSlowCharacter(i, row, end, generation, hits);
            if (units === 0) return false;
            row = this.#slowRow;
            end = this.#slowEnd;
            i += units - 1;
            continue;
          }
        }
        const v = sparseRowStep(row, cls);
        end++;
        if (v >= 0) {
          row = v;
        } else {
          row = ~v;
          this.#collect(row / alphabetSize, end, generation, hits);
        }
      }
    }
    return true;
  }

  // Results of #feedSlowCharacter (fields rather than an object: no allocation per character).
  #slowRow = 0;
  #slowEnd = 0;

  /**
   * The rare characters of the fast path: surrogate pairs, variation selectors, expansions. Feeds what
   * the code point at `i` folds to, leaves the new row and end in #slowRow/#slowEnd, and returns how
   * many code units it consumed, or 0 when the message needs full normalization.
   */
  #feedSlowCharacter(
    i: number,
    row: number,
    end: number,
    generation: number,
    hits: KeywordHit[],
  ): number {
    const text = this.#scanText;
    const cp = text.codePointAt(i)!;
    const fold = foldOf(cp);
    if (fold === UNSAFE) return 0;
    const units = cp > 0xffff ? 2 : 1;
    let source: string | undefined;
    let from = 0;
    let count = 1;
    if (fold === AS_IS) {
      source = text;
      from = i;
      count = 2;
    } else {
      // Hits ending inside what this character produces fall back to normalized text.
      this.#alignedFrom = Number.MAX_SAFE_INTEGER;
      if (fold === EXPAND) {
        source = expansions.get(cp)!;
        count = source.length;
      } else if (fold === SKIP) {
        count = 0;
      }
    }
    const { classOf, rows, sparseRowStep, alphabetSize } = this.#a;
    for (let k = 0; k < count; k++) {
      const cls = classOf[source === undefined ? fold : source.charCodeAt(from + k)]!;
      const v = rows ? rows[row + cls]! : sparseRowStep(row, cls);
      end++;
      if (v >= 0) {
        row = v;
      } else {
        row = ~v;
        this.#collect(row / alphabetSize, end, generation, hits);
      }
    }
    if (fold !== AS_IS) {
      this.#alignedFrom = end;
      this.#offset = i + units - end;
    }
    this.#slowRow = row;
    this.#slowEnd = end;
    return units;
  }

  #matchNormalized(text: string): KeywordHit[] {
    const { classOf, rows, sparseRowStep, alphabetSize } = this.#a;
    const generation = this.#nextGeneration();
    this.#scanText = text;
    this.#isScanNormalized = true;
    const hits: KeywordHit[] = [];
    const n = text.length;
    let row = 0;
    // Not the hot path (only messages that need full normalization): one loop for both tables.
    for (let i = 0; i < n; i++) {
      const cls = classOf[text.charCodeAt(i)]!;
      const v = rows ? rows[row + cls]! : sparseRowStep(row, cls);
      if (v >= 0) {
        row = v;
      } else {
        row = ~v;
        this.#collect(row / alphabetSize, i + 1, generation, hits);
      }
    }
    return hits;
  }

  /** Reports the keywords ending at `state`; `end` is the end index in normalized text. */
  #collect(state: number, end: number, generation: number, hits: KeywordHit[]): void {
    const { entries, outLink, outputStart, outputIds } = this.#a;
    const seenAt = this.#seenAt;
    for (let s = state; s !== -1; s = outLink[s]!) {
      for (let j = outputStart[s]!; j < outputStart[s + 1]!; j++) {
        const id = outputIds[j]!;
        if (seenAt[id] === generation) continue;
        const entry = entries[id]!;
        if ((entry.checkStart || entry.checkEnd) && !this.#isWhole(entry, end - entry.length, end)) {
          continue;
        }
        seenAt[id] = generation;
        hits.push({ keyword: entry.keyword, index: end - entry.length });
      }
    }
  }

  /** Word-mode boundary check for a candidate at [start, end) of the normalized text. */
  #isWhole(entry: Entry, start: number, end: number): boolean {
    if (this.#isScanNormalized) return isWholeIn(this.#scanText, start, end, entry);
    if (start > this.#alignedFrom || (start === 0 && this.#alignedFrom === 0)) {
      // The candidate and the character before it map one-to-one onto the original message: look at
      // the neighbours' folds there.
      const text = this.#scanText;
      const originalEnd = end + this.#offset;
      const before = foldedOneToOne(codePointBefore(text, start + this.#offset));
      const after = foldedOneToOne(originalEnd < text.length ? text.codePointAt(originalEnd)! : -1);
      if (before !== undefined && after !== undefined) {
        return !(
          (entry.checkStart && isWordCodePoint(before)) ||
          (entry.checkEnd && isWordCodePoint(after))
        );
      }
    }
    // If the whole message turns out foldable character by character, its normalization is the
    // concatenation of those folds, so these indices are right; if not, the scan gives up anyway.
    this.#scanNormalized ??= normalizeText(this.#scanText);
    return isWholeIn(this.#scanNormalized, start, end, entry);
  }
}

function sortHits(hits: KeywordHit[], orderOf: ReadonlyMap<Keyword, number>): void {
  hits.sort((a, b) => a.index - b.index || orderOf.get(a.keyword)! - orderOf.get(b.keyword)!);
}

function isWholeIn(normalized: string, start: number, end: number, entry: Entry): boolean {
  if (entry.checkStart && isWordCodePoint(codePointBefore(normalized, start))) return false;
  if (
    entry.checkEnd &&
    isWordCodePoint(end < normalized.length ? normalized.codePointAt(end)! : -1)
  ) {
    return false;
  }
  return true;
}
