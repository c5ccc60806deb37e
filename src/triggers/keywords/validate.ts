/** Validation of keywords typed by members, before they are stored. */
import { UserError } from '../../util/errors.js';
import { hasVisibleCharacter } from '../../util/text.js';
import { SETTINGS_LIMITS } from '../../store/settings-schema.js';
import { normalizeText } from './normalize.js';

const KEYWORD_MAX_LENGTH = SETTINGS_LIMITS.maxKeywordLength;

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
  // Only zero-width, format or blank characters (U+200B U+200D, U+2800...) would be a keyword nobody can
  // see in /keyword list, and one that fires on text that looks empty.
  if (!hasVisibleCharacter(normalizeText(word))) {
    throw new UserError('INVALID_KEYWORD', 'A keyword needs at least one visible character.');
  }
  return word;
}
