import type { ChatMessage } from '../monitor/chat-message.js';
import type { GiftEvent } from '../monitor/live-connection.js';
import type { ClipRecord } from '../store/settings-schema.js';
import { absoluteTime, escapeMarkdown, joinLines } from '../util/markdown.js';
import { formatRate } from '../util/rate.js';
import { cleanText, truncate } from '../util/text.js';
import { REVIEW_DEFAULTS } from './defaults.js';
import type { ReviewStatus } from './review-records.js';

interface BiggestGift {
  readonly sender: string;
  readonly text: string;
  readonly diamonds: number;
}

/** What a recap needs of one live, in fixed memory whatever the chat: counters, a peak and a top few gifts. */
export interface LiveSummary {
  readonly startedAtMs: number;
  chats: number;
  bucket: number;
  bucketCount: number;
  peak: { count: number; atMs: number } | undefined;
  gifts: BiggestGift[];
}

/** Each watched live since the bot saw it go live: for the recap when it ends (`/settings recap enabled`). */
export class LiveSummaries {
  private readonly lives = new Map<string, LiveSummary>();

  started(streamer: string, atMs: number): void {
    if (!this.lives.has(streamer)) this.lives.set(streamer, { startedAtMs: atMs, chats: 0, bucket: -1, bucketCount: 0, peak: undefined, gifts: [] });
  }

  /** The live ended (or is no longer watched): its summary, forgotten here. */
  ended(streamer: string): LiveSummary | undefined {
    const summary = this.lives.get(streamer);
    this.lives.delete(streamer);
    if (summary) closeBucket(summary);
    return summary;
  }

  chat(message: ChatMessage): void {
    const live = this.lives.get(message.streamer);
    if (!live) return;
    live.chats += 1;
    const bucket = Math.floor(message.receivedAt.getTime() / REVIEW_DEFAULTS.recap.rateBucketMs);
    if (bucket !== live.bucket) {
      closeBucket(live);
      live.bucket = bucket;
      live.bucketCount = 0;
    }
    live.bucketCount += 1;
  }

  gift(gift: GiftEvent): void {
    const live = this.lives.get(gift.streamer);
    if (!live || !gift.isFinal) return;
    const diamonds = gift.diamondCount * gift.repeatCount;
    if (diamonds <= 0) return;
    const text = `${gift.giftName}${gift.repeatCount > 1 ? ` x${gift.repeatCount}` : ''}`;
    live.gifts = [...live.gifts, { sender: gift.sender, text, diamonds }]
      .sort((a, b) => b.diamonds - a.diamonds)
      .slice(0, REVIEW_DEFAULTS.recap.biggestGifts);
  }
}

function closeBucket(live: LiveSummary): void {
  if (live.bucket < 0 || live.bucketCount === 0) return;
  if (!live.peak || live.bucketCount > live.peak.count) {
    live.peak = { count: live.bucketCount, atMs: live.bucket * REVIEW_DEFAULTS.recap.rateBucketMs };
  }
}

/** A clip of the live as the recap lists it. */
export interface RecapClip {
  readonly clip: ClipRecord;
  /** A link to its alert, when it was posted. */
  readonly link?: string;
  readonly status?: ReviewStatus;
}

/** The recap message: how long the live ran, its clips, who triggered most, the biggest gifts, peak chat. */
export function recapText(input: { streamer: string; summary: LiveSummary; endedAtMs: number; clips: readonly RecapClip[] }): string {
  const { summary, clips } = input;
  const streamer = escapeMarkdown(cleanText(input.streamer));
  const lines = [`📋 **Recap: @${streamer}'s LIVE ended** after ${duration(input.endedAtMs - summary.startedAtMs)} (watched from ${absoluteTime(new Date(summary.startedAtMs))}).`];
  if (clips.length === 0) lines.push('No clips this time.');
  else {
    lines.push(`**Clips (${clips.length})**`);
    for (const { clip, link, status } of clips.slice(0, REVIEW_DEFAULTS.recap.clipsListed)) {
      const what = clip.manual ? `manual by ${cleanText(clip.triggeredBy)}` : `"${truncate(cleanText(clip.keywords.join(', ')), 60)}" by ${truncate(cleanText(clip.chatters.join(', ')), 80)}`;
      const label = escapeMarkdown(what);
      const state = status === 'kept' ? ' · ✅ kept' : status === 'discarded' ? ' · 🗑️ discarded' : status === 'false-positive' ? ' · 🚫 false positive' : '';
      lines.push(`• ${link ? `[${label}](${link})` : label} at ${absoluteTime(new Date(clip.at))}${state}`);
    }
    if (clips.length > REVIEW_DEFAULTS.recap.clipsListed) lines.push(`… and ${clips.length - REVIEW_DEFAULTS.recap.clipsListed} more (\`/clips\`)`);
  }
  const byChatter = new Map<string, number>();
  for (const { clip } of clips) {
    if (clip.manual) continue;
    for (const chatter of clip.chatters) if (chatter !== 'chat') byChatter.set(chatter, (byChatter.get(chatter) ?? 0) + 1);
  }
  const top = [...byChatter].sort((a, b) => b[1] - a[1]).slice(0, REVIEW_DEFAULTS.recap.topTriggerers);
  if (top.length > 0) lines.push(`**Triggered most:** ${top.map(([who, n]) => `@${escapeMarkdown(cleanText(who))} (${n})`).join(', ')}`);
  if (summary.gifts.length > 0) {
    lines.push(`**Biggest gifts:** ${summary.gifts.map((g) => `@${escapeMarkdown(cleanText(g.sender))} ${escapeMarkdown(cleanText(g.text))} (${g.diamonds} 💎)`).join(', ')}`);
  }
  if (summary.peak) {
    const seconds = REVIEW_DEFAULTS.recap.rateBucketMs / 1000;
    lines.push(`**Peak chat:** ${formatRate(summary.peak.count / seconds)} msgs/s at ${absoluteTime(new Date(summary.peak.atMs))} (${summary.chats} chats in all)`);
  }
  return joinLines(lines);
}

function duration(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 1) return `${Math.max(0, Math.round(ms / 1000))} s`;
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
