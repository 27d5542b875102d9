// Host side of the engine worker: a typed request/response client over worker_threads. The worker
// is started lazily (opening VS Code must not cost a model load) and restarted after a crash.

import { SHARE_ENV, Worker } from 'node:worker_threads';
import type { EngineCancel, EngineMethod, EngineMethods, EngineProgress, EngineReply, EngineRequest } from './engineProtocol';

export interface RequestOptions {
  onProgress?: (p: EngineProgress) => void;
  /** Aborting asks the worker to stop the request; it then rejects with an EngineError whose `aborted` is true. */
  signal?: AbortSignal;
}

/**
 * A failed engine request; `aborted` when it stopped because it was cancelled,
 * `insufficientMemory` when a load was refused because the model would not fit.
 */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly aborted = false,
    readonly insufficientMemory = false,
  ) {
    super(message);
  }
}

interface Pending {
  resolve: (v: EngineMethods[EngineMethod]['result']) => void;
  reject: (e: Error) => void;
  onProgress?: (p: EngineProgress) => void;
  cleanup: () => void;
}

export class EngineClient {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly workerPath: string,
    private readonly log: (line: string) => void,
    /** Called when the worker dies: whatever it had loaded is gone. */
    private readonly onExit: () => void = () => undefined,
  ) {}

  request<M extends EngineMethod>(method: M, params: EngineMethods[M]['params'], opts: RequestOptions = {}): Promise<EngineMethods[M]['result']> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<EngineMethods[M]['result']>((resolve, reject) => {
      const { signal } = opts;
      // The worker keeps running the job until it reaches a point where stopping is safe (an
      // index build checkpoints first), so the promise settles on its answer, not on abort.
      const onAbort = (): void => worker.postMessage({ kind: 'cancel', id } satisfies EngineCancel);
      signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = (): void => signal?.removeEventListener('abort', onAbort);
      // The pending table is keyed by id only, so the resolver is widened here and narrowed again
      // by the caller's M: the worker answers request id with the result of the same method.
      this.pending.set(id, { resolve: resolve as Pending['resolve'], reject, onProgress: opts.onProgress, cleanup });
      worker.postMessage({ kind: 'request', id, method, params } as EngineRequest);
      if (signal?.aborted) onAbort();
    });
  }

  /** Stops the worker (and so frees the model's memory); the next request starts a new one. */
  async stop(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
    this.failAll(new EngineError('The engine was stopped.'));
  }

  dispose(): void {
    void this.stop();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    // SHARE_ENV: the core sets ORT_DISABLE_TELEMETRY in process.env before onnxruntime
    // loads; only a shared environment reaches the native library (no telemetry)
    const w = new Worker(this.workerPath, { env: SHARE_ENV });
    w.on('message', (m: EngineReply) => this.onReply(m));
    w.on('error', (e) => {
      this.log(`engine worker error: ${e.stack ?? e.message}`);
      this.failAll(e);
    });
    w.on('exit', (code) => {
      if (this.worker === w) {
        this.worker = undefined;
        if (code !== 0) this.log(`engine worker exited with code ${code}`);
        this.failAll(new EngineError(`The engine stopped (exit code ${code}).`));
        this.onExit();
      }
    });
    this.worker = w;
    return w;
  }

  private onReply(m: EngineReply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.kind === 'progress') {
      p.onProgress?.(m.progress);
      return;
    }
    this.pending.delete(m.id);
    p.cleanup();
    if (m.ok) p.resolve(m.result);
    else p.reject(new EngineError(m.error, m.aborted === true, m.insufficientMemory === true));
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) {
      p.cleanup();
      p.reject(e);
    }
    this.pending.clear();
  }
}
