import { describe, expect, it } from 'vitest';
import { healthReport, type HealthSource } from '../../src/http/health-source.js';
import { BotMetrics } from '../../src/http/metrics.js';

function source(states: Record<string, string>, overrides: Partial<HealthSource> = {}): HealthSource {
  return {
    isDiscordReady: () => true,
    obsStatus: () => ({ connection: 'connected', isBufferActive: true, since: new Date(0), lastError: undefined }),
    streamStates: () => new Map(Object.entries(states)),
    outboxSize: () => 3,
    ...overrides,
  };
}

describe('BotMetrics', () => {
  it('reads joins queued, streams by state and the outbox from the source at each scrape', async () => {
    const states: Record<string, string> = { a: 'queued', b: 'queued', c: 'live' };
    const metrics = new BotMetrics(source(states));
    let text = await metrics.text();
    expect(text).toMatch(/^clipbot_joins_queued 2$/m);
    expect(text).toMatch(/^clipbot_streams\{state="queued"\} 2$/m);
    expect(text).toMatch(/^clipbot_outbox_depth 3$/m);
    states.a = 'live';
    states.b = 'live';
    text = await metrics.text();
    expect(text).toMatch(/^clipbot_joins_queued 0$/m);
    expect(text).toMatch(/^clipbot_streams\{state="live"\} 3$/m);
    expect(text).not.toMatch(/^clipbot_streams\{state="queued"\}/m);
  });

  it('counts triggers by outcome, clips and failures from event kinds, and nothing from the rest', async () => {
    const metrics = new BotMetrics(source({}));
    for (const kind of ['trigger', 'merged', 'merged', 'cooldown', 'save', 'failure', 'config', 'state', 'obs', 'posted'] as const) metrics.countEvent(kind);
    const text = await metrics.text();
    expect(text).toMatch(/^clipbot_triggers_total\{outcome="clipped"\} 1$/m);
    expect(text).toMatch(/^clipbot_triggers_total\{outcome="merged"\} 2$/m);
    expect(text).toMatch(/^clipbot_triggers_total\{outcome="cooldown"\} 1$/m);
    expect(text).toMatch(/^clipbot_clips_total 1$/m);
    expect(text).toMatch(/^clipbot_failures_total 1$/m);
  });
});

describe('healthReport', () => {
  it('is unhealthy while Discord is not ready or OBS is not connected, and says which', () => {
    expect(healthReport(source({})).isHealthy).toBe(true);
    expect(healthReport(source({}, { isDiscordReady: () => false }))).toMatchObject({ isHealthy: false, discord: { ready: false } });
    const down = healthReport(source({}, { obsStatus: () => ({ connection: 'connecting', isBufferActive: undefined, since: new Date(0), lastError: 'ECONNREFUSED' }) }));
    expect(down).toMatchObject({ isHealthy: false, obs: { connection: 'connecting', bufferActive: null, lastError: 'ECONNREFUSED' } });
  });
});
