import type { TriggerCounts } from '../review/review-records.js';
import type { ReviewService } from '../review/review-service.js';

export type ReviewCounts = Readonly<Record<string, TriggerCounts>>;

/** A server's stored review counts, or undefined when the store cannot say (the list then claims nothing). */
export async function readReviewCounts(review: ReviewService | undefined, guildId: string): Promise<ReviewCounts | undefined> {
  return review?.counts(guildId).catch(() => undefined);
}

/**
 * How one trigger did on the alert cards (`keyword:{word}`, `gift`, `hype`; see review-records.ts), the same
 * words in `/keyword list` and `/trigger list`: moderators see which triggers are noise.
 */
export function reviewTally(counts: ReviewCounts | undefined, key: string): string {
  if (!counts) return '';
  const c = counts[key];
  return c ? ` — fired ${c.fired}, kept ${c.kept}, false positive ${c.falsePositive}` : ' — fired 0';
}
