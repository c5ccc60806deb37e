// pino-roll ships no types; this is the part of its API the logger uses (see its README). The stream
// it resolves with is a sonic-boom file stream; only what the logger calls is declared.
declare module 'pino-roll' {
  import type { EventEmitter } from 'node:events';

  interface PinoRollOptions {
    file: string;
    size?: string | number;
    frequency?: 'daily' | 'hourly' | number;
    extension?: string;
    limit?: { count: number; removeOtherLogFiles?: boolean };
    mkdir?: boolean;
    symlink?: boolean;
    dateFormat?: string;
  }

  export interface RollingFileStream extends EventEmitter {
    write(line: string): boolean;
    end(): void;
  }

  export default function pinoRoll(options: PinoRollOptions): Promise<RollingFileStream>;
}
