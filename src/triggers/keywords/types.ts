/** The public types of keyword matching; `../keyword-matcher.ts` re-exports them. */

import type { KeywordMode } from '../../store/settings-schema.js';

/** How a keyword matches: stored with it in the guild's settings. */
export type { KeywordMode };

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
