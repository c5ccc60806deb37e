/**
 * A logged-in TikTok web session (TIKTOK_SESSION_ID + TIKTOK_TT_TARGET_IDC), the one home for how it is
 * read from the configuration and how it travels as cookies. Secret: never logged (the logger redacts
 * both values in every form), never stored.
 */

export interface TikTokSession {
  readonly sessionId: string;
  /** The data centre the session lives in; TikTok treats the session as unknown anywhere else. */
  readonly ttTargetIdc: string;
}

/** The session when both keys are set (config.ts refuses one without the other). */
export function tiktokSession(config: { readonly tiktokSessionId: string | undefined; readonly tiktokTtTargetIdc: string | undefined }): TikTokSession | undefined {
  const { tiktokSessionId: sessionId, tiktokTtTargetIdc: ttTargetIdc } = config;
  return sessionId !== undefined && ttTargetIdc !== undefined ? { sessionId, ttTargetIdc } : undefined;
}

/**
 * The Cookie header for a request outside tiktok-live-connector (stream capture's video pull), with the
 * names the library itself seeds its cookie jar with (`sessionid`, `sessionid_ss`, `tt-target-idc`).
 */
export function sessionCookieHeader(session: TikTokSession): string {
  const id = encodeURIComponent(session.sessionId);
  return `sessionid=${id}; sessionid_ss=${id}; tt-target-idc=${encodeURIComponent(session.ttTargetIdc)}`;
}
