import { ActionRowBuilder, ButtonBuilder, ButtonStyle } from 'discord.js';
import { cleanText, truncate } from '../util/text.js';
import { escapeMarkdown } from '../util/markdown.js';
import type { CardView, ReviewAction } from './review-service.js';

/**
 * The buttons of an alert and the line above it. A button's custom_id is `review:{action}:{clipId}`: the
 * only state Discord keeps, so a press after a restart still names its clip (notes/discord.md: buttons).
 */
const PREFIX = 'review';
const ACTIONS: readonly ReviewAction[] = ['keep', 'discard', 'restore', 'false-positive', 'extend'];

export function reviewCustomId(action: ReviewAction, clipId: string): string {
  return `${PREFIX}:${action}:${clipId}`;
}

/** The action and clip of a review button, or undefined for any other custom_id. */
export function parseReviewCustomId(customId: string): { action: ReviewAction; clipId: string } | undefined {
  const [prefix, action, clipId, ...rest] = customId.split(':');
  if (prefix !== PREFIX || !clipId || rest.length > 0 || !ACTIONS.includes(action as ReviewAction)) return undefined;
  return { action: action as ReviewAction, clipId };
}

const EXTEND_LABEL: Record<CardView['extend'], string> = {
  available: 'Extend +10 s',
  done: 'Extended',
  obs: 'Extend (not for OBS clips)',
  gone: 'Extend (buffer moved on)',
  unknown: 'Extend (capture unknown)',
};

/** The action row under the alert: Keep, Discard, False positive, Extend; a discarded clip shows Restore only. */
export function cardComponents(view: CardView): Array<ActionRowBuilder<ButtonBuilder>> {
  const button = (action: ReviewAction, label: string, style: ButtonStyle, isDisabled = false) =>
    new ButtonBuilder().setCustomId(reviewCustomId(action, view.clipId)).setLabel(label).setStyle(style).setDisabled(isDisabled);
  if (view.status === 'discarded' || view.status === 'false-positive') {
    return [new ActionRowBuilder<ButtonBuilder>().addComponents(button('restore', 'Restore', ButtonStyle.Secondary))];
  }
  const isKept = view.status === 'kept';
  return [
    new ActionRowBuilder<ButtonBuilder>().addComponents(
      button('keep', isKept ? 'Kept' : 'Keep', ButtonStyle.Success, isKept),
      button('discard', 'Discard', ButtonStyle.Danger),
      button('false-positive', 'False positive', ButtonStyle.Secondary),
      button('extend', EXTEND_LABEL[view.extend], ButtonStyle.Primary, view.extend !== 'available'),
    ),
  ];
}

/** The line above the alert's embed: who did what last (empty for a fresh card). */
export function cardContent(view: CardView): string {
  const who = view.by ? `**${escapeMarkdown(cleanText(view.by))}**` : 'a moderator';
  const lines: string[] = [];
  switch (view.status) {
    case 'kept':
      lines.push(`✅ Kept by ${who}${!view.highlight ? '' : view.highlight.isPosted ? ` · posted in <#${view.highlight.channelId}>` : ` · posting to <#${view.highlight.channelId}>…`}`);
      break;
    case 'discarded':
      lines.push(`🗑️ Discarded by ${who}. The file moved to the streamer's \`discarded/\` folder; **Restore** brings it back.`);
      break;
    case 'false-positive':
      lines.push(`🚫 False positive, marked by ${who}: counted against ${escapeMarkdown(truncate(view.triggerLabel, 120))} in \`${view.countedIn}\`. The file moved to \`discarded/\`.`);
      break;
    case 'new':
      if (view.restored) lines.push(`↩️ Restored by ${who}.`);
      break;
  }
  if (view.extendedBy && view.status !== 'discarded' && view.status !== 'false-positive') {
    lines.push(`⏩ Extended by **${escapeMarkdown(cleanText(view.extendedBy))}**: 10 s more before and after (the first cut is kept beside it).`);
  }
  return lines.join('\n');
}
