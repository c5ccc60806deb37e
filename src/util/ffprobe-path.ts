/** `/opt/ffmpeg/bin/ffmpeg` → `/opt/ffmpeg/bin/ffprobe`, `C:\ff\ffmpeg.exe` → `C:\ff\ffprobe.exe`, `ffmpeg` → `ffprobe`. */
export function deriveFfprobePath(ffmpegPath: string): string {
  const separator = Math.max(ffmpegPath.lastIndexOf('/'), ffmpegPath.lastIndexOf('\\'));
  const folder = ffmpegPath.slice(0, separator + 1);
  const name = ffmpegPath.slice(separator + 1);
  return /ffmpeg/i.test(name) ? folder + name.replace(/ffmpeg/i, 'ffprobe') : `${folder}ffprobe`;
}
