// Host side of the engine worker: a typed request/response client over worker_threads. The worker
// is started lazily (opening VS Code must not cost a model load) and restarted after a crash.

import { Worker } from 'node:worker_threads';
import type { EngineMethod, EngineMethods, EngineReply, LoadProgress } from './engineProtocol';

interface Pending {
  resolve: (v: EngineMethods[EngineMethod]['result']) => void;
  reject: (e: Error) => void;
  onProgress?: (p: LoadProgress) => void;
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

  request<M extends EngineMethod>(
    method: M,
    params: EngineMethods[M]['params'],
    onProgress?: (p: LoadProgress) => void,
  ): Promise<EngineMethods[M]['result']> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<EngineMethods[M]['result']>((resolve, reject) => {
      // The pending table is keyed by id only, so the resolver is widened here and narrowed again
      // by the caller's M: the worker answers request id with the result of the same method.
      this.pending.set(id, { resolve: resolve as Pending['resolve'], reject, onProgress });
      worker.postMessage({ kind: 'request', id, method, params });
    });
  }

  /** Stops the worker (and so frees the model's memory); the next request starts a new one. */
  async stop(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
    this.failAll(new Error('The engine was stopped.'));
  }

  dispose(): void {
    void this.stop();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(this.workerPath);
    w.on('message', (m: EngineReply) => this.onReply(m));
    w.on('error', (e) => {
      this.log(`engine worker error: ${e.stack ?? e.message}`);
      this.failAll(e);
    });
    w.on('exit', (code) => {
      if (this.worker === w) {
        this.worker = undefined;
        if (code !== 0) this.log(`engine worker exited with code ${code}`);
        this.failAll(new Error(`The engine stopped (exit code ${code}).`));
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
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(m.error));
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
