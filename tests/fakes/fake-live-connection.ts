import type { ChatMessage } from '../../src/monitor/chat-message.js';
import type { LiveConnection, LiveConnectionEvents } from '../../src/monitor/live-connection.js';
import { Listeners } from '../../src/util/listeners.js';

/** A scriptable LiveConnection: tests set what TikTok "says" and push events by hand. */
export class FakeLiveConnection implements LiveConnection {
  isLiveAnswer: boolean | Error = false;
  connectAnswer: Error | undefined;
  readonly calls = { isLive: 0, connect: 0, disconnect: 0, fetchRoomInfo: 0 };
  private readonly listeners = new Listeners<LiveConnectionEvents>((err) => {
    throw err;
  });

  constructor(readonly username: string) {}

  async isLive(): Promise<boolean> {
    this.calls.isLive += 1;
    if (this.isLiveAnswer instanceof Error) throw this.isLiveAnswer;
    return this.isLiveAnswer;
  }

  /** What fetchRoomInfo() answers (an Error rejects). */
  roomInfoAnswer: unknown = { status_code: 0, data: { status: 4 } };

  async fetchRoomInfo(): Promise<unknown> {
    this.calls.fetchRoomInfo += 1;
    if (this.roomInfoAnswer instanceof Error) throw this.roomInfoAnswer;
    return this.roomInfoAnswer;
  }

  async connect(): Promise<void> {
    this.calls.connect += 1;
    if (this.connectAnswer) throw this.connectAnswer;
  }

  async disconnect(): Promise<void> {
    this.calls.disconnect += 1;
  }

  on<E extends keyof LiveConnectionEvents>(event: E, listener: LiveConnectionEvents[E]): () => void {
    return this.listeners.on(event, listener);
  }

  /** A non-chat room message (a join, a like, a viewer count when `viewers` is given). */
  roomMessage(viewers?: number): void {
    this.emit('activity');
    this.emit('roomTraffic', viewers);
  }

  /** A heartbeat answer: the socket lives, the room says nothing. */
  heartbeatAnswer(): void {
    this.emit('activity');
  }

  get listenerCount(): number {
    return this.listeners.count;
  }

  emit<E extends keyof LiveConnectionEvents>(event: E, ...args: Parameters<LiveConnectionEvents[E]>): void {
    this.listeners.emit(event, ...args);
  }

  chat(id: string, text: string, chatter = 'viewer'): void {
    const message: ChatMessage = { id, streamer: this.username, chatter, chatterName: chatter, text, receivedAt: new Date() };
    this.emit('activity');
    this.emit('roomTraffic', undefined);
    this.emit('chat', message);
  }
}
