/**
 * The user's own Videos folder, where clips are filed by default: on Windows the folder Explorer shows
 * as "Videos", which OneDrive (or the user) may have moved off `%USERPROFILE%\Videos`; `~/Movies` on
 * macOS; `~/Videos` elsewhere. Windows keeps the real place in the registry ("User Shell Folders",
 * value "My Video", usually REG_EXPAND_SZ such as `%USERPROFILE%\OneDrive\Videos`), read with `reg query`.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

export const SHELL_FOLDERS_KEY = 'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\User Shell Folders';

export interface VideosFolderSystem {
  readonly platform: NodeJS.Platform;
  readonly home: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The output of `reg query <SHELL_FOLDERS_KEY> /v "My Video"`; undefined when it failed. Windows only. */
  readonly queryRegistry: () => string | undefined;
}

export function videosFolder(system: VideosFolderSystem = realSystem()): string {
  if (system.platform === 'darwin') return path.posix.join(system.home, 'Movies');
  if (system.platform !== 'win32') return path.posix.join(system.home, 'Videos');
  const fallback = path.win32.join(system.home, 'Videos');
  const value = myVideoValue(system.queryRegistry());
  if (value === undefined) return fallback;
  const expanded = expandWindowsVariables(value, { USERPROFILE: system.home, ...system.env });
  // An unknown variable left in the path, or a relative path: not a folder we can trust.
  if (expanded === undefined || !path.win32.isAbsolute(expanded)) return fallback;
  return path.win32.normalize(expanded);
}

/** The "My Video" data from `reg query` output, e.g. `    My Video    REG_EXPAND_SZ    %USERPROFILE%\Videos`. */
export function myVideoValue(output: string | undefined): string | undefined {
  const match = /^\s*My Video\s+REG_(?:EXPAND_)?SZ\s+(.*?)\s*$/im.exec(output ?? '');
  const value = match?.[1];
  return value === undefined || value === '' ? undefined : value;
}

/** `%NAME%` replaced from `env` (names are case-insensitive on Windows); undefined if one is unknown. */
export function expandWindowsVariables(value: string, env: Readonly<Record<string, string | undefined>>): string | undefined {
  const byName = new Map(Object.entries(env).map(([name, text]) => [name.toUpperCase(), text]));
  let isComplete = true;
  const expanded = value.replace(/%([^%]+)%/g, (whole, name: string) => {
    const text = byName.get(name.toUpperCase());
    if (text === undefined || text === '') isComplete = false;
    return text ?? whole;
  });
  return isComplete ? expanded : undefined;
}

function realSystem(): VideosFolderSystem {
  return {
    platform: process.platform,
    home: os.homedir(),
    env: process.env,
    queryRegistry: () => {
      const result = spawnSync('reg', ['query', SHELL_FOLDERS_KEY, '/v', 'My Video'], {
        encoding: 'utf8',
        timeout: 5_000,
        windowsHide: true,
      });
      return result.status === 0 ? result.stdout : undefined;
    },
  };
}
