/**
 * Messages as the fake stores them: parsed from what discord.js sends (JSON, or multipart with
 * `payload_json` + `files[n]`), checked against the limits Discord enforces, and rendered back as the
 * message object discord.js expects in the response.
 */
import type { APIEmbed } from 'discord.js';
import { MessageFlags } from 'discord.js';
import { type FakeUser, type SnowflakeFactory, userPayload } from './discord-payloads.js';

export interface PostedFile {
  name: string;
  data: Buffer;
  contentType?: string;
}

export interface PostedMessage {
  /** The message's id: what a button press (`FakeDiscord.press`) or a link names. */
  id: string;
  channelId: string;
  content: string;
  embeds: APIEmbed[];
  files: PostedFile[];
  ephemeral: boolean;
  /** Action rows of buttons as Discord stores them (type 1 rows of type 2 buttons). */
  components: MessageComponentRow[];
  at: Date;
}

/** A button as stored on a message (discord-api-docs: interactions/message-components#button-object). */
export interface MessageButton {
  type: 2;
  style: number;
  label?: string;
  custom_id?: string;
  url?: string;
  disabled?: boolean;
  emoji?: unknown;
}

export interface MessageComponentRow {
  type: 1;
  components: MessageButton[];
}

/** A request body: the JSON part (or `payload_json`) and any uploaded files in form order. */
export interface IncomingBody {
  /** The parsed JSON as sent (command registration sends an array). */
  value: unknown;
  /** `value` when it is an object, else empty: what message routes read. */
  json: Record<string, unknown>;
  files: IncomingFile[];
}

interface IncomingFile extends PostedFile {
  /** n of the `files[n]` form key; payload_json.attachments[].id refers to it. */
  index: number;
}

export interface StoredAttachment extends PostedFile {
  id: string;
}

export interface StoredMessage {
  id: string;
  channelId: string;
  content: string;
  embeds: APIEmbed[];
  attachments: StoredAttachment[];
  /** Kept across edits that do not send `components`; an empty list removes them (as on Discord). */
  components: MessageComponentRow[];
  flags: number;
  /** Message type: 0 default, 20 chat-input command reply (discord-api-docs: message-object-message-types). */
  type: number;
  createdAt: Date;
  editedAt: Date | null;
  /** Set on interaction responses and follow-ups, which Discord sends through the application's webhook. */
  webhookId?: string;
}

/** A Discord-style error answer: discord.js turns it into DiscordAPIError with this code and status. */
export interface ApiErrorReply {
  status: number;
  body: { message: string; code: number; errors?: Record<string, unknown> };
}

export const DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024;

/** Bytes per file for a guild's boost tier (discord-api-docs: uploading files; 10 MiB default since 2025-01-16). */
export function uploadLimitForTier(tier: 0 | 1 | 2 | 3): number {
  const mebibytes = [10, 10, 50, 100] as const;
  return mebibytes[tier] * 1024 * 1024;
}

export async function parseBody(raw: Buffer, contentType: string | undefined): Promise<IncomingBody> {
  if (contentType?.startsWith('multipart/form-data')) return parseMultipart(raw, contentType);
  if (raw.length === 0) return { value: undefined, json: {}, files: [] };
  const value: unknown = JSON.parse(raw.toString('utf8'));
  return { value, json: isRecord(value) ? value : {}, files: [] };
}

/** Node's fetch Request already speaks multipart; no parser of our own to get wrong. */
async function parseMultipart(raw: Buffer, contentType: string): Promise<IncomingBody> {
  const form = await new Request('http://fake.invalid/', {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: raw,
  }).formData();

  let value: unknown;
  const files: IncomingFile[] = [];
  for (const [key, entry] of form.entries()) {
    if (key === 'payload_json' && typeof entry === 'string') {
      value = JSON.parse(entry);
    } else if (typeof entry !== 'string') {
      const index = Number(/^files\[(\d+)\]$/.exec(key)?.[1] ?? files.length);
      files.push({
        index,
        name: entry.name,
        data: Buffer.from(await entry.arrayBuffer()),
        ...(entry.type ? { contentType: entry.type } : {}),
      });
    }
  }
  return { value, json: isRecord(value) ? value : {}, files };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A new message, or an edit of `previous`: fields absent from the body keep their old value, and
 * uploaded files are added to the attachments the body says to keep (discord-api-docs: edit message,
 * "attachments: ... including any attachments you want to keep").
 */
export function buildMessage(
  ids: SnowflakeFactory,
  body: IncomingBody,
  base: { channelId: string; type: number; webhookId?: string },
  previous?: StoredMessage,
): StoredMessage {
  const { json } = body;
  const now = new Date();
  const flags = messageFlags(json.flags, previous);
  return {
    id: previous?.id ?? ids.next(),
    channelId: base.channelId,
    content: typeof json.content === 'string' ? json.content : (previous?.content ?? ''),
    embeds: Array.isArray(json.embeds) ? (json.embeds as APIEmbed[]) : (previous?.embeds ?? []),
    attachments: [...keptAttachments(json.attachments, previous), ...uploadedAttachments(ids, body)],
    components: Array.isArray(json.components) ? (json.components as MessageComponentRow[]) : (previous?.components ?? []),
    flags,
    type: base.type,
    createdAt: previous?.createdAt ?? now,
    editedAt: previous ? now : null,
    ...(base.webhookId ? { webhookId: base.webhookId } : {}),
  };
}

/** Ephemerality is fixed when a message is created; an edit can neither add nor remove it. Loading ends. */
function messageFlags(requested: unknown, previous: StoredMessage | undefined): number {
  const asked = typeof requested === 'number' ? requested : 0;
  if (!previous) return asked;
  const ephemeral = previous.flags & MessageFlags.Ephemeral;
  return (asked & ~MessageFlags.Ephemeral & ~MessageFlags.Loading) | ephemeral;
}

function keptAttachments(requested: unknown, previous: StoredMessage | undefined): StoredAttachment[] {
  if (!previous) return [];
  if (!Array.isArray(requested)) return previous.attachments;
  const keep = new Set(requested.filter(isRecord).map((entry) => String(entry.id)));
  return previous.attachments.filter((attachment) => keep.has(attachment.id));
}

function uploadedAttachments(ids: SnowflakeFactory, body: IncomingBody): StoredAttachment[] {
  const declared = Array.isArray(body.json.attachments) ? body.json.attachments.filter(isRecord) : [];
  return body.files.map((file) => {
    // payload_json.attachments[].filename overrides the form part's file name when given.
    const entry = declared.find((candidate) => String(candidate.id) === String(file.index));
    const name = typeof entry?.filename === 'string' ? entry.filename : file.name;
    return {
      id: ids.next(),
      name,
      data: file.data,
      ...(file.contentType ? { contentType: file.contentType } : {}),
    };
  });
}

export function toPosted(message: StoredMessage): PostedMessage {
  return {
    id: message.id,
    channelId: message.channelId,
    content: message.content,
    embeds: message.embeds,
    files: message.attachments.map(({ name, data, contentType }) => ({
      name,
      data,
      ...(contentType ? { contentType } : {}),
    })),
    ephemeral: (message.flags & MessageFlags.Ephemeral) !== 0,
    components: message.components,
    at: message.editedAt ?? message.createdAt,
  };
}

/** Where the fake serves an attachment's bytes, like cdn.discordapp.com/attachments/... */
export function attachmentPath(channelId: string, attachment: StoredAttachment): string {
  return `/attachments/${channelId}/${attachment.id}/${encodeURIComponent(attachment.name)}`;
}

/** The message object of discord-api-docs resources/message, as returned by create/edit/get. */
export function messagePayload(message: StoredMessage, author: FakeUser, baseUrl: string) {
  return {
    id: message.id,
    channel_id: message.channelId,
    author: userPayload(author),
    content: message.content,
    timestamp: message.createdAt.toISOString(),
    edited_timestamp: message.editedAt?.toISOString() ?? null,
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    mention_channels: [],
    attachments: message.attachments.map((attachment) => {
      const url = `${baseUrl}${attachmentPath(message.channelId, attachment)}`;
      return {
        id: attachment.id,
        filename: attachment.name,
        size: attachment.data.length,
        url,
        proxy_url: url,
        ...(attachment.contentType ? { content_type: attachment.contentType } : {}),
        ...((message.flags & MessageFlags.Ephemeral) !== 0 ? { ephemeral: true } : {}),
      };
    }),
    embeds: message.embeds.map((embed) => ({ type: 'rich', ...embed })),
    reactions: [],
    pinned: false,
    type: message.type,
    flags: message.flags,
    components: message.components,
    ...(message.webhookId ? { webhook_id: message.webhookId, application_id: message.webhookId } : {}),
  };
}

/** Discord's message limits (discord-api-docs: resources/message create, embed limits). */
const LIMITS = {
  content: 2000,
  embeds: 10,
  embedTotal: 6000,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  authorName: 256,
} as const;

/** The first rule the message breaks, answered the way Discord does (50035 Invalid Form Body, 50006 empty). */
export function validateMessage(message: StoredMessage, isCreate: boolean): ApiErrorReply | undefined {
  if (isCreate && !message.content && message.embeds.length === 0 && message.attachments.length === 0) {
    return { status: 400, body: { message: 'Cannot send an empty message', code: 50006 } };
  }
  const problems: Record<string, string> = {};
  if (message.content.length > LIMITS.content) problems.content = `Must be ${LIMITS.content} or fewer in length.`;
  if (message.embeds.length > LIMITS.embeds) problems.embeds = `Must be ${LIMITS.embeds} or fewer in length.`;
  if (totalEmbedLength(message.embeds) > LIMITS.embedTotal) {
    problems.embeds = `Embed size exceeds maximum size of ${LIMITS.embedTotal}`;
  }
  message.embeds.forEach((embed, index) => Object.assign(problems, embedProblems(embed, `embeds.${index}`)));
  Object.assign(problems, componentProblems(message.components));
  const keys = Object.keys(problems);
  if (keys.length === 0) return undefined;
  // discord.js flattens `errors` into the DiscordAPIError message: "embeds.0.title[BASE_TYPE_MAX_LENGTH]: ...".
  const errors = Object.fromEntries(
    keys.map((key) => [key, { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: problems[key] }] }]),
  );
  return { status: 400, body: { message: 'Invalid Form Body', code: 50035, errors } };
}

function embedProblems(embed: APIEmbed, path: string): Record<string, string> {
  const problems: Record<string, string> = {};
  const tooLong = (key: string, text: string | undefined, max: number) => {
    if (text !== undefined && text.length > max) problems[`${path}.${key}`] = `Must be ${max} or fewer in length.`;
  };
  tooLong('title', embed.title, LIMITS.title);
  tooLong('description', embed.description, LIMITS.description);
  tooLong('footer.text', embed.footer?.text, LIMITS.footer);
  tooLong('author.name', embed.author?.name, LIMITS.authorName);
  const fields = embed.fields ?? [];
  if (fields.length > LIMITS.fields) problems[`${path}.fields`] = `Must be ${LIMITS.fields} or fewer in length.`;
  fields.forEach((field, index) => {
    tooLong(`fields.${index}.name`, field.name, LIMITS.fieldName);
    tooLong(`fields.${index}.value`, field.value, LIMITS.fieldValue);
  });
  return problems;
}

/**
 * Discord's component rules: at most 5 action rows of at most 5 buttons; a button needs a label or an
 * emoji, a custom_id of 1-100 characters (link buttons a url instead), a label of at most 80, a known style
 * (1-5), and custom_ids unique within the message (interactions/message-components).
 */
function componentProblems(rows: MessageComponentRow[]): Record<string, string> {
  const problems: Record<string, string> = {};
  if (!Array.isArray(rows)) return { components: 'Must be a list.' };
  if (rows.length > 5) problems.components = 'Must be 5 or fewer in length.';
  const seen = new Set<string>();
  rows.forEach((row, r) => {
    if (!isRecord(row) || row.type !== 1 || !Array.isArray(row.components)) {
      problems[`components.${r}`] = 'Must be an action row (type 1) of components.';
      return;
    }
    if (row.components.length < 1 || row.components.length > 5) problems[`components.${r}.components`] = 'Must be between 1 and 5 in length.';
    row.components.forEach((button, b) => {
      const at = `components.${r}.components.${b}`;
      if (!isRecord(button) || button.type !== 2) {
        problems[at] = 'Only buttons (type 2) are understood by this fake.';
        return;
      }
      if (!(Number(button.style) >= 1 && Number(button.style) <= 5)) problems[`${at}.style`] = 'Invalid button style.';
      if (button.label === undefined && button.emoji === undefined) problems[`${at}.label`] = 'A button needs a label or an emoji.';
      if (typeof button.label === 'string' && button.label.length > 80) problems[`${at}.label`] = 'Must be 80 or fewer in length.';
      if (Number(button.style) === 5) {
        if (typeof button.url !== 'string') problems[`${at}.url`] = 'A link button needs a url.';
        return;
      }
      const id = button.custom_id;
      if (typeof id !== 'string' || id.length < 1 || id.length > 100) problems[`${at}.custom_id`] = 'Must be between 1 and 100 in length.';
      else if (seen.has(id)) problems[`${at}.custom_id`] = 'Component custom id cannot be duplicated.';
      else seen.add(id);
    });
  });
  return problems;
}

function totalEmbedLength(embeds: APIEmbed[]): number {
  let total = 0;
  for (const embed of embeds) {
    total += (embed.title ?? '').length + (embed.description ?? '').length;
    total += (embed.footer?.text ?? '').length + (embed.author?.name ?? '').length;
    for (const field of embed.fields ?? []) total += field.name.length + field.value.length;
  }
  return total;
}

/** 413 / 40005 when any new file is over the limit, as Discord answers an oversized upload. */
export function checkUploadLimit(body: IncomingBody, limit: number): ApiErrorReply | undefined {
  const tooLarge = body.files.find((file) => file.data.length > limit);
  if (!tooLarge) return undefined;
  return { status: 413, body: { message: 'Request entity too large', code: 40005 } };
}
