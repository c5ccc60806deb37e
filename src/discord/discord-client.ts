import { Client, Events, GatewayIntentBits, type Interaction } from 'discord.js';
import type { Logger } from 'pino';
import { leanError } from '../delivery/discord-errors.js';

/**
 * The bot's discord.js client: guild events only (slash commands need no privileged intent), every
 * interaction handed to `onInteraction`, gateway trouble logged. `apiUrl` points REST at a local
 * server in tests.
 */
export function createDiscordClient(options: {
  readonly apiUrl?: string;
  readonly log: Logger;
  readonly onInteraction: (interaction: Interaction) => Promise<void>;
}): Client {
  const { log } = options;
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    ...(options.apiUrl ? { rest: { api: options.apiUrl } } : {}),
  });
  client.on(Events.InteractionCreate, (interaction) => {
    void options.onInteraction(interaction).catch((err: unknown) => log.error({ err: leanError(err) }, 'interaction handling failed'));
  });
  // discord.js errors carry their request body (a clip's bytes): logged lean, never whole.
  client.on(Events.Error, (err) => log.error({ err: leanError(err) }, 'discord client error'));
  client.on(Events.ShardDisconnect, (event) => log.warn({ code: event.code }, 'discord gateway disconnected'));
  return client;
}

/** Logs in and resolves once the gateway says the client is ready (guilds known, application set). */
export async function logIn(client: Client, token: string): Promise<void> {
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(token);
  await ready;
}
