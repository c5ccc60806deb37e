import { describe, expect, it } from 'vitest';
import { healthReport, type HealthSource } from '../../src/http/health-source.js';

const obsDown = { connection: 'disconnected', isBufferActive: undefined, since: new Date(0), lastError: 'ECONNREFUSED' } as const;

function source(overrides: Partial<HealthSource>): HealthSource {
  return { isDiscordReady: () => true, obsStatus: () => obsDown, streamStates: () => new Map(), outboxSize: () => 0, ...overrides };
}

/** /healthz follows the captures in use: OBS down matters only to a bot that clips some stream with OBS. */
describe('health with stream capture', () => {
  it('is healthy with OBS down when no stream needs OBS', () => {
    expect(healthReport(source({ isObsNeeded: () => false }))).toMatchObject({ isHealthy: true, obs: { connection: 'disconnected', needed: false } });
  });

  it('is unhealthy with OBS down when some stream needs it, or when nothing says (as before captures)', () => {
    expect(healthReport(source({ isObsNeeded: () => true }))).toMatchObject({ isHealthy: false, obs: { needed: true } });
    expect(healthReport(source({}))).toMatchObject({ isHealthy: false, obs: { needed: true } });
  });

  it('is unhealthy without Discord whatever the captures', () => {
    expect(healthReport(source({ isObsNeeded: () => false, isDiscordReady: () => false })).isHealthy).toBe(false);
  });
});
