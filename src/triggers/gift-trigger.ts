import type { GiftEvent } from '../monitor/live-connection.js';
import { TRIGGER_DEFAULTS } from './defaults.js';

/** One gift as it counts toward a moment: a single gift or a finished streak at its total. */
export interface CountedGift {
  readonly sender: string;
  readonly giftName: string;
  readonly count: number;
  readonly diamonds: number;
  readonly atMs: number;
}

/** Gifts that reached a guild's threshold together (one, or several small ones within 10 s). */
export interface GiftMoment {
  readonly gifts: readonly CountedGift[];
  readonly totalDiamonds: number;
  /** Who gave the most of it: the file is named after them. */
  readonly topSender: string;
}

/** A gift's worth once it is final; undefined while a streak is still running (it counts at its end). */
export function countGift(gift: GiftEvent): CountedGift | undefined {
  if (!gift.isFinal) return undefined;
  return {
    sender: gift.sender,
    giftName: gift.giftName,
    count: gift.repeatCount,
    diamonds: gift.diamondCount * gift.repeatCount,
    atMs: gift.receivedAt.getTime(),
  };
}

/**
 * One guild's gift trigger on one stream: fires when a gift (a streak at its end) is worth at least
 * `minDiamonds`, or when smaller gifts within TRIGGER_DEFAULTS.gift.sumWindowMs add up to it. What fired is
 * forgotten, so the next moment starts from zero. Gifts are rare next to chats: plain arrays are fine.
 */
export class GiftTrigger {
  private pending: CountedGift[] = [];

  add(gift: CountedGift, minDiamonds: number): GiftMoment | undefined {
    if (minDiamonds <= 0 || gift.diamonds <= 0) return undefined;
    if (gift.diamonds >= minDiamonds) return momentOf([gift]);
    const since = gift.atMs - TRIGGER_DEFAULTS.gift.sumWindowMs;
    this.pending = this.pending.filter((g) => g.atMs >= since);
    this.pending.push(gift);
    const total = this.pending.reduce((sum, g) => sum + g.diamonds, 0);
    if (total < minDiamonds) return undefined;
    const moment = momentOf(this.pending);
    this.pending = [];
    return moment;
  }
}

function momentOf(gifts: readonly CountedGift[]): GiftMoment {
  const bySender = new Map<string, number>();
  for (const g of gifts) bySender.set(g.sender, (bySender.get(g.sender) ?? 0) + g.diamonds);
  let topSender = gifts[0]!.sender;
  for (const [sender, diamonds] of bySender) if (diamonds > (bySender.get(topSender) ?? 0)) topSender = sender;
  return { gifts, totalDiamonds: gifts.reduce((sum, g) => sum + g.diamonds, 0), topSender };
}

/** "alice sent Rose x5 (5 💎), bob sent Lion (500 💎)": who sent what, for the alert. */
export function describeGifts(moment: GiftMoment): string {
  const parts = moment.gifts.map(
    (g) => `@${g.sender} sent ${g.giftName}${g.count > 1 ? ` x${g.count}` : ''} (${g.diamonds} 💎)`,
  );
  const total = moment.gifts.length > 1 ? ` — ${moment.totalDiamonds} 💎 in all` : '';
  return `${parts.join(', ')}${total}`;
}
