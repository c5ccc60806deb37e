/**
 * The Aho-Corasick scan over a compiled automaton (built by `compile.ts`). The hot path folds each
 * character through the shared fold table while it runs the automaton and falls back to `normalizeText`
 * on the whole message only when a character's normalization depends on its neighbours.
 */
import { AS_IS, EXPAND, SKIP, UNSAFE, expansionOf, foldOf, foldedOneToOne } from './fold-table.js';
import { normalizeText } from './normalize.js';
import type { Keyword, KeywordHit, KeywordMatcher } from './types.js';
import { codePointBefore, isWholeIn, isWordCodePoint, type WordEdges } from './word-boundary.js';

export interface Entry extends WordEdges {
  readonly keyword: Keyword;
  /** Position in the list given to compileMatcher: tie-breaker for hits at the same index. */
  readonly order: number;
  /** Length of the normalized keyword in code units. */
  readonly length: number;
}

/** The tables `compileMatcher` builds, shared read-only by the scans of one matcher. */
export interface Automaton {
  readonly entries: readonly Entry[];
  /** Normalized code unit -> alphabet class (0: used by no keyword). */
  readonly classOf: Uint16Array;
  readonly alphabetSize: number;
  /**
   * Dense transitions on encoded rows (see `encode` in compile.ts), or undefined to use
   * `sparseRowStep`.
   */
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

export class AhoCorasickMatcher implements KeywordMatcher {
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
        source = expansionOf(cp);
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
