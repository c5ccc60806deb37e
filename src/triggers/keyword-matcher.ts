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
 *
 * This module is the public entry point; the parts live in ./keywords/, one concern each:
 * - normalize.ts: `normalizeText`, the folding both keywords and messages go through;
 * - validate.ts: `validateKeyword`, checks on keywords typed by members;
 * - word-boundary.ts: what counts as a word character for word-mode keywords;
 * - fold-table.ts: the per-code-point fold cache the fast path runs on;
 * - compile.ts: `compileMatcher`, building the automaton;
 * - aho-corasick-matcher.ts: the scan itself (fast path and normalized fallback).
 */
export type {
  CompileOptions,
  Keyword,
  KeywordHit,
  KeywordMatcher,
  KeywordMode,
} from './keywords/types.js';
export { compileMatcher } from './keywords/compile.js';
export { foldCodePoint } from './keywords/fold-table.js';
export { normalizeText } from './keywords/normalize.js';
export { validateKeyword } from './keywords/validate.js';
