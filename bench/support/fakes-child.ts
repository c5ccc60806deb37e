/**
 * The parent's side of ./fakes-process.ts: starts the local Discord and TikTok in a child process
 * (tracked and ended by its pid) and drives them over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { InteractionInput } from '../../tests/fakes/discord-server.js';

const PROCESS_FILE = fileURLToPath(new URL('./fakes-process.ts', import.meta.url));

export interface FakesReady {
  readonly type: 'ready';
  readonly discord: { readonly apiUrl: string; readonly guildId: string; readonly channel: string; readonly token: string };
  readonly tiktok: { readonly signApiUrl: string; readonly webHost: string; readonly webcastHost: string; readonly caCertificate: string | Buffer };
}

export type FakesRequest =
  | { type: 'addLiveUsers'; id: number; names: string[] }
  | { type: 'command'; id: number; input: InteractionInput; timeoutMs?: number }
  | { type: 'openSockets'; id: number; names: string[] }
  | { type: 'connectedClients'; id: number };

export type FakesReply =
  | FakesReady
  | { type: 'done'; id: number; content?: string; count?: number }
  | { type: 'failed'; id: number; message: string };

type Unnumbered<T> = T extends unknown ? Omit<T, 'id'> : never;

export interface FakesChild {
  readonly pid: number;
  readonly discord: FakesReady['discord'];
  readonly tiktok: FakesReady['tiktok'];
  addLiveUsers(names: string[]): Promise<void>;
  /** A slash command from the guild owner; resolves with the visible answer's text. */
  command(input: InteractionInput): Promise<string>;
  /** How many of these users have a push socket open (joined lives). */
  openSockets(names: string[]): Promise<number>;
  /** Bots logged in to the local Discord's gateway. */
  connectedClients(): Promise<number>;
  close(): Promise<void>;
}

export async function startFakesChild(): Promise<FakesChild> {
  const child: ChildProcess = fork(PROCESS_FILE, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map<number, { resolve: (reply: FakesReply) => void; reject: (err: Error) => void }>();
  let nextId = 0;
  const ready = new Promise<FakesReady>((resolve, reject) => {
    child.on('message', (message: FakesReply) => {
      if (message.type === 'ready') return resolve(message);
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.type === 'failed') waiter?.reject(new Error(message.message));
      else waiter?.resolve(message);
    });
    child.once('exit', (code) => {
      const err = new Error(`bench fakes process exited (${code})`);
      reject(err);
      for (const waiter of pending.values()) waiter.reject(err);
      pending.clear();
    });
  });
  const ask = (request: Unnumbered<FakesRequest>): Promise<FakesReply> =>
    new Promise((resolve, reject) => {
      const id = (nextId += 1);
      pending.set(id, { resolve, reject });
      child.send({ ...request, id });
    });
  const { discord, tiktok } = await ready;
  return {
    pid: child.pid!,
    discord,
    tiktok,
    async addLiveUsers(names) {
      await ask({ type: 'addLiveUsers', names });
    },
    async command(input) {
      const reply = await ask({ type: 'command', input });
      return reply.type === 'done' ? (reply.content ?? '') : '';
    },
    async openSockets(names) {
      const reply = await ask({ type: 'openSockets', names });
      return reply.type === 'done' ? (reply.count ?? 0) : 0;
    },
    async connectedClients() {
      const reply = await ask({ type: 'connectedClients' });
      return reply.type === 'done' ? (reply.count ?? 0) : 0;
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      process.kill(child.pid!, 'SIGTERM');
      await exited;
    },
  };
}
