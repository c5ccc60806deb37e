/**
 * Interactions whose work runs on another node (CLUSTER=true). Only the node holding the Discord gateway
 * receives interactions, but a /clip needs the live's buffer (on the node watching the live) and a review
 * button needs the clip's files (on the node that filed it). The gateway defers the interaction as always,
 * and the cluster hands the work to that node, which answers through the interaction's webhook (its
 * application id and token: Discord accepts them from any process for 15 minutes) with the same code a
 * local answer runs: both go through an InteractionAnswer.
 */
import { randomBytes } from 'node:crypto';
import {
  InteractionWebhook,
  MessageFlags,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Client,
  type InteractionEditReplyOptions,
} from 'discord.js';
import type { Logger } from 'pino';
import { leanError } from '../delivery/discord-errors.js';
import type { ReviewAction } from '../review/review-service.js';
import type { FiledOn } from '../store/settings-schema.js';
import { UserError } from '../util/errors.js';
import { cleanMessage } from '../util/text.js';

/** What answering an interaction from elsewhere takes: its id (the job's, so it is sent once) and webhook. */
export interface InteractionRef {
  readonly id: string;
  readonly applicationId: string;
  readonly token: string;
}

/** A review button's press, as the node that filed the clip carries it out. */
export interface PressTask {
  readonly kind: 'press';
  readonly guildId: string;
  readonly clipId: string;
  readonly action: ReviewAction;
  readonly member: string;
  readonly attachmentSizeLimit: number;
  /** The card's files other than the video (its chat file), kept when the video leaves the card. */
  readonly keptAttachments: ReadonlyArray<{ readonly id: string; readonly filename: string }>;
}

/** A command's work (`Command.routed`), as the node watching its live carries it out. */
export interface CommandTask {
  readonly kind: 'command';
  readonly name: string;
  readonly args: unknown;
}

export type RoutedTask = PressTask | CommandTask;

/** One interaction's work, sent as JSON from the gateway node to the node that must do it. */
export interface RoutedWork {
  readonly interaction: InteractionRef;
  readonly task: RoutedTask;
}

/** Where the work must run: the node watching a live, or the node that filed a clip. */
export type RouteTarget = { readonly live: string } | { readonly filedOn: FiledOn; readonly streamer: string };

/** The cluster's side (src/cluster/interaction-routing.ts); absent when the bot runs alone. */
export interface InteractionRouting {
  /**
   * `here` when this node is the one to do it; `answered` once the node that must do it has answered the
   * interaction itself. Throws a UserError (nothing was done) when that node is gone or does not answer.
   */
  forward(target: RouteTarget, work: RoutedWork): Promise<'here' | 'answered'>;
}

/** Answering an interaction that was deferred: the same calls on this node and on the node it was routed to. */
export interface InteractionAnswer {
  /** Edits the deferred reply (a command's) or the pressed card (a button's). */
  edit(options: InteractionEditReplyOptions): Promise<void>;
  /** A private follow-up (only the member who pressed or typed sees it). */
  whisper(content: string): Promise<void>;
}

export function refOf(interaction: ChatInputCommandInteraction | ButtonInteraction): InteractionRef {
  return { id: interaction.id, applicationId: interaction.applicationId, token: interaction.token };
}

/** The answer through the interaction itself (this node received it). */
export function answerOf(interaction: ChatInputCommandInteraction | ButtonInteraction): InteractionAnswer {
  return {
    edit: async (options) => {
      await interaction.editReply(cleanMessage(options));
    },
    whisper: async (content) => {
      await interaction.followUp(cleanMessage({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } }));
    },
  };
}

/** The answer through the interaction's webhook (the gateway node received it and routed it here). */
export function webhookAnswer(client: Client, ref: InteractionRef): InteractionAnswer {
  // A webhook call needs no login: a node without the gateway has REST only, which is enough.
  const webhook = new InteractionWebhook(client as Client<true>, ref.applicationId, ref.token);
  return {
    edit: async (options) => {
      await webhook.editMessage('@original', cleanMessage(options));
    },
    whisper: async (content) => {
      await webhook.send(cleanMessage({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } }));
    },
  };
}

/** What a member is told when work failed: a UserError's own words, else a report id logged with the error. */
export function failureText(err: unknown, log: Logger, logLine: string, about: Record<string, unknown>, afterReport = ''): string {
  if (err instanceof UserError) return err.message;
  const reportId = randomBytes(4).toString('hex');
  // Lean: a discord.js error carries its request body, the clip's bytes when an upload failed.
  log.error({ err: leanError(err), reportId, ...about }, logLine);
  return `Something went wrong (report \`${reportId}\`).${afterReport}`;
}
