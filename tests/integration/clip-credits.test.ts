import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, startWithStandInObs, type StandInObsHarness } from '../support/bot-harness.js';

describe('credits for chatters who call a moment after its alert went out', () => {
  let h: StandInObsHarness;

  beforeAll(async () => {
    // Coalesce like production: for the buffer's length (the stand-in says 5 s).
    h = await startWithStandInObs({
      tuning: { coalesceWindowMs: 5_000 },
      liveStreams: ['credit.user'],
      keywords: ['clip it', { word: 'pog', match: 'word' }],
    });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('updates the alert to list late callers instead of clipping the same moment again', async () => {
    h.tiktok.sendChat('credit.user', { handle: 'early.bird', text: 'clip it!' });
    await h.discord.waitForChannelMessage((m) => m.files.some((f) => f.name.startsWith('early.bird_')), 10_000);
    // One frame, as TikTok batches chats: the library unzips each frame asynchronously, so chats sent in
    // two frames may reach the bot in either order.
    h.tiktok.sendChats('credit.user', [
      { handle: 'late.one', text: 'CLIP IT' },
      { handle: 'late.two', text: 'that was POG' },
    ]);
    await waitFor(() => h.discord.channelMessageEdits.some((m) => JSON.stringify(m.embeds).includes('late.two')), 10_000, () => 'the alert to be updated');
    expect(h.obs.saves).toBe(1);
    const edited = JSON.stringify(h.discord.channelMessageEdits.at(-1)!.embeds);
    for (const credit of ['early.bird', 'late.one', 'late.two', 'clip it', 'pog']) expect(edited).toContain(credit);
    const clips = await h.command({ command: 'clips' });
    expect(clips.content).toContain('early.bird, late.one, late.two');
  });
});
