import { describe, expect, it } from 'vitest';
import { expandWindowsVariables, myVideoValue, videosFolder, type VideosFolderSystem } from '../../src/videos-folder.js';

/** What `reg query "HKCU\...\User Shell Folders" /v "My Video"` prints on Windows. */
function regOutput(type: string, data: string): string {
  return [
    '',
    'HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\User Shell Folders',
    `    My Video    ${type}    ${data}`,
    '',
    '',
  ].join('\r\n');
}

function windows(registry: string | undefined, env: Record<string, string> = {}): VideosFolderSystem {
  return {
    platform: 'win32',
    home: 'C:\\Users\\Mia',
    env: { USERPROFILE: 'C:\\Users\\Mia', ...env },
    queryRegistry: () => registry,
  };
}

describe('videosFolder', () => {
  it('finds the Videos folder OneDrive moved, from the registry', () => {
    expect(videosFolder(windows(regOutput('REG_EXPAND_SZ', '%USERPROFILE%\\OneDrive\\Videos')))).toBe(
      'C:\\Users\\Mia\\OneDrive\\Videos',
    );
  });

  it('uses a folder the user moved to another drive', () => {
    expect(videosFolder(windows(regOutput('REG_SZ', 'D:\\Stream Clips\\Videos')))).toBe('D:\\Stream Clips\\Videos');
  });

  it('expands variables whatever their case', () => {
    expect(videosFolder(windows(regOutput('REG_EXPAND_SZ', '%OneDrive%\\Videos'), { OneDrive: 'C:\\Users\\Mia\\OneDrive - Studio' }))).toBe(
      'C:\\Users\\Mia\\OneDrive - Studio\\Videos',
    );
  });

  it('falls back to %USERPROFILE%\\Videos when reg fails, the value is missing or cannot be expanded', () => {
    expect(videosFolder(windows(undefined))).toBe('C:\\Users\\Mia\\Videos');
    expect(videosFolder(windows('\r\nERROR: The system was unable to find the specified registry key or value.\r\n'))).toBe(
      'C:\\Users\\Mia\\Videos',
    );
    expect(videosFolder(windows(regOutput('REG_EXPAND_SZ', '%NOT_SET%\\Videos')))).toBe('C:\\Users\\Mia\\Videos');
    expect(videosFolder(windows(regOutput('REG_SZ', 'Videos')))).toBe('C:\\Users\\Mia\\Videos');
  });

  it('uses ~/Movies on macOS and ~/Videos on Linux, without asking any registry', () => {
    const never = (): string => {
      throw new Error('no registry here');
    };
    expect(videosFolder({ platform: 'darwin', home: '/Users/mia', env: {}, queryRegistry: never })).toBe('/Users/mia/Movies');
    expect(videosFolder({ platform: 'linux', home: '/home/mia', env: {}, queryRegistry: never })).toBe('/home/mia/Videos');
  });
});

describe('registry parsing', () => {
  it('reads the value after its type and leaves other values alone', () => {
    const output = regOutput('REG_EXPAND_SZ', '%USERPROFILE%\\Videos') + '    My Music    REG_EXPAND_SZ    %USERPROFILE%\\Music\r\n';
    expect(myVideoValue(output)).toBe('%USERPROFILE%\\Videos');
    expect(myVideoValue('')).toBeUndefined();
  });

  it('refuses to half-expand a path', () => {
    expect(expandWindowsVariables('%A%\\%B%', { A: 'C:' })).toBeUndefined();
    expect(expandWindowsVariables('%a%\\x', { A: 'C:' })).toBe('C:\\x');
  });
});
