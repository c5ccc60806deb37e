import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Trigger } from '../../src/triggers/trigger.js';
import type { GiftEvent } from '../../src/monitor/live-connection.js';
import { TriggerRouter } from '../../src/triggers/trigger-router.js';

function rig(minByGuild: Record<string, number>) {
  const fired: Trigger[] = [];
  const router = new TriggerRouter({
    policyFor: (guildId) => ({ giftMinDiamonds: minByGuild[guildId] ?? 0, hypeSensitivity: 'off', cooldownSeconds: 30 }),
    trigger: (t) => fired.push(t),
  });
  const gift = (g: Partial<GiftEvent> & Pick<GiftEvent, 'sender' | 'giftName' | 'diamondCount'>, guildIds = Object.keys(minByGuild)) =>
    router.gift(
      { streamer: 'alice', senderName: g.sender, repeatCount: 1, isFinal: true, receivedAt: new Date(), ...g },
      guildIds,
    );
  return { fired, gift };
}

describe('gift trigger', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-01-01T12:00:00Z'));
  });
  afterEach(() => vi.useRealTimers());

  it('fires once for a streak, at its end, at its total', () => {
    const { fired, gift } = rig({ g1: 50 });
    for (let count = 1; count <= 9; count += 1) {
      gift({ sender: 'bob', giftName: 'Doughnut', diamondCount: 30, repeatCount: count, isFinal: false });
      vi.advanceTimersByTime(300);
    }
    expect(fired).toHaveLength(0);
    gift({ sender: 'bob', giftName: 'Doughnut', diamondCount: 30, repeatCount: 10, isFinal: true });
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({ streamer: 'alice', chatter: 'bob', keyword: 'gift', kind: 'gift' });
    expect(fired[0]!.detail).toBe('@bob sent Doughnut x10 (300 💎)');
  });

  it('fires on a single big gift', () => {
    const { fired, gift } = rig({ g1: 1000 });
    gift({ sender: 'whale', giftName: 'Lion', diamondCount: 29_999 });
    expect(fired.map((t) => t.detail)).toEqual(['@whale sent Lion (29999 💎)']);
  });

  it('adds up smaller gifts within 10 s and credits the biggest giver', () => {
    const { fired, gift } = rig({ g1: 100 });
    gift({ sender: 'ann', giftName: 'Rose', diamondCount: 1, repeatCount: 20 });
    vi.advanceTimersByTime(4_000);
    gift({ sender: 'cat', giftName: 'Hand Heart', diamondCount: 60 });
    expect(fired).toHaveLength(0);
    vi.advanceTimersByTime(4_000);
    gift({ sender: 'ann', giftName: 'Perfume', diamondCount: 20 });
    expect(fired).toHaveLength(1);
    expect(fired[0]!.chatter).toBe('cat');
    expect(fired[0]!.detail).toBe('@ann sent Rose x20 (20 💎), @cat sent Hand Heart (60 💎), @ann sent Perfume (20 💎) — 100 💎 in all');
  });

  it('lets gifts older than 10 s drop out of the sum', () => {
    const { fired, gift } = rig({ g1: 100 });
    gift({ sender: 'ann', giftName: 'Hand Heart', diamondCount: 60 });
    vi.advanceTimersByTime(11_000);
    gift({ sender: 'cat', giftName: 'Hand Heart', diamondCount: 60 });
    expect(fired).toHaveLength(0);
  });

  it("uses each server's own threshold, and none when it is 0", () => {
    const { fired, gift } = rig({ low: 10, high: 5000, off: 0 });
    gift({ sender: 'bob', giftName: 'Rosa', diamondCount: 10 });
    expect(fired.map((t) => t.guildId)).toEqual(['low']);
  });
});
