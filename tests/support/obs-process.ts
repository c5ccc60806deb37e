/**
 * Starts a REAL OBS Studio, headless under its own Xvfb, for integration tests.
 *
 * Every instance gets its own temporary HOME / XDG_CONFIG_HOME (so it never touches a developer's OBS
 * settings), its own X display (Xvfb picks a free one through `-displayfd`, so parallel test workers do
 * not collide), its own obs-websocket port (found by binding port 0) and password, a tiny profile
 * (320x180, 30 fps, x264 keyint=30 tune=zerolatency, replay buffer on, 5 s) and one scene that loops a
 * test clip made with ffmpeg's lavfi `testsrc` + `sine`. The facts these settings rest on (which ini keys
 * obs-websocket 5.1 reads, why keyint=30, start-up time) are in the team's OBS notes.
 *
 * `describeWithObs` wraps `describe`: when obs/Xvfb/ffmpeg are missing it skips loudly on a developer's
 * machine and FAILS when `CI` or `REQUIRE_OBS` is set, because a skipped suite in CI hides a broken setup.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { describeRequiring } from './server-suite.js';

export interface StartObsOptions {
  /** obs-websocket password; a random one by default. */
  readonly password?: string;
  /** Pass `--startreplaybuffer`; default true. Set false to test "buffer was not running". */
  readonly shouldStartReplayBuffer?: boolean;
  /** Replay buffer length in seconds; default 5. */
  readonly replayBufferSeconds?: number;
  /** How long to wait for the websocket to accept connections; default 30 s. */
  readonly startTimeoutMs?: number;
  /** Keep the temporary folder after stop() (to look at logs or clips); default false. */
  readonly shouldKeepFiles?: boolean;
}

export interface ObsInstance {
  /** `ws://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly password: string;
  /** Where OBS writes replays (the profile's FilePath). */
  readonly recordingDir: string;
  /** The temporary folder holding HOME, config, the test clip and recordings. */
  readonly rootDir: string;
  /** Pid of the current OBS process (changes after restart()). */
  readonly pid: number;
  /** How long the last start took until the websocket accepted a TCP connection. */
  readonly startupMs: number;
  /** Whether the current OBS process is still running. */
  readonly isRunning: boolean;
  /** OBS's stdout/stderr so far plus its newest log file: attach it to failures. */
  log(): string;
  /** Graceful: SIGINT to OBS (it saves and quits; clients see ExitStarted then close 1001), wait, then
   * SIGKILL whatever is left; stops Xvfb; removes the temporary folder. Safe to call twice. */
  stop(): Promise<void>;
  /** SIGKILL OBS only (clients see close 1006), like a crash. Xvfb stays for restart(). */
  kill(): Promise<void>;
  /** Starts OBS again with the same port, password and config (stopping it gracefully first if it runs);
   * resolves when the websocket accepts connections again. */
  restart(): Promise<void>;
}

export interface ObsAvailability {
  readonly isAvailable: boolean;
  /** Executables that were not found on PATH. */
  readonly missing: readonly string[];
}

const DEFAULTS = {
  shouldStartReplayBuffer: true,
  replayBufferSeconds: 5,
  startTimeoutMs: 30_000,
  shouldKeepFiles: false,
  stopTimeoutMs: 10_000,
  profile: 'Test',
  collection: 'Test',
  clipSeconds: 4,
} as const;

const REQUIRED_EXECUTABLES = ['obs', 'Xvfb', 'ffmpeg', 'ffprobe'] as const;

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function obsAvailability(): ObsAvailability {
  const missing = REQUIRED_EXECUTABLES.filter((name) => findOnPath(name) === undefined);
  return { isAvailable: missing.length === 0, missing };
}

/**
 * `describe` for suites that need a real OBS: a loud skip locally when obs, Xvfb, ffmpeg or ffprobe is
 * missing, a failing test in CI (see describeRequiring).
 */
export function describeWithObs(name: string, fn: () => void): void {
  const { isAvailable, missing } = obsAvailability();
  describeRequiring(
    name,
    isAvailable ? undefined : `real OBS tests need obs, Xvfb, ffmpeg, ffprobe; missing on PATH: ${missing.join(', ')}`,
    'apt-get install -y --no-install-recommends obs-studio xvfb libgl1-mesa-dri ffmpeg',
    fn,
  );
}

/** A free TCP port: bind port 0, read it, release it. OBS listens on all interfaces, so probe those. */
export async function findFreePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '0.0.0.0');
  await once(server, 'listening');
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not find a free port');
  return address.port;
}

function run(command: string, args: readonly string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stderr}`);
  }
}

function globalIni(port: number, password: string): string {
  return `[General]
FirstRun=true
LastVersion=486539266
EnableAutoUpdates=false
# Without this, quitting with the replay buffer active opens an "are you sure" dialog and SIGINT hangs.
ConfirmOnExit=false

[BasicWindow]
PreviewEnabled=false
SysTrayEnabled=false
ShowTransitions=false

[Basic]
Profile=${DEFAULTS.profile}
ProfileDir=${DEFAULTS.profile}
SceneCollection=${DEFAULTS.collection}
SceneCollectionFile=${DEFAULTS.collection}

[OBSWebSocket]
FirstLoad=false
ServerEnabled=true
ServerPort=${port}
AlertsEnabled=false
AuthRequired=true
ServerPassword=${password}
`;
}

function profileIni(recordingDir: string, replayBufferSeconds: number): string {
  return `[General]
Name=${DEFAULTS.profile}

[Video]
BaseCX=320
BaseCY=180
OutputCX=320
OutputCY=180
FPSType=0
FPSCommon=30

[Audio]
SampleRate=48000
ChannelSetup=Stereo

[Output]
Mode=Simple

[SimpleOutput]
FilePath=${recordingDir}
RecFormat=mp4
RecQuality=Stream
StreamEncoder=x264
VBitrate=500
ABitrate=128
UseAdvanced=true
Preset=veryfast
x264Settings=keyint=30 tune=zerolatency
RecRB=true
RecRBTime=${replayBufferSeconds}
RecRBSize=256
`;
}

function sceneCollection(clipPath: string): string {
  return JSON.stringify(
    {
      name: DEFAULTS.collection,
      current_scene: 'Scene',
      current_program_scene: 'Scene',
      scene_order: [{ name: 'Scene' }],
      sources: [
        {
          id: 'scene',
          versioned_id: 'scene',
          name: 'Scene',
          enabled: true,
          mixers: 0,
          settings: {
            id_counter: 1,
            items: [
              {
                name: 'Clip',
                id: 1,
                visible: true,
                locked: false,
                pos: { x: 0, y: 0 },
                scale: { x: 1, y: 1 },
                rot: 0,
                align: 5,
                bounds_type: 0,
              },
            ],
          },
        },
        {
          id: 'ffmpeg_source',
          versioned_id: 'ffmpeg_source',
          name: 'Clip',
          enabled: true,
          muted: false,
          volume: 1,
          // All six audio tracks: without "mixers" the source would feed no track and clips are silent.
          mixers: 255,
          settings: { local_file: clipPath, is_local_file: true, looping: true, restart_on_activate: false },
        },
      ],
      transitions: [],
      current_transition: 'Cut',
      transition_duration: 0,
    },
    null,
    2,
  );
}

/** Resolves when something accepts TCP on the port (obs-websocket listens once OBS finished loading). */
async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

async function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (!isAlive(child)) return true;
  const exited = once(child, 'exit').then(() => true);
  const timedOut = sleep(ms, false, { ref: false });
  return Promise.race([exited, timedOut]);
}

async function killHard(child: ChildProcess): Promise<void> {
  if (!isAlive(child)) return;
  child.kill('SIGKILL');
  await waitForExit(child, 5_000);
}

export async function startObs(options: StartObsOptions = {}): Promise<ObsInstance> {
  const settings = { ...DEFAULTS, ...options };
  const password = options.password ?? randomBytes(12).toString('hex');
  const rootDir = await mkdtemp(join(tmpdir(), 'obs-test-'));
  const homeDir = join(rootDir, 'home');
  const configDir = join(rootDir, 'config');
  const obsConfigDir = join(configDir, 'obs-studio');
  const recordingDir = join(rootDir, 'recordings');
  const clipPath = join(rootDir, 'testsrc.mp4');

  let xvfb: ChildProcess | undefined;
  let obs: ChildProcess | undefined;
  let output = '';
  let startupMs = 0;
  let isStopped = false;

  const append = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    // Keep memory bounded for long runs; the tail is what explains a failure.
    if (output.length > 200_000) output = output.slice(-100_000);
  };

  const log = (): string => {
    let newestLog = '';
    const logsDir = join(obsConfigDir, 'logs');
    try {
      const files = readdirSync(logsDir).sort();
      const newest = files.at(-1);
      if (newest !== undefined) newestLog = readFileSync(join(logsDir, newest), 'utf8');
    } catch {
      newestLog = '(no OBS log file yet)';
    }
    return `--- OBS stdout/stderr ---\n${output.slice(-20_000)}\n--- OBS log file ---\n${newestLog.slice(-20_000)}`;
  };

  // If the test process dies without stop(), do not leave OBS and Xvfb behind.
  const onProcessExit = (): void => {
    if (obs !== undefined && isAlive(obs)) obs.kill('SIGKILL');
    if (xvfb !== undefined && isAlive(xvfb)) xvfb.kill('SIGKILL');
  };
  process.once('exit', onProcessExit);

  const port = await findFreePort();
  let display = '';

  const startXvfb = async (): Promise<void> => {
    // -displayfd makes Xvfb pick a free display number itself and print it when ready: no races between
    // parallel workers and no polling for the X socket.
    const child = spawn('Xvfb', ['-displayfd', '1', '-screen', '0', '640x480x24', '-nolisten', 'tcp'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    xvfb = child;
    child.stderr?.on('data', append);
    let printed = '';
    const ready = new Promise<string>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        printed += chunk.toString('utf8');
        if (printed.includes('\n')) resolve(printed.trim());
      });
      child.once('exit', (code, signal) => reject(new Error(`Xvfb exited early (${code ?? signal})`)));
      child.once('error', reject);
    });
    const timer = sleep(10_000, 'timeout' as const, { ref: false });
    const result = await Promise.race([ready, timer]);
    if (result === 'timeout') throw new Error('Xvfb did not report a display within 10 s');
    display = `:${result}`;
  };

  const launchObs = async (): Promise<void> => {
    const args = ['--multi', '--disable-updater', '--disable-missing-files-check'];
    if (settings.shouldStartReplayBuffer) args.push('--startreplaybuffer');
    const began = Date.now();
    const child = spawn('obs', args, {
      cwd: rootDir,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: homeDir,
        XDG_CONFIG_HOME: configDir,
        XDG_RUNTIME_DIR: join(rootDir, 'runtime'),
        DISPLAY: display,
        LIBGL_ALWAYS_SOFTWARE: '1',
        LANG: 'C.UTF-8',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    obs = child;
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    const deadline = began + settings.startTimeoutMs;
    while (Date.now() < deadline) {
      if (!isAlive(child)) {
        throw new Error(`OBS exited during start-up (${child.exitCode ?? child.signalCode})\n${log()}`);
      }
      if (await canConnect(port)) {
        startupMs = Date.now() - began;
        return;
      }
      await sleep(100);
    }
    await killHard(child);
    throw new Error(`OBS websocket did not accept connections on ${port} within ${settings.startTimeoutMs} ms\n${log()}`);
  };

  const stopObs = async (): Promise<void> => {
    const child = obs;
    if (child === undefined || !isAlive(child)) return;
    child.kill('SIGINT');
    if (!(await waitForExit(child, settings.stopTimeoutMs))) await killHard(child);
  };

  const stop = async (): Promise<void> => {
    if (isStopped) return;
    isStopped = true;
    await stopObs();
    if (xvfb !== undefined && isAlive(xvfb)) {
      xvfb.kill('SIGTERM');
      if (!(await waitForExit(xvfb, 5_000))) await killHard(xvfb);
    }
    process.removeListener('exit', onProcessExit);
    if (!settings.shouldKeepFiles) await rm(rootDir, { recursive: true, force: true });
  };

  try {
    await mkdir(homeDir, { recursive: true });
    await mkdir(join(rootDir, 'runtime'), { recursive: true, mode: 0o700 });
    await mkdir(join(obsConfigDir, 'basic', 'profiles', DEFAULTS.profile), { recursive: true });
    await mkdir(join(obsConfigDir, 'basic', 'scenes'), { recursive: true });
    await mkdir(recordingDir, { recursive: true });
    run('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', `testsrc=size=320x180:rate=30:duration=${DEFAULTS.clipSeconds}`,
      '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${DEFAULTS.clipSeconds}`,
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '30',
      '-c:a', 'aac', '-shortest', clipPath,
    ]);
    await writeFile(join(obsConfigDir, 'global.ini'), globalIni(port, password));
    await writeFile(
      join(obsConfigDir, 'basic', 'profiles', DEFAULTS.profile, 'basic.ini'),
      profileIni(recordingDir, settings.replayBufferSeconds),
    );
    await writeFile(join(obsConfigDir, 'basic', 'scenes', `${DEFAULTS.collection}.json`), sceneCollection(clipPath));
    await startXvfb();
    await launchObs();
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    password,
    recordingDir,
    rootDir,
    get pid() {
      return obs?.pid ?? -1;
    },
    get startupMs() {
      return startupMs;
    },
    get isRunning() {
      return obs !== undefined && isAlive(obs);
    },
    log,
    stop,
    kill: async () => {
      if (obs !== undefined) await killHard(obs);
    },
    restart: async () => {
      if (isStopped) throw new Error('restart() after stop()');
      await stopObs();
      await launchObs();
    },
  };
}
