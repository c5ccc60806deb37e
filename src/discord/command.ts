import type { ClusterView } from './cluster-view.js';
import type {
  AutocompleteInteraction,
  ChatInputCommandInteraction,
  SharedSlashCommand,
} from 'discord.js';
import type { Logger } from 'pino';
import type { ClipService } from '../clips/clip-service.js';
import type { EventLog } from '../events/event-log.js';
import type { GuildSettingsService } from '../guilds/settings-service.js';
import type { StreamMonitor } from '../monitor/stream-monitor.js';
import type { ReplayBuffer } from '../obs/replay-buffer.js';
import type { BotStore } from '../store/bot-store.js';
import type { ClipReplyBuilder } from '../delivery/clip-message.js';
import type { DeliveryWorker } from '../delivery/delivery-worker.js';
import type { StreamBuffers } from '../capture/stream/stream-buffers.js';
import type { ReviewService } from '../review/review-service.js';
import type { InteractionAnswer, InteractionRouting } from './routed.js';

/** What a command may use; built once in main.ts and passed to every command. */
export interface CommandContext {
  readonly settings: GuildSettingsService;
  readonly store: BotStore;
  readonly monitor: StreamMonitor;
  readonly clips: ClipService;
  readonly replayBuffer: ReplayBuffer;
  readonly events: EventLog;
  readonly clipReplies: ClipReplyBuilder;
  /** The outbox's delivery: channels that cannot be posted in (/status), a retry after /settings channel. */
  readonly delivery: Pick<DeliveryWorker, 'problems' | 'retryGuild' | 'releaseFit' | 'reroute' | 'waitingForAlertChannel'>;
  /** Stream capture's buffers (/stream list, /status); absent when the bot has none. */
  readonly streamBuffers?: Pick<StreamBuffers, 'state'>;
  /** The alerts as cards: the buttons, and what /keyword list and /clips show of them. */
  readonly review?: ReviewService;
  /** CLUSTER=true: the nodes and which holds each live (/status); absent when the bot runs alone. */
  readonly cluster?: ClusterView;
  /** CLUSTER=true: sends a /clip or a press to the node that must do it (src/discord/routed.ts); absent alone. */
  readonly routing?: InteractionRouting;
  readonly log: Logger;
}

/** An interaction that is known to come from a guild (the router refuses DMs). */
export type GuildCommandInteraction = ChatInputCommandInteraction<'cached' | 'raw'>;

export interface Command {
  readonly data: SharedSlashCommand;
  /**
   * Subcommands (or the whole command when it has none) that wait on OBS, ffmpeg or uploads: the router
   * defers these at once so the 3 s answer window is never missed.
   */
  readonly deferred?: readonly string[];
  execute(interaction: GuildCommandInteraction, context: CommandContext): Promise<void>;
  autocomplete?(interaction: AutocompleteInteraction, context: CommandContext): Promise<void>;
  /**
   * A command whose work must run on the node watching a live (its buffer is there, CLUSTER=true): the
   * router runs it through these instead of `execute`, here or on that node. Deferred, always.
   */
  readonly routed?: RoutedCommand<unknown>;
}

export interface RoutedCommand<A> {
  /** Reads the interaction (on the node that received it) into plain JSON arguments, and whose live it is. */
  prepare(interaction: GuildCommandInteraction, context: CommandContext): Promise<{ readonly live: string; readonly args: A }>;
  /** Does the work and answers, on whichever node it runs. */
  run(args: A, answer: InteractionAnswer, context: CommandContext): Promise<void>;
}
