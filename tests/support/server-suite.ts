import { describe, it } from 'vitest';

/**
 * `describe` for suites that need a real part the machine may lack (OBS, redis-server, postgres,
 * systemd-analyze). `missing` says what is missing (undefined: all there). Missing on a developer's
 * machine: a loud warning and a skip. Missing where CI, REQUIRE_OBS or REQUIRE_SERVERS is set (.ci/run
 * sets them): a failing test, because a skipped suite in CI hides a broken setup.
 */
export function describeRequiring(name: string, missing: string | undefined, install: string, fn: () => void): void {
  if (missing === undefined) {
    describe(name, fn);
    return;
  }
  const required = ['CI', 'REQUIRE_OBS', 'REQUIRE_SERVERS'].some((key) => isSet(process.env[key]));
  if (required) {
    describe(name, () => {
      it('needs the real part (CI / REQUIRE_OBS / REQUIRE_SERVERS is set, so a skip counts as a failure)', () => {
        throw new Error(`Cannot run "${name}": ${missing}. Install with \`${install}\`.`);
      });
    });
    return;
  }
  const bar = '!'.repeat(78);
  console.warn(`\n${bar}\n!! SKIPPING "${name}": ${missing}\n!! Install: ${install}\n!! Set REQUIRE_OBS=1 or REQUIRE_SERVERS=1 to make this a failure.\n${bar}\n`);
  describe.skip(name, fn);
}

function isSet(value: string | undefined): boolean {
  return value !== undefined && !['', '0', 'false', 'no'].includes(value.trim().toLowerCase());
}
