// The set-up every e2e file on gpt2-books shares: the reason to skip (no code-server, no Chromium,
// no model, or what the file adds), the core loaded in the test process (the tests' expected
// values come from it), and a VS Code session with FFN Lens pointed at the model. It registers the
// before/after hooks itself; a file that needs more set-up does it in `ready`, inside the same
// before(): Node 20's runner does not wait for one root-level before() to finish before the next.

import * as fs from 'node:fs';
import { after, before } from 'node:test';
import { closeSession, e2eUnavailable, sharedModel, VsCodeSession } from './harness';
import type * as Core from '../../src/core/index';
import { tempDir } from '../support';

export interface ModelSuite {
  vsc: VsCodeSession;
  core: typeof Core;
  model: Core.Model;
}

export interface ModelSuiteOptions {
  /** Artifact sub-folder (SessionOptions.name). */
  name: string;
  /** Folder copied as the workspace (default test/e2e/workspace). */
  workspace?: string;
  /** User settings for the session, given the model's folder. */
  settings: (modelDir: string) => Record<string, unknown>;
  /** Why this file cannot run besides the common reasons (a missing corpus), or undefined. */
  alsoNeeds?: () => string | undefined;
}

/**
 * Registers the hooks and returns the skip reason (undefined when the suite runs). ready receives
 * the session, core and model once before() has them (and may set up more; before() waits for it);
 * after() disposes them and checks that no process was left behind.
 */
export function modelSuite(opts: ModelSuiteOptions, ready: (s: ModelSuite) => void | Promise<void>): string | undefined {
  const shared = sharedModel();
  const skip = e2eUnavailable() ?? ('skip' in shared ? shared.skip : undefined) ?? opts.alsoNeeds?.();
  if (skip) console.log(`# e2e skipped: ${skip}`);
  let vsc: VsCodeSession | undefined;
  let model: Core.Model | undefined;
  let cacheDir: string | undefined;

  before(async () => {
    if (skip || !('dir' in shared)) return;
    const core = await import('../../src/core/index');
    cacheDir = tempDir('ffn-lens-e2e-core-');
    model = await core.loadModel(shared.dir, { cacheDir });
    vsc = await VsCodeSession.launch({ name: opts.name, workspace: opts.workspace, settings: opts.settings(shared.dir) });
    await ready({ vsc, core, model });
  });

  after(async () => {
    await model?.dispose();
    if (cacheDir) fs.rmSync(cacheDir, { recursive: true, force: true });
    if (vsc) await closeSession(vsc);
  });
  return skip;
}
