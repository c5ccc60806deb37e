import { AppError } from '../util/errors.js';
import type { ChatMessage } from './chat-message.js';

/**
 * One TikTok user's LIVE, as the stream supervisor sees it. The TikTok adapter implements it on
 * tiktok-live-connector; unit tests use fakes. It never reconnects by itself: the supervisor decides.
 */
export interface LiveConnection {
  readonly username: string;
  /**
   * Cheap liveness check (no signing-service connect). Rejects with TikTokError coded
   * TIKTOK_USER_NOT_FOUND, TIKTOK_RATE_LIMITED, TIKTOK_CONNECT_FAILED or TIMEOUT.
   */
  isLive(signal?: AbortSignal): Promise<boolean>;
  /**
   * Connects to the LIVE's chat; resolves once the push socket is open. Chats sent before the connection
   * (TikTok's initial data) are never emitted. Rejects with TikTokError coded TIKTOK_OFFLINE,
   * TIKTOK_USER_NOT_FOUND, TIKTOK_RATE_LIMITED (with retryAfterMs), TIKTOK_CONNECT_FAILED or TIMEOUT.
   */
  connect(signal?: AbortSignal): Promise<void>;
  /**
   * TikTok's room info for the user's current room, raw (`{ status_code, data }`), fetched fresh each time:
   * stream capture reads the LIVE's video URLs from it (src/capture/stream/stream-url.ts) and asks again when
   * a signed URL expires. No signing-service connect. Rejects with TikTokError like isLive().
   */
  fetchRoomInfo(signal?: AbortSignal): Promise<unknown>;
  /** Closes the socket if open; never throws. After it, no more events until the next connect(). */
  disconnect(): Promise<void>;
  /** Subscribes; returns the unsubscribe function. */
  on<E extends keyof LiveConnectionEvents>(event: E, listener: LiveConnectionEvents[E]): () => void;
}

export interface LiveConnectionEvents {
  chat: (message: ChatMessage) => void;
  /** A gift; a streak sends one per repeat with its running count, the last one `isFinal`. */
  gift: (gift: GiftEvent) => void;
  /**
   * Any frame from the server, heartbeat answers included: the socket lives. Feeds the dead-socket
   * watchdog only; a socket can live on while the room sends nothing (see roomTraffic).
   */
  activity: () => void;
  /**
   * A room message: chat, member (join), like, gift, social (follow, share) or viewer count, with the viewer
   * count when the message carried it. Feeds the silent-room watch (src/monitor/silent-room.ts); heartbeat
   * answers and other housekeeping frames never fire it.
   */
  roomTraffic: (viewers: number | undefined) => void;
  /** The socket closed without a stream end (network drop, server close). */
  disconnected: (reason: string) => void;
  /** TikTok said the LIVE ended. */
  streamEnd: () => void;
}

/** A TikTok LIVE gift in the bot's own terms, independent of the library's protobuf types. */
export interface GiftEvent {
  /** The watched streamer's @handle, lower-case, without `@`. */
  readonly streamer: string;
  /** The sender's @handle (`user.displayId`), or their numeric id when TikTok sent no handle. */
  readonly sender: string;
  readonly senderName: string;
  /** The gift's name as TikTok shows it (`gift.name`), e.g. `Rose`. */
  readonly giftName: string;
  /** Diamonds one gift is worth (`gift.diamondCount`). */
  readonly diamondCount: number;
  /** How many were sent (`repeatCount`; a streak's running total, final once `isStreakEnd`). */
  readonly repeatCount: number;
  /**
   * False while a streak is still running (a streakable gift with `repeatEnd` 0): its value is not final.
   * True for a streak's last message and for a gift that cannot streak.
   */
  readonly isFinal: boolean;
  readonly receivedAt: Date;
}

export type LiveConnectionFactory = (username: string) => LiveConnection;

export class TikTokError extends AppError {
  override readonly name: string = 'TikTokError';
  /** For TIKTOK_RATE_LIMITED: how long the signing service asked us to wait, if it said. */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: AppError['code'],
    message: string,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(code, message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}
