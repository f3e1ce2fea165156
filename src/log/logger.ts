/**
 * One root pino logger; children per call and per request.
 *
 * @remarks
 * Phone numbers go only into the fields listed in {@link REDACTED_PATHS}, which
 * pino's redact masks with {@link maskNumber}; message strings must never carry
 * a number. As a second line of defence every string field is run through
 * {@link maskNumbersInText} by the formatter hook, so a number that slips into
 * a message is still masked.
 */
import { destination as pinoDestination, pino, stdSerializers, type Logger, type DestinationStream } from 'pino';
import { maskNumber, maskNumbersInText } from '../access/mask-numbers.js';

export type { Logger } from 'pino';

export const REDACTED_PATHS = [
  'caller',
  'callerNumber',
  'number',
  'connected',
  'callee',
  '*.caller',
  '*.callerNumber',
  '*.number',
  '*.connected',
  'call.caller.number',
  'channel.caller.number',
  'channel.connected.number',
  'req.headers.authorization',
  'req.headers.cookie',
];

function censor(value: unknown, path: string[]): unknown {
  const last = path[path.length - 1];
  if (last === 'authorization' || last === 'cookie') return '[secret]';
  if (typeof value === 'string' || typeof value === 'number') return maskNumber(String(value));
  if (value && typeof value === 'object' && 'number' in value) {
    return { ...(value as object), number: maskNumber(String((value as { number: unknown }).number)) };
  }
  return value;
}

function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskNumbersInText(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  if (value instanceof Error) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrub(v, depth + 1);
  return out;
}

interface RequestLike {
  method?: string;
  url?: string;
  routeOptions?: { url?: string };
  ip?: string;
  socket?: { remoteAddress?: string };
}

/** What an operator needs of a request (the URL is scrubbed like every string). */
function serializeRequest(req: RequestLike): Record<string, unknown> {
  return {
    method: req.method,
    url: req.url,
    ...(req.routeOptions?.url ? { route: req.routeOptions.url } : {}),
    remoteAddress: req.ip ?? req.socket?.remoteAddress,
  };
}

function serializeReply(res: { statusCode?: number }): Record<string, unknown> {
  return { statusCode: res.statusCode };
}

export function createLogger(opts: { level: string; destination?: DestinationStream; name?: string }): Logger {
  return pino(
    {
      level: opts.level,
      name: opts.name ?? 'hotline',
      redact: { paths: REDACTED_PATHS, censor },
      formatters: {
        // Serialize Fastify's request/reply here, before scrubbing: their fields are prototype
        // getters that the scrubber (own properties only) would drop, leaving `req: {}`.
        log: (obj) =>
          scrub({
            ...obj,
            ...(obj.req && typeof obj.req === 'object' ? { req: serializeRequest(obj.req as RequestLike) } : {}),
            ...(obj.res && typeof obj.res === 'object' ? { res: serializeReply(obj.res as { statusCode?: number }) } : {}),
          }) as Record<string, unknown>,
      },
      hooks: {
        // Mask numbers that slipped into the message string itself.
        logMethod(args, method) {
          const masked = args.map((a) => (typeof a === 'string' ? maskNumbersInText(a) : a)) as Parameters<typeof method>;
          method.apply(this, masked);
        },
      },
      serializers: { err: stdSerializers.err, req: serializeRequest, res: serializeReply },
    },
    opts.destination ?? batchedStdout(),
  );
}

let shared: BatchedStdout | undefined;

/** The one batched stdout of this process: every logger without a destination shares it (lines stay in order). */
function batchedStdout(): BatchedStdout {
  shared ??= new BatchedStdout();
  return shared;
}

/**
 * The server's default log destination: stdout, written at most every {@link BatchedStdout.delayMs}
 * (or at 16 KiB) instead of one write(2) per line — those cost 3 % of the server's CPU at 100 calls/s
 * (bench part 5). What is buffered is written at exit, also after an uncaught exception; a kill -9
 * loses at most the last 200 ms of lines.
 */
export class BatchedStdout implements DestinationStream {
  private buf = '';
  private timer: NodeJS.Timeout | undefined;
  private readonly out = pinoDestination({ dest: 1, sync: false });

  constructor(
    readonly delayMs = 200,
    private readonly maxBytes = 16_384,
  ) {
    process.once('exit', () => {
      this.flush();
      try {
        this.out.flushSync();
      } catch {
        // an asynchronous write still under way: sonic-boom finishes it itself at exit
      }
    });
  }

  write(line: string): void {
    this.buf += line;
    if (this.buf.length >= this.maxBytes) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.delayMs);
      this.timer.unref();
    }
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.buf) return;
    this.out.write(this.buf);
    this.buf = '';
  }
}
