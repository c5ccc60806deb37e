import path from 'node:path';
import { AttachmentBuilder, type Message, type MessageCreateOptions, type MessageEditOptions, type SendableChannels } from 'discord.js';
import type { Logger } from 'pino';
import { cardComponents, cardContent } from '../review/review-card.js';
import type { CardView } from '../review/review-service.js';
import { isAppError } from '../util/errors.js';
import { cleanMessage, errorMessage, truncate } from '../util/text.js';
import { uploadLimitForTier, whyNotAttached } from './clip-message.js';
import type { FitCache } from './fit-cache.js';
import type { OutboxEntry } from './outbox.js';

/** What the review (src/review/) says about a kept clip, for its highlight and its card. */
export interface HighlightReview {
  /** Where the kept clip is now; `posted` once its highlight went out; or why it is not to go any more. */
  highlightOf(guildId: string, clipId: string): Promise<{ readonly path: string } | 'posted' | { readonly drop: string }>;
  /** The highlight is in Discord: the card says so from now on, and Keep never posts it again. */
  highlightPosted(guildId: string, clipId: string, channelId: string, messageId: string): Promise<void>;
  /** It will not go (discarded meanwhile, the highlights channel unset): the card stops saying "posting". */
  highlightDropped(guildId: string, clipId: string): Promise<void>;
  view(guildId: string, clipId: string): Promise<CardView | undefined>;
}

type HighlightEntry = Extract<OutboxEntry, { kind: 'highlight' }>;

/**
 * Posts a kept clip to the server's highlights channel, as an outbox entry like every other post (the
 * worker's order per channel, backoff, held channels, SIGKILL). Posted once: the review's row remembers the
 * message (a retry after that posts nothing), and until it does the entry's nonce with enforce_nonce makes
 * a repeat (a retry after a lost answer, a kill mid-post) return the message Discord already made.
 */
export class HighlightPoster {
  constructor(private readonly deps: { readonly fits: FitCache; readonly review: HighlightReview; readonly log: Logger }) {}

  /** `withoutFile`: post the line alone and say why (Discord refused the file as too large). */
  async post(channel: SendableChannels, channelId: string, entry: HighlightEntry, withoutFile?: string): Promise<{ posted: true } | { drop: string }> {
    const { guildId } = entry;
    const state = await this.deps.review.highlightOf(guildId, entry.highlight.clipId);
    if (state === 'posted') return { posted: true };
    if ('drop' in state) return state;
    const message = await (channel.send(cleanMessage(await this.render(channel, entry, state.path, withoutFile))) as Promise<Message>);
    await this.deps.review.highlightPosted(guildId, entry.highlight.clipId, channelId, message.id);
    return { posted: true };
  }

  async dropped(entry: HighlightEntry): Promise<void> {
    await this.deps.review.highlightDropped(entry.guildId, entry.highlight.clipId);
  }

  /** The card's line and buttons as the review has them now, or undefined when it has no record any more. */
  async card(guildId: string, clipId: string): Promise<MessageEditOptions | undefined> {
    const view = await this.deps.review.view(guildId, clipId);
    return view && cleanMessage({ content: cardContent(view), components: cardComponents(view), allowedMentions: { parse: [] } });
  }

  private async render(channel: SendableChannels, entry: HighlightEntry, clipPath: string, withoutFile: string | undefined): Promise<MessageCreateOptions> {
    const base = { content: entry.highlight.text, nonce: entry.nonce, enforceNonce: true, allowedMentions: { parse: [] } } as const;
    const noFile = (why: string) => ({ ...base, content: truncate(`${entry.highlight.text}\n${why} It is saved at \`${clipPath}\``, 2_000) });
    if (withoutFile !== undefined) return noFile(withoutFile);
    const limit = uploadLimitForTier(('guild' in channel ? channel.guild?.premiumTier : undefined) ?? 0);
    try {
      const fitted = await this.deps.fits.fit(clipPath, limit);
      return { ...base, files: [new AttachmentBuilder(fitted.path, { name: path.basename(clipPath) })] };
    } catch (err) {
      // Stopped mid-fit (shutdown): the entry stays queued for the next start.
      if (isAppError(err, 'ABORTED')) throw err;
      this.deps.log.warn({ err: errorMessage(err), path: clipPath }, 'highlight posted without its clip');
      return noFile(whyNotAttached(err));
    }
  }
}
