/**
 * HTTP for hub downloads with the two timeouts a download needs: until the response
 * headers arrive (connecting included), and between two chunks of the body. A server that
 * accepts and never answers, or stalls mid-file, fails with a message naming the host and
 * the setting, instead of hanging. The default follows huggingface_hub's
 * HF_HUB_DOWNLOAD_TIMEOUT (seconds).
 */
/** A hub that does not answer, stalls mid-file, or sends more than a file may hold. */
export class HubResponseError extends Error {}

const DEFAULT_TIMEOUT_MS = 30_000;

/** The timeout in ms: the option, else $HF_HUB_DOWNLOAD_TIMEOUT (seconds), else 30 s. */
export function hubTimeoutMs(option?: number): number {
  if (option !== undefined) return option;
  const env = Number(process.env.HF_HUB_DOWNLOAD_TIMEOUT);
  return Number.isFinite(env) && env > 0 ? env * 1000 : DEFAULT_TIMEOUT_MS;
}

/**
 * A fetch whose connect/headers wait and every wait for the next body chunk are bounded
 * by `timeoutMs`; `outer` still cancels it (its AbortError passes through untouched).
 * With `maxBytes`, a body longer than that is cut off with an error (a server streaming
 * without end into memory).
 */
export function timedFetch(timeoutMs: number, outer?: AbortSignal, maxBytes = Infinity): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const controller = new AbortController();
    const timeout = (stage: string) =>
      new HubResponseError(
        `the hub at ${url.host} sent nothing for ${timeoutMs / 1000} s ${stage} ${url.pathname.split('/').pop()}; ` +
          `it may be down or unreachable (set HF_HUB_DOWNLOAD_TIMEOUT, in seconds, to wait longer)`,
      );
    let timer: NodeJS.Timeout | undefined;
    const arm = (stage: string) => {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(timeout(stage)), timeoutMs);
      timer.unref(); // a response left unread must not keep the process alive
    };
    const onOuter = () => controller.abort(outer!.reason);
    outer?.addEventListener('abort', onOuter, { once: true });
    if (outer?.aborted) onOuter();
    const done = () => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    };
    arm('before answering the request for');
    let res: Response;
    try {
      res = await fetch(input, { ...init, signal: controller.signal });
    } catch (e) {
      done();
      throw controller.signal.aborted ? controller.signal.reason : e;
    }
    if (!res.body) {
      done();
      return res;
    }
    arm('while sending');
    let received = 0;
    const body = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctl) {
          received += chunk.length;
          if (received > maxBytes) {
            done();
            controller.abort();
            throw new HubResponseError(`the hub at ${url.host} sent more than ${maxBytes} bytes for ${url.pathname.split('/').pop()}; refusing it`);
          }
          arm('while sending');
          ctl.enqueue(chunk);
        },
        flush: done,
      }),
    );
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}
