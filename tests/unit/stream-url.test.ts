import { describe, expect, it } from 'vitest';
import { pickStreamSource, STREAM_REQUEST_HEADERS } from '../../src/capture/stream/stream-url.js';

/** Room info shaped like TikTok's (notes/tiktok.md): sdk data per quality, stream_data and sdk_params as JSON strings. */
function roomInfo(variants: Array<{ name: string; key: string; codec: string; resolution: string }>) {
  const data = Object.fromEntries(
    variants.map((v) => [v.key, { main: { flv: `https://pull.example/${v.name}.flv?expire=1&sign=x`, sdk_params: JSON.stringify({ VCodec: v.codec, resolution: v.resolution }) } }]),
  );
  return {
    status_code: 0,
    data: {
      status: 2,
      stream_url: {
        flv_pull_url: Object.fromEntries(variants.map((v) => [v.name, `https://pull.example/${v.name}.flv?expire=1&sign=x`])),
        live_core_sdk_data: {
          pull_data: {
            options: { qualities: variants.map((v, i) => ({ name: v.name, sdk_key: v.key, level: i })) },
            stream_data: JSON.stringify({ data: { ...data, ao: { main: { flv: 'https://pull.example/audio.flv' } } } }),
          },
        },
      },
    },
  };
}

describe('pickStreamSource', () => {
  it('prefers h264 at 720p over 1080p and over HEVC, with the headers TikTok expects', () => {
    const source = pickStreamSource(
      roomInfo([
        { name: 'FULL_HD1', key: 'origin', codec: 'h264', resolution: '1920x1080' },
        { name: 'HD1', key: 'hd', codec: 'h265', resolution: '1280x720' },
        { name: 'SD1', key: 'ld', codec: 'h264', resolution: '854x480' },
        { name: 'SD2', key: 'sd', codec: 'h264', resolution: '640x360' },
      ]),
      'bert',
    );
    expect(source).toMatchObject({ quality: 'SD1', codec: 'h264', height: 480 });
    expect(source.url).toBe('https://pull.example/SD1.flv?expire=1&sign=x');
    expect(source.headers).toEqual(STREAM_REQUEST_HEADERS);
    expect(source.headers.Referer).toBe('https://www.tiktok.com/');
  });

  it('takes HEVC when the live has nothing else, and says so', () => {
    const source = pickStreamSource(
      roomInfo([
        { name: 'FULL_HD1', key: 'origin', codec: 'h265', resolution: '1920x1080' },
        { name: 'HD1', key: 'hd', codec: 'h265', resolution: '720x1280' },
      ]),
      'hev',
    );
    expect(source).toMatchObject({ quality: 'HD1', codec: 'hevc', height: 720 });
  });

  it('falls back to flv_pull_url (HD1 first) when there is no sdk data', () => {
    const source = pickStreamSource(
      { status_code: 0, data: { stream_url: { flv_pull_url: { FULL_HD1: 'https://a/1.flv', HD1: 'https://a/2.flv', SD2: 'https://a/3.flv' } } } },
      'bert',
    );
    expect(source).toMatchObject({ url: 'https://a/2.flv', codec: 'unknown', quality: 'HD1' });
  });

  it('refuses a room without video, and names a restricted LIVE', () => {
    expect(() => pickStreamSource({ status_code: 0, data: { status: 4 } }, 'bert')).toThrow(/no FLV video/);
    expect(() => pickStreamSource({ status_code: 4003110, data: { prompts: '' } }, 'bert')).toThrow(/restricted/);
    expect(() => pickStreamSource({ data: { stream_url: { flv_pull_url: { HD1: 'file:///etc/passwd' } } } }, 'x')).toThrow(
      expect.objectContaining({ code: 'STREAM_NO_VIDEO' }) as Error,
    );
  });
});
