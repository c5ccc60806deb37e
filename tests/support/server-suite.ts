import { describe, it } from 'vitest';

/**
 * `describe` for suites that need a database server binary (redis-server, postgres). Missing binary: a
 * loud warning and a skip on a developer's machine, a failing test when CI, REQUIRE_OBS or
 * REQUIRE_SERVERS is set (.ci/run sets them), because a skipped suite in CI hides a broken setup.
 */
export function describeWithServer(name: string, missing: string | undefined, install: string, fn: () => void): void {
  if (missing === undefined) {
    describe(name, fn);
    return;
  }
  const required = ['CI', 'REQUIRE_OBS', 'REQUIRE_SERVERS'].some((key) => isSet(process.env[key]));
  if (required) {
    describe(name, () => {
      it('needs a real server (CI / REQUIRE_OBS / REQUIRE_SERVERS is set, so a skip counts as a failure)', () => {
        throw new Error(`Cannot run "${name}": ${missing}. Install with \`${install}\`.`);
      });
    });
    return;
  }
  const bar = '!'.repeat(78);
  console.warn(`\n${bar}\n!! SKIPPING "${name}": ${missing}\n!! Install: ${install}\n!! Set REQUIRE_SERVERS=1 to make this a failure.\n${bar}\n`);
  describe.skip(name, fn);
}

function isSet(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value !== 'false';
}
