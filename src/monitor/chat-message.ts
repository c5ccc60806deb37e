/** A TikTok LIVE chat message in the bot's own terms, independent of the library's protobuf types. */
export interface ChatMessage {
  /** TikTok's message id (`common.msgId`); used to drop replays after a reconnect. */
  readonly id: string;
  /** The watched streamer's @handle, lower-case, without `@`. */
  readonly streamer: string;
  /** The chatter's @handle (`user.displayId`), or their numeric id when TikTok sent no handle. */
  readonly chatter: string;
  /** The chatter's display name (`user.nickname`). */
  readonly chatterName: string;
  readonly text: string;
  /** When the bot received it. */
  readonly receivedAt: Date;
}
