/**
 * A local Discord for integration tests: one HTTP server on 127.0.0.1 that answers the REST routes a
 * clip bot uses (under /api/v10) and serves the gateway (WebSocket upgrade on /gateway), so the real
 * discord.js 14 Client logs in with `new Client({ rest: { api: fake.apiUrl } })` and talks to it.
 *
 * Tests drive it from the Discord side (`interact`, `autocomplete`, `setPremiumTier`,
 * `failNextRequests`) and read what the bot did (`commandRegistrations`, `channelMessages`, each
 * exchange's replies). Anything the fake cannot answer is a 404 listed in `unhandledRequests`.
 *
 * Split across tests/fakes/discord-*.ts: payloads (guild state and JSON shapes), messages (parsing,
 * limits, rendering), interactions (INTERACTION_CREATE and exchanges), gateway, wait.
 */
import { randomBytes } from 'node:crypto';
import { type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatewayDispatchEvents, InteractionResponseType } from 'discord.js';
import { FakeGateway } from './discord-gateway.js';
import {
  type InteractionExchange,
  type InteractionInput,
  type RegisteredCommand,
  Exchange,
  callbackResponsePayload,
  componentInteractionPayload,
  interactionPayload,
} from './discord-interactions.js';
import {
  type ApiErrorReply,
  type IncomingBody,
  type PostedMessage,
  type StoredAttachment,
  type StoredMessage,
  DEFAULT_UPLOAD_LIMIT,
  buildMessage,
  checkUploadLimit,
  isRecord,
  messagePayload,
  parseBody,
  toPosted,
  uploadLimitForTier,
  validateMessage,
} from './discord-messages.js';
import {
  type FakeMember,
  type GuildState,
  SnowflakeFactory,
  botMemberPayload,
  botSelfPayload,
  channelPayload,
  createGuildState,
  defaultMember,
  guildCreatePayload,
  guildPayload,
  memberPayload,
  rolePayload,
  userPayload,
  memberUser,
} from './discord-payloads.js';
import { ChangeFeed } from './discord-wait.js';

export type { FakeMember } from './discord-payloads.js';
/** Default member permissions (Administrator | ManageGuild) and the bot's, for building FakeMembers. */
export { ADMIN_PERMISSIONS, BOT_PERMISSIONS } from './discord-payloads.js';
export type { MessageButton, MessageComponentRow, PostedFile, PostedMessage } from './discord-messages.js';
export type { InitialCallback, InteractionExchange, InteractionInput } from './discord-interactions.js';

export interface FailureResponse {
  /**
   * The status to answer with; `'cut'` handles the request as usual (a message is stored) and then cuts
   * the connection before any answer: the bot cannot know whether the post landed.
   */
  status: number | 'cut';
  body?: unknown;
  headers?: Record<string, string>;
}

/** Requests `holdRequests` keeps waiting for their answer. */
export interface HeldRequests {
  /** How many matching requests are held now. */
  readonly count: number;
  /** Resolves once at least `n` (default 1) matching requests are held. */
  waitUntilHeld(n?: number, timeoutMs?: number): Promise<void>;
  /** Resolves once the clients of at least `n` (default 1) held requests went away (the bot was killed). */
  waitUntilAbandoned(n?: number, timeoutMs?: number): Promise<void>;
  /**
   * Stops holding and answers what is held. A request whose client went away meanwhile is never
   * handled, unless it was stored before the hold (`storedFirst`); an answer to it goes nowhere.
   */
  release(): void;
}

export interface RecordedRequest {
  method: string;
  /** Path and query as requested, e.g. /api/v10/channels/1/messages. */
  path: string;
  status: number;
}

export interface FakeDiscord {
  /** For `new Client({ rest: { api: apiUrl } })`. */
  readonly apiUrl: string;
  readonly applicationId: string;
  readonly guildId: string;
  /** Two text channels in the guild. */
  readonly channels: { general: string; alerts: string; readOnly: string };
  /** `moderator` has no Manage Server: it is the role a guild would hand to `/settings role`. */
  readonly roles: { moderator: string; everyone: string };
  readonly botUserId: string;
  /** The other guilds the bot is in (`otherGuilds` option), each with its own general and alerts channel. */
  readonly otherGuilds: ReadonlyArray<{ readonly id: string; readonly channels: { readonly general: string; readonly alerts: string } }>;
  /** Every bulk PUT of application commands: scope 'global' or the guild id, and the body. */
  readonly commandRegistrations: Array<{ scope: string; commands: any[] }>;
  /** Messages POSTed to /channels/:id/messages, in order. */
  readonly channelMessages: PostedMessage[];
  /** Every PATCH of a channel message, as the message stood after it, in order. */
  readonly channelMessageEdits: PostedMessage[];
  /** Every HTTP request with the status it got, in order (injected failures included). */
  readonly requests: RecordedRequest[];
  /** Requests the fake did not know how to answer (answered 404): tests assert this stays empty. */
  readonly unhandledRequests: string[];
  /** Clients that completed IDENTIFY and are still connected to the gateway. */
  readonly connectedClients: number;
  /** The first channel message (already posted or still to come) matching `predicate`. */
  waitForChannelMessage(predicate?: (message: PostedMessage) => boolean, timeoutMs?: number): Promise<PostedMessage>;
  /** Sends INTERACTION_CREATE (type 2) to every connected client; throws when none is connected. */
  interact(input: InteractionInput): InteractionExchange;
  /**
   * A member presses a button on a message the bot posted: INTERACTION_CREATE type 3 (MESSAGE_COMPONENT)
   * with the button's custom_id, the message, and the member with their permissions (default: the guild
   * owner). Like a Discord client, it cannot press a button the message does not show or shows disabled
   * (throws). The exchange's `final()` is the pressed message once the bot updated it (type 7, or a PATCH
   * of @original after type 6), or the bot's reply (type 4, e.g. an ephemeral refusal).
   */
  press(input: { messageId: string; customId: string; member?: FakeMember; attachmentSizeLimit?: number }): InteractionExchange;
  /** A channel message as it stands now (after every edit), or undefined. */
  message(messageId: string): PostedMessage | undefined;
  /** Resolves once the channel message matches `predicate` (now or after a later edit). */
  waitForMessage(messageId: string, predicate: (message: PostedMessage) => boolean, timeoutMs?: number): Promise<PostedMessage>;
  /** Sends an autocomplete interaction (type 4) and resolves with the choices of the bot's type-8 callback. */
  autocomplete(
    input: InteractionInput & { focused: string },
    timeoutMs?: number,
  ): Promise<Array<{ name: string; value: string | number }>>;
  /** Make the next matching REST requests fail, in order (429s get a Retry-After header from retry_after). */
  failNextRequests(match: { method?: string; pathIncludes: string }, responses: FailureResponse[]): void;
  /** Forgets every injected failure not yet used. */
  clearFailures(): void;
  /**
   * Makes matching requests fail with `response` until the returned function is called (an outage of
   * any length, or a channel whose permission the bot lost).
   */
  failRequestsUntilCleared(match: { method?: string; pathIncludes: string }, response: FailureResponse): () => void;
  /**
   * Holds matching REST requests open, their answer not sent, until `release()`: an upload in flight
   * when the bot dies. With `storedFirst` the request is handled at once (a message created) and only
   * its answer withheld: Discord has the post, the bot never heard. Without it, nothing happens until
   * release, and a request whose client is gone by then is never handled (the upload never finished).
   */
  holdRequests(match: { method?: string; pathIncludes: string }, options?: { storedFirst?: boolean }): HeldRequests;
  /** Gateway op 7 to every connected client: they drop the socket and RESUME (a Discord-side hiccup). */
  reconnectClients(): void;
  /** Seen in GUILD_CREATE by clients that log in later, and sent as GUILD_UPDATE to connected ones. */
  setPremiumTier(tier: 0 | 1 | 2 | 3): void;
  /** Closes the HTTP server and all gateway sockets; rejects pending waits. Destroy clients first. */
  close(): Promise<void>;
}

export interface FakeDiscordOptions {
  /** When given, REST requests with another `Authorization: Bot x` get 401 and IDENTIFY gets close 4004. */
  token?: string;
  /** HELLO's heartbeat_interval; Discord uses ~41 s, tests of heartbeats want less. */
  heartbeatIntervalMs?: number;
  /** More guilds the bot is in besides the main one (default 0): for "several servers at once". */
  otherGuilds?: number;
}

export async function startFakeDiscord(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return new FakeDiscordServer(server, port, options);
}

/** Everything a route handler gets: path parameters, the parsed body, the query string. */
interface RouteRequest {
  params: Params;
  body: IncomingBody;
  query: URLSearchParams;
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Route {
  method: string;
  /** Under /api/v10, with :name segments. */
  path: string;
  /** Interaction callbacks and webhooks are authorized by their token in the path, not by the bot token. */
  needsBotToken: boolean;
  handle(request: RouteRequest): Reply | Promise<Reply>;
}

/** Returned by a handler for an id the fake does not own (another application): counted as unhandled. */
const UNHANDLED: Reply = { status: 404, body: { message: '404: Not Found', code: 0 } };
const UNAUTHORIZED: Reply = { status: 401, body: { message: '401: Unauthorized', code: 0 } };
const NO_CONTENT: Reply = { status: 204 };
const API_PREFIX = '/api/v10';
const GATEWAY_PATH = '/gateway';
const DEFAULT_WAIT_MS = 5_000;
const DEFAULT_HEARTBEAT_INTERVAL_MS = 41_250;

function apiError(status: number, code: number, message: string): Reply {
  return { status, body: { message, code } };
}

class Params {
  readonly #values: Record<string, string>;

  constructor(values: Record<string, string>) {
    this.#values = values;
  }

  get(name: string): string {
    const value = this.#values[name];
    if (value === undefined) throw new Error(`fake Discord: route has no :${name} parameter`);
    return value;
  }
}

class FakeDiscordServer implements FakeDiscord {
  readonly apiUrl: string;
  readonly applicationId: string;
  readonly guildId: string;
  readonly channels: { general: string; alerts: string; readOnly: string };
  readonly roles: { moderator: string; everyone: string };
  readonly botUserId: string;
  readonly otherGuilds: FakeDiscord['otherGuilds'];
  readonly commandRegistrations: Array<{ scope: string; commands: any[] }> = [];
  readonly channelMessages: PostedMessage[] = [];
  readonly channelMessageEdits: PostedMessage[] = [];
  readonly requests: RecordedRequest[] = [];
  readonly unhandledRequests: string[] = [];

  readonly #server: Server;
  readonly #origin: string;
  readonly #token: string | undefined;
  readonly #ids = new SnowflakeFactory();
  readonly #guild: GuildState;
  /** The main guild first, then the others. */
  readonly #guilds: GuildState[];
  readonly #gateway: FakeGateway;
  readonly #feed = new ChangeFeed();
  readonly #routes: Route[];
  /** The echoed commands of the latest PUT per scope; their ids go into interactions. */
  readonly #commandsByScope = new Map<string, RegisteredCommand[]>();
  readonly #messages = new Map<string, StoredMessage>();
  readonly #attachments = new Map<string, StoredAttachment>();
  readonly #exchanges = new Map<string, Exchange>();
  readonly #failures: Array<{ match: { method?: string; pathIncludes: string }; responses: FailureResponse[] }> = [];
  readonly #standingFailures = new Set<{ match: { method?: string; pathIncludes: string }; response: FailureResponse }>();
  readonly #holds = new Set<Hold>();
  /**
   * Nonces of messages the bot created, with when: with enforce_nonce Discord answers a repeat within a
   * few minutes with the message it already created instead of a second one (discord-api-docs: Create
   * Message, `enforce_nonce`).
   */
  readonly #nonces = new Map<string, { messageId: string; at: number }>();
  #isClosed = false;

  constructor(server: Server, port: number, options: FakeDiscordOptions) {
    this.#server = server;
    this.#origin = `http://127.0.0.1:${port}`;
    this.#token = options.token;
    this.apiUrl = `${this.#origin}/api`;
    this.applicationId = this.#ids.next();
    this.#guild = createGuildState(this.#ids, this.applicationId);
    this.guildId = this.#guild.id;
    this.botUserId = this.#guild.bot.id;
    const [general, alerts, readOnly] = this.#guild.channels;
    const moderator = this.#guild.roles.find((role) => role.name === 'Moderator');
    if (!general || !alerts || !readOnly || !moderator) throw new Error('fake Discord: guild state lacks its channels or roles');
    this.channels = { general: general.id, alerts: alerts.id, readOnly: readOnly.id };
    this.roles = { moderator: moderator.id, everyone: this.#guild.id };
    const others = Array.from({ length: options.otherGuilds ?? 0 }, () => createGuildState(this.#ids, this.applicationId));
    this.#guilds = [this.#guild, ...others];
    this.otherGuilds = others.map((g) => ({ id: g.id, channels: { general: g.channels[0]!.id, alerts: g.channels[1]!.id } }));

    this.#gateway = new FakeGateway({
      path: GATEWAY_PATH,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
      isTokenAccepted: (token) => this.#token === undefined || token === this.#token,
      readyPayload: () => this.#readyPayload(),
      initialDispatches: () => this.#guilds.map((g) => ({ event: GatewayDispatchEvents.GuildCreate, data: guildCreatePayload(g) })),
    });
    this.#gateway.attach(server, `ws://127.0.0.1:${port}`);
    this.#routes = this.#buildRoutes();
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      void this.#onRequest(request, response);
    });
  }

  get connectedClients(): number {
    return this.#gateway.readyCount;
  }

  // ---- driving the fake from tests ----

  waitForChannelMessage(
    predicate: (message: PostedMessage) => boolean = () => true,
    timeoutMs = DEFAULT_WAIT_MS,
  ): Promise<PostedMessage> {
    return this.#feed.waitFor(
      () => this.channelMessages.find(predicate),
      timeoutMs,
      () => `a channel message matching the predicate (${this.channelMessages.length} posted, none matched)`,
    );
  }

  interact(input: InteractionInput): InteractionExchange {
    return this.#sendInteraction(input, undefined);
  }

  press(input: { messageId: string; customId: string; member?: FakeMember; attachmentSizeLimit?: number }): InteractionExchange {
    const stored = this.#messages.get(input.messageId);
    if (!stored) throw new Error(`fake Discord: no message ${input.messageId} to press a button on`);
    const found = this.#findChannel(stored.channelId);
    if (!found) throw new Error(`fake Discord: message ${input.messageId} is in no known channel`);
    const button = stored.components.flatMap((row) => row.components).find((b) => b.custom_id === input.customId);
    if (!button) throw new Error(`fake Discord: message ${input.messageId} shows no button ${input.customId}`);
    if (button.disabled) throw new Error(`fake Discord: button ${input.customId} is disabled; a client cannot press it`);
    const { guild } = found;
    const member = input.member ?? defaultMember(guild);
    guild.members.set(member.id, member);
    const id = this.#ids.next();
    const token = `aW50ZXJhY3Rpb246${randomBytes(48).toString('base64url')}`;
    const payload = componentInteractionPayload({
      guild,
      applicationId: this.applicationId,
      id,
      token,
      member,
      channelId: stored.channelId,
      customId: input.customId,
      message: this.#renderMessage(stored),
      ...(input.attachmentSizeLimit ? { attachmentSizeLimit: input.attachmentSizeLimit } : {}),
    });
    const exchange = new Exchange(id, token, {
      interactionType: payload.type,
      ids: this.#ids,
      applicationId: this.applicationId,
      channelId: stored.channelId,
      uploadLimit: input.attachmentSizeLimit ?? uploadLimitForTier(guild.premiumTier),
      componentMessage: {
        read: () => this.#messages.get(stored.id),
        write: (edited) => {
          this.#messages.set(stored.id, edited);
          this.channelMessageEdits.push(toPosted(edited));
          this.#feed.notify();
        },
      },
    });
    this.#exchanges.set(id, exchange);
    const delivered = this.#gateway.dispatch(GatewayDispatchEvents.InteractionCreate, payload);
    if (delivered === 0) throw new Error('fake Discord: no client is logged in to the gateway; log in first');
    return exchange;
  }

  message(messageId: string): PostedMessage | undefined {
    const stored = this.#messages.get(messageId);
    return stored ? toPosted(stored) : undefined;
  }

  waitForMessage(messageId: string, predicate: (message: PostedMessage) => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<PostedMessage> {
    return this.#feed.waitFor(
      () => {
        const current = this.message(messageId);
        return current && predicate(current) ? current : undefined;
      },
      timeoutMs,
      () => `message ${messageId} to match the predicate`,
    );
  }

  async autocomplete(
    input: InteractionInput & { focused: string },
    timeoutMs = DEFAULT_WAIT_MS,
  ): Promise<Array<{ name: string; value: string | number }>> {
    const exchange = this.#sendInteraction(input, input.focused);
    const callback = await exchange.initial(timeoutMs);
    if (callback.type !== InteractionResponseType.ApplicationCommandAutocompleteResult) {
      throw new Error(`fake Discord: autocomplete answered with callback type ${callback.type}, not 8`);
    }
    return Array.isArray(callback.data?.choices) ? callback.data.choices : [];
  }

  clearFailures(): void {
    this.#failures.length = 0;
  }

  failNextRequests(match: { method?: string; pathIncludes: string }, responses: FailureResponse[]): void {
    this.#failures.push({ match, responses: [...responses] });
  }

  failRequestsUntilCleared(match: { method?: string; pathIncludes: string }, response: FailureResponse): () => void {
    const rule = { match, response };
    this.#standingFailures.add(rule);
    return () => this.#standingFailures.delete(rule);
  }

  holdRequests(match: { method?: string; pathIncludes: string }, options: { storedFirst?: boolean } = {}): HeldRequests {
    let resolve!: () => void;
    const released = new Promise<void>((done) => (resolve = done));
    const hold: Hold = { match, isStoredFirst: options.storedFirst === true, count: 0, abandoned: 0, released, release: resolve };
    this.#holds.add(hold);
    const feed = this.#feed;
    return {
      get count() {
        return hold.count;
      },
      waitUntilHeld: async (n = 1, timeoutMs = DEFAULT_WAIT_MS) => {
        await feed.waitFor(() => (hold.count >= n ? true : undefined), timeoutMs, () => `${n} held request(s) matching ${match.pathIncludes} (${hold.count} held)`);
      },
      waitUntilAbandoned: async (n = 1, timeoutMs = DEFAULT_WAIT_MS) => {
        await feed.waitFor(() => (hold.abandoned >= n ? true : undefined), timeoutMs, () => `${n} held request(s) whose client went away (${hold.abandoned})`);
      },
      release: () => {
        this.#holds.delete(hold);
        hold.release();
      },
    };
  }

  reconnectClients(): void {
    this.#gateway.requestReconnect();
  }

  setPremiumTier(tier: 0 | 1 | 2 | 3): void {
    this.#guild.premiumTier = tier;
    this.#gateway.dispatch(GatewayDispatchEvents.GuildUpdate, guildPayload(this.#guild));
  }

  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    const reason = new Error('fake Discord: closed while a test was still waiting');
    this.#feed.cancelAll(reason);
    for (const hold of this.#holds) hold.release();
    this.#holds.clear();
    for (const exchange of this.#exchanges.values()) exchange.cancelWaits(reason);
    await this.#gateway.close();
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      // Keep-alive sockets from the client's HTTP agent would otherwise hold close() open.
      this.#server.closeAllConnections();
    });
  }

  // ---- interactions ----

  #sendInteraction(input: InteractionInput, focused: string | undefined): Exchange {
    const guild = this.#guildById(input.guildId ?? this.guildId);
    if (!guild) throw new Error(`fake Discord: no guild ${input.guildId}`);
    const member = input.member ?? defaultMember(guild);
    // Remember the member so GET /guilds/:id/members/:user and user options find them later.
    guild.members.set(member.id, member);
    const id = this.#ids.next();
    const token = `aW50ZXJhY3Rpb246${randomBytes(48).toString('base64url')}`;
    const channelId = input.channelId ?? guild.channels[0]!.id;
    const payload = interactionPayload({
      guild,
      applicationId: this.applicationId,
      id,
      token,
      input,
      member,
      channelId,
      command: this.#findCommand(input.command),
      ...(focused === undefined ? {} : { focused }),
    });
    const exchange = new Exchange(id, token, {
      interactionType: payload.type,
      ids: this.#ids,
      applicationId: this.applicationId,
      channelId,
      uploadLimit: input.attachmentSizeLimit ?? DEFAULT_UPLOAD_LIMIT,
    });
    this.#exchanges.set(id, exchange);
    const delivered = this.#gateway.dispatch(GatewayDispatchEvents.InteractionCreate, payload);
    if (delivered === 0) throw new Error('fake Discord: no client is logged in to the gateway; log in first');
    return exchange;
  }

  /** Guild commands shadow global ones of the same name, as in the Discord client. */
  #findCommand(name: string): RegisteredCommand | undefined {
    const scopes = [this.guildId, 'global'];
    for (const scope of scopes) {
      const found = this.#commandsByScope.get(scope)?.find((command) => command.name === name);
      if (found) return found;
    }
    return undefined;
  }

  #exchangeByToken(applicationId: string, token: string): Exchange | undefined {
    if (applicationId !== this.applicationId) return undefined;
    return [...this.#exchanges.values()].find((exchange) => exchange.token === token);
  }

  // ---- HTTP ----

  async #onRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    const url = new URL(request.url ?? '/', this.#origin);
    let reply: Reply | typeof CUT;
    try {
      const raw = await readRaw(request);
      const hold = [...this.#holds].find((h) => matchesRequest(h.match, method, url.pathname));
      if (hold) {
        const held = await this.#answerHeld(hold, response, () => this.#answer(method, url, raw, request.headers));
        if (held === undefined) {
          // The client went away before its upload was answered: as far as Discord knows it never finished.
          this.requests.push({ method, path: `${url.pathname}${url.search}`, status: 0 });
          return;
        }
        reply = held;
      } else {
        reply = await this.#answer(method, url, raw, request.headers);
      }
      if (reply === CUT) {
        this.requests.push({ method, path: `${url.pathname}${url.search}`, status: 0 });
        response.socket?.destroy();
        return;
      }
    } catch (error) {
      // A bug in the fake, not in the bot: make it loud in unhandledRequests.
      this.unhandledRequests.push(`${method} ${url.pathname} (fake threw: ${String(error)})`);
      reply = apiError(500, 0, '500: Internal Server Error');
    }
    this.requests.push({ method, path: `${url.pathname}${url.search}`, status: reply.status });
    writeReply(response, reply);
  }

  /** Handles a held request (before the hold or after it, see holdRequests); undefined when it never finished. */
  async #answerHeld(hold: Hold, response: ServerResponse, answer: () => Promise<Reply | typeof CUT>): Promise<Reply | typeof CUT | undefined> {
    const early = hold.isStoredFirst ? await answer() : undefined;
    hold.count += 1;
    this.#feed.notify();
    // Unanswered, a response closes only when its connection does: the client is gone.
    let isAbandoned = false;
    const onClose = (): void => {
      isAbandoned = true;
      hold.abandoned += 1;
      this.#feed.notify();
    };
    response.once('close', onClose);
    await hold.released;
    response.off('close', onClose);
    hold.count -= 1;
    if (early !== undefined) return early;
    return isAbandoned ? undefined : answer();
  }

  async #answer(method: string, url: URL, raw: Buffer, headers: IncomingHttpHeaders): Promise<Reply | typeof CUT> {
    const injected = this.#takeInjectedFailure(method, url.pathname);
    if (injected === CUT) {
      await this.#handle(method, url, raw, headers);
      return CUT;
    }
    if (injected) return injected;
    return this.#handle(method, url, raw, headers);
  }

  async #handle(method: string, url: URL, raw: Buffer, headers: IncomingHttpHeaders): Promise<Reply> {
    if (method === 'GET' && url.pathname.startsWith('/attachments/')) return this.#serveAttachment(url.pathname);

    const match = url.pathname.startsWith(API_PREFIX)
      ? this.#matchRoute(method, url.pathname.slice(API_PREFIX.length))
      : undefined;
    if (!match) return this.#unhandled(method, url);
    if (match.route.needsBotToken && !this.#isAuthorized(headers.authorization)) return UNAUTHORIZED;

    let body: IncomingBody;
    try {
      body = await parseBody(raw, headers['content-type']);
    } catch {
      return apiError(400, 50109, 'The request body contains invalid JSON.');
    }
    const reply = await match.route.handle({ params: match.params, body, query: url.searchParams });
    return reply === UNHANDLED ? this.#unhandled(method, url) : reply;
  }

  #unhandled(method: string, url: URL): Reply {
    this.unhandledRequests.push(`${method} ${url.pathname}${url.search}`);
    return UNHANDLED;
  }

  #isAuthorized(header: string | undefined): boolean {
    return this.#token === undefined || header === `Bot ${this.#token}`;
  }

  #matchRoute(method: string, path: string): { route: Route; params: Params } | undefined {
    for (const route of this.#routes) {
      if (route.method !== method) continue;
      const params = matchPath(route.path, path);
      if (params) return { route, params: new Params(params) };
    }
    return undefined;
  }

  #takeInjectedFailure(method: string, path: string): Reply | typeof CUT | undefined {
    const matches = (match: { method?: string; pathIncludes: string }) => matchesRequest(match, method, path);
    for (const standing of this.#standingFailures) {
      if (!matches(standing.match)) continue;
      const { response } = standing;
      return response.status === 'cut' ? CUT : injectedReply({ ...response, status: response.status });
    }
    const index = this.#failures.findIndex(({ match }) => matches(match));
    const rule = this.#failures[index];
    if (!rule) return undefined;
    const next = rule.responses.shift();
    if (rule.responses.length === 0) this.#failures.splice(index, 1);
    if (next?.status === 'cut') {
      // Only once: the request is then handled for real (and its answer lost) by #answer's second pass.
      return CUT;
    }
    return next ? injectedReply({ ...next, status: next.status }) : undefined;
  }

  #serveAttachment(path: string): Reply {
    const attachmentId = path.split('/')[3] ?? '';
    const attachment = this.#attachments.get(attachmentId);
    if (!attachment) return apiError(404, 0, '404: Not Found');
    return {
      status: 200,
      body: attachment.data,
      headers: { 'content-type': attachment.contentType ?? 'application/octet-stream' },
    };
  }

  // ---- routes ----

  #buildRoutes(): Route[] {
    const bot = (method: string, path: string, handle: Route['handle']): Route => ({
      method,
      path,
      needsBotToken: true,
      handle,
    });
    const byToken = (method: string, path: string, handle: Route['handle']): Route => ({
      method,
      path,
      needsBotToken: false,
      handle,
    });
    return [
      bot('GET', '/gateway/bot', () => this.#gatewayBot()),
      byToken('GET', '/gateway', () => ({ status: 200, body: { url: this.#gateway.url } })),
      bot('GET', '/users/@me', () => ({ status: 200, body: botSelfPayload(this.#guild) })),
      bot('GET', '/applications/@me', () => ({ status: 200, body: this.#applicationPayload() })),
      bot('PUT', '/applications/:app/commands', ({ params, body }) =>
        this.#putCommands(params.get('app'), 'global', body),
      ),
      bot('GET', '/applications/:app/commands', ({ params }) => this.#getCommands(params.get('app'), 'global')),
      bot('PUT', '/applications/:app/guilds/:guild/commands', ({ params, body }) =>
        this.#putCommands(params.get('app'), params.get('guild'), body),
      ),
      bot('GET', '/applications/:app/guilds/:guild/commands', ({ params }) =>
        this.#getCommands(params.get('app'), params.get('guild')),
      ),
      byToken('POST', '/interactions/:id/:token/callback', (request) => this.#interactionCallback(request)),
      byToken('POST', '/webhooks/:app/:token', (request) => this.#followUp(request)),
      byToken('GET', '/webhooks/:app/:token/messages/:message', (request) => this.#webhookMessage('GET', request)),
      byToken('PATCH', '/webhooks/:app/:token/messages/:message', (request) => this.#webhookMessage('PATCH', request)),
      byToken('DELETE', '/webhooks/:app/:token/messages/:message', (request) =>
        this.#webhookMessage('DELETE', request),
      ),
      bot('POST', '/channels/:channel/messages', ({ params, body }) =>
        this.#postChannelMessage(params.get('channel'), body),
      ),
      bot('PATCH', '/channels/:channel/messages/:message', ({ params, body }) =>
        this.#editChannelMessage(params.get('channel'), params.get('message'), body),
      ),
      bot('GET', '/channels/:channel/messages/:message', ({ params }) =>
        this.#getChannelMessage(params.get('channel'), params.get('message')),
      ),
      bot('GET', '/channels/:channel', ({ params }) => this.#getChannel(params.get('channel'))),
      bot('GET', '/guilds/:guild', ({ params }) =>
        this.#inGuild(params.get('guild'), (guild) => ({ ...guildPayload(guild), ...this.#approximateCounts(guild) })),
      ),
      bot('GET', '/guilds/:guild/channels', ({ params }) =>
        this.#inGuild(params.get('guild'), (guild) => guild.channels.map((c) => channelPayload(guild, c))),
      ),
      bot('GET', '/guilds/:guild/roles', ({ params }) =>
        this.#inGuild(params.get('guild'), (guild) => guild.roles.map(rolePayload)),
      ),
      bot('GET', '/guilds/:guild/members/:user', ({ params }) =>
        this.#getMember(params.get('guild'), params.get('user')),
      ),
    ];
  }

  #gatewayBot(): Reply {
    return {
      status: 200,
      body: {
        url: this.#gateway.url,
        shards: 1,
        // discord.js sizes its identify throttle from max_concurrency (topics/gateway#session-start-limit-object).
        session_start_limit: { total: 1000, remaining: 999, reset_after: 86_400_000, max_concurrency: 1 },
      },
    };
  }

  #readyPayload(): Record<string, unknown> {
    return {
      v: 10,
      user: botSelfPayload(this.#guild),
      // Guilds start unavailable; discord.js waits for their GUILD_CREATE before emitting ready.
      guilds: this.#guilds.map((g) => ({ id: g.id, unavailable: true })),
      application: { id: this.applicationId, flags: 0 },
      user_settings: {},
      relationships: [],
      private_channels: [],
      presences: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
    };
  }

  #applicationPayload() {
    const owner = defaultMember(this.#guild);
    return {
      id: this.applicationId,
      name: this.#guild.bot.username,
      icon: null,
      description: '',
      bot_public: false,
      bot_require_code_grant: false,
      bot: userPayload(this.#guild.bot),
      owner: userPayload(memberUser(owner)),
      team: null,
      verify_key: '0'.repeat(64),
      flags: 0,
      approximate_guild_count: 1,
      tags: [],
      install_params: null,
      integration_types_config: { '0': {} },
    };
  }

  #approximateCounts(guild: GuildState) {
    return { approximate_member_count: guild.members.size + 1, approximate_presence_count: 1 };
  }

  #guildById(guildId: string): GuildState | undefined {
    return this.#guilds.find((g) => g.id === guildId);
  }

  /** The channel and the guild it belongs to, in any guild the bot is in. */
  #findChannel(channelId: string): { guild: GuildState; channel: GuildState['channels'][number] } | undefined {
    for (const guild of this.#guilds) {
      const channel = guild.channels.find((candidate) => candidate.id === channelId);
      if (channel) return { guild, channel };
    }
    return undefined;
  }

  #inGuild(guildId: string, body: (guild: GuildState) => unknown): Reply {
    const guild = this.#guildById(guildId);
    if (!guild) return apiError(404, 10004, 'Unknown Guild');
    return { status: 200, body: body(guild) };
  }

  #getMember(guildId: string, userId: string): Reply {
    const guild = this.#guildById(guildId);
    if (!guild) return apiError(404, 10004, 'Unknown Guild');
    if (userId === this.botUserId) return { status: 200, body: botMemberPayload(guild) };
    const member = guild.members.get(userId);
    if (!member) return apiError(404, 10007, 'Unknown Member');
    return { status: 200, body: memberPayload(guild, member) };
  }

  #getChannel(channelId: string): Reply {
    const found = this.#findChannel(channelId);
    if (!found) return apiError(404, 10003, 'Unknown Channel');
    return { status: 200, body: channelPayload(found.guild, found.channel) };
  }

  #putCommands(applicationId: string, scope: string, body: IncomingBody): Reply {
    if (applicationId !== this.applicationId) return UNHANDLED;
    // A guild the bot is not in: Discord answers Missing Access.
    if (scope !== 'global' && scope !== this.guildId) return apiError(403, 50001, 'Missing Access');
    if (!Array.isArray(body.value)) return apiError(400, 50035, 'Invalid Form Body');
    const problem = commandProblems(body.value);
    if (problem) return { status: 400, body: { message: 'Invalid Form Body', code: 50035, errors: problem } };

    this.commandRegistrations.push({ scope, commands: body.value });
    const previous = this.#commandsByScope.get(scope) ?? [];
    const echoed = body.value.filter(isRecord).map((definition) => this.#echoCommand(scope, definition, previous));
    this.#commandsByScope.set(scope, echoed);
    return { status: 200, body: echoed };
  }

  #getCommands(applicationId: string, scope: string): Reply {
    if (applicationId !== this.applicationId) return UNHANDLED;
    return { status: 200, body: this.#commandsByScope.get(scope) ?? [] };
  }

  /**
   * The application command object Discord returns (interactions/application-commands): the sent
   * definition plus ids. A re-registered name keeps its id, as a bulk overwrite does on Discord.
   */
  #echoCommand(scope: string, definition: Record<string, unknown>, previous: RegisteredCommand[]) {
    const name = String(definition.name);
    const id = previous.find((command) => command.name === name)?.id ?? this.#ids.next();
    return {
      type: 1,
      description: '',
      options: [],
      default_member_permissions: null,
      nsfw: false,
      integration_types: [0],
      contexts: null,
      name_localizations: null,
      description_localizations: null,
      ...definition,
      name,
      id,
      application_id: this.applicationId,
      version: this.#ids.next(),
      ...(scope === 'global' ? {} : { guild_id: scope }),
    };
  }

  async #interactionCallback({ params, body, query }: RouteRequest): Promise<Reply> {
    const exchange = this.#exchanges.get(params.get('id'));
    if (!exchange || exchange.token !== params.get('token')) return apiError(404, 10062, 'Unknown interaction');
    const outcome = exchange.acknowledge(body);
    if (!outcome.ok) return outcome.error;
    const message = outcome.value ? this.#renderMessage(outcome.value) : undefined;
    // discord.js adds ?with_response=true for `withResponse`; otherwise Discord answers 204.
    if (query.get('with_response') !== 'true') return NO_CONTENT;
    return { status: 200, body: callbackResponsePayload(exchange, Number(body.json.type), message) };
  }

  #followUp({ params, body }: RouteRequest): Reply {
    const exchange = this.#exchangeByToken(params.get('app'), params.get('token'));
    if (!exchange) return apiError(404, 10015, 'Unknown Webhook');
    return this.#messageReply(exchange.followUp(body));
  }

  #webhookMessage(method: 'GET' | 'PATCH' | 'DELETE', { params, body }: RouteRequest): Reply {
    const exchange = this.#exchangeByToken(params.get('app'), params.get('token'));
    if (!exchange) return apiError(404, 10015, 'Unknown Webhook');
    const messageId = params.get('message');
    if (method === 'GET') return this.#messageReply(exchange.getMessage(messageId));
    if (method === 'PATCH') return this.#messageReply(exchange.editMessage(messageId, body));
    const deleted = exchange.deleteMessage(messageId);
    return deleted.ok ? NO_CONTENT : deleted.error;
  }

  #messageReply(outcome: { ok: true; value: StoredMessage } | { ok: false; error: ApiErrorReply }): Reply {
    return outcome.ok ? { status: 200, body: this.#renderMessage(outcome.value) } : outcome.error;
  }

  #postChannelMessage(channelId: string, body: IncomingBody): Reply {
    const found = this.#findChannel(channelId);
    if (!found) return apiError(404, 10003, 'Unknown Channel');
    const { channel } = found;
    const nonce = body.json.nonce;
    const isEnforced = body.json.enforce_nonce === true && (typeof nonce === 'string' || typeof nonce === 'number');
    if (isEnforced) {
      const seen = this.#nonces.get(String(nonce));
      const earlier = seen && Date.now() - seen.at < NONCE_WINDOW_MS ? this.#messages.get(seen.messageId) : undefined;
      if (earlier) return { status: 200, body: this.#renderMessage(earlier) };
    }
    const message = buildMessage(this.#ids, body, { channelId, type: 0 });
    const problem =
      validateMessage(message, true) ?? checkUploadLimit(body, uploadLimitForTier(found.guild.premiumTier));
    if (problem) return problem;

    this.#messages.set(message.id, message);
    if (isEnforced) this.#nonces.set(String(nonce), { messageId: message.id, at: Date.now() });
    channel.lastMessageId = message.id;
    this.channelMessages.push(toPosted(message));
    this.#feed.notify();
    return { status: 200, body: this.#renderMessage(message) };
  }

  #editChannelMessage(channelId: string, messageId: string, body: IncomingBody): Reply {
    const previous = this.#messages.get(messageId);
    if (!previous || previous.channelId !== channelId) return apiError(404, 10008, 'Unknown Message');
    const edited = buildMessage(this.#ids, body, { channelId, type: 0 }, previous);
    const problem = validateMessage(edited, false);
    if (problem) return problem;
    this.#messages.set(messageId, edited);
    this.channelMessageEdits.push(toPosted(edited));
    this.#feed.notify();
    return { status: 200, body: this.#renderMessage(edited) };
  }

  #getChannelMessage(channelId: string, messageId: string): Reply {
    const message = this.#messages.get(messageId);
    if (!message || message.channelId !== channelId) return apiError(404, 10008, 'Unknown Message');
    return { status: 200, body: this.#renderMessage(message) };
  }

  /** The message object for a response; its attachments become downloadable from the fake. */
  #renderMessage(message: StoredMessage): Record<string, unknown> {
    for (const attachment of message.attachments) this.#attachments.set(attachment.id, attachment);
    return messagePayload(message, this.#guild.bot, this.#origin);
  }
}

interface Hold {
  readonly match: { method?: string; pathIncludes: string };
  readonly isStoredFirst: boolean;
  count: number;
  abandoned: number;
  readonly released: Promise<void>;
  readonly release: () => void;
}

function matchesRequest(match: { method?: string; pathIncludes: string }, method: string, path: string): boolean {
  return (!match.method || match.method.toUpperCase() === method) && path.includes(match.pathIncludes);
}

/** Discord keeps enforced nonces "for the past few minutes". */
const NONCE_WINDOW_MS = 5 * 60_000;

/** The request is handled, then the connection is cut instead of answered. */
const CUT = Symbol('cut the connection');

function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const expected = pattern.split('/');
  const actual = path.split('/');
  if (expected.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (const [index, segment] of expected.entries()) {
    const value = actual[index] ?? '';
    // Interaction tokens arrive URL-encoded in the path (notes/discord.md).
    if (segment.startsWith(':')) params[segment.slice(1)] = decodeURIComponent(value);
    else if (segment !== value) return undefined;
  }
  return params;
}

/**
 * An injected failure as Discord would send it. discord.js reads the wait from the Retry-After header
 * (seconds), not from the body, so a 429 without one gets it from body.retry_after
 * (topics/rate-limits#exceeding-a-rate-limit).
 */
function injectedReply(failure: FailureResponse & { status: number }): Reply {
  const headers: Record<string, string> = { ...failure.headers };
  const hasHeader = (name: string) => Object.keys(headers).some((key) => key.toLowerCase() === name.toLowerCase());
  if (failure.status !== 429) {
    return { status: failure.status, body: failure.body ?? { message: `${failure.status}: injected`, code: 0 }, headers };
  }
  const body = isRecord(failure.body) ? failure.body : { message: 'You are being rate limited.', retry_after: 0, global: false };
  const isGlobal = body.global === true;
  if (!hasHeader('retry-after')) headers['Retry-After'] = String(Number(body.retry_after ?? 0));
  if (!hasHeader('x-ratelimit-scope')) headers['X-RateLimit-Scope'] = isGlobal ? 'global' : 'user';
  if (isGlobal && !hasHeader('x-ratelimit-global')) headers['X-RateLimit-Global'] = 'true';
  return { status: 429, body, headers };
}

/** The checks Discord makes on a bulk overwrite that a builder could still get past. */
function commandProblems(commands: unknown[]): Record<string, unknown> | undefined {
  const problems: Record<string, unknown> = {};
  commands.forEach((command, index) => {
    const name = isRecord(command) ? command.name : undefined;
    // Chat-input names: 1-32 characters, lowercase where the script has case (application-commands#naming).
    if (typeof name !== 'string' || !/^[-_\p{L}\p{N}]{1,32}$/u.test(name) || name !== name.toLowerCase()) {
      problems[`${index}.name`] = { _errors: [{ code: 'APPLICATION_COMMAND_INVALID_NAME', message: 'Invalid name' }] };
    }
    const description = isRecord(command) ? command.description : undefined;
    if (typeof description === 'string' && description.length > 100) {
      problems[`${index}.description`] = {
        _errors: [{ code: 'BASE_TYPE_BAD_LENGTH', message: 'Must be between 1 and 100 in length.' }],
      };
    }
  });
  return Object.keys(problems).length > 0 ? problems : undefined;
}

async function readRaw(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function writeReply(response: ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = { ...reply.headers };
  if (reply.body === undefined) {
    response.writeHead(reply.status, headers).end();
    return;
  }
  const isBytes = Buffer.isBuffer(reply.body);
  const payload = isBytes ? (reply.body as Buffer) : Buffer.from(JSON.stringify(reply.body));
  if (!isBytes) headers['content-type'] = 'application/json';
  headers['content-length'] = String(payload.length);
  response.writeHead(reply.status, headers).end(payload);
}
