/**
 * The local Discord and TikTok in a process of their own, for benchmarks that run the built bot
 * (`node dist/main.js`) in another: nothing of theirs is counted in the bot's memory or shares its event
 * loop. Driven over IPC by bench code (see FakesChild in ./fakes-child.ts); ended by SIGTERM or when the
 * parent goes.
 */
import { startFakeDiscord } from '../../tests/fakes/discord-server.js';
import { startFakeTikTok } from '../../tests/fakes/tiktok-server.js';
import type { FakesReady, FakesReply, FakesRequest } from './fakes-child.js';

export const BENCH_DISCORD_TOKEN = 'bench-bot-token.not-a-secret';

async function main(): Promise<void> {
  const discord = await startFakeDiscord({ token: BENCH_DISCORD_TOKEN });
  const tiktok = await startFakeTikTok();
  const stop = () => void Promise.allSettled([discord.close(), tiktok.close()]).finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
  const reply = (message: FakesReply) => {
    if (process.connected) process.send!(message);
  };
  process.on('message', (request: FakesRequest) => {
    void (async () => {
      try {
        if (request.type === 'addLiveUsers') {
          for (const name of request.names) tiktok.addUser(name, { live: true });
          reply({ type: 'done', id: request.id });
        } else if (request.type === 'command') {
          const answer = await discord.interact(request.input).final(request.timeoutMs ?? 30_000);
          reply({ type: 'done', id: request.id, content: answer.content ?? '' });
        } else if (request.type === 'openSockets') {
          reply({ type: 'done', id: request.id, count: request.names.filter((n) => tiktok.stats.openSockets(n) > 0).length });
        } else if (request.type === 'connectedClients') {
          reply({ type: 'done', id: request.id, count: discord.connectedClients });
        }
      } catch (err) {
        reply({ type: 'failed', id: request.id, message: err instanceof Error ? err.message : String(err) });
      }
    })();
  });
  const ready: FakesReady = {
    type: 'ready',
    discord: { apiUrl: discord.apiUrl, guildId: discord.guildId, channel: discord.channels.general, token: BENCH_DISCORD_TOKEN },
    tiktok: { signApiUrl: tiktok.transport.signApiUrl!, webHost: tiktok.transport.webHost!, webcastHost: tiktok.transport.webcastHost!, caCertificate: tiktok.transport.caCertificate! },
  };
  reply(ready);
}

void main().catch((err: unknown) => {
  process.stderr.write(`bench fakes failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
