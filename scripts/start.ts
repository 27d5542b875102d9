// `npm start`: FFN Lens in code-server on 127.0.0.1 with the sample workspace, for a person to try
// in a browser. Uses gpt2-books from shared/ when present (FFN_LENS_SHARED, default ../shared),
// otherwise the extension's default model. Ctrl-C stops code-server and removes its temp folder.
// Needs `bash test/e2e/setup.sh` once and a build (`node scripts/build.mjs`).

import { missingInstall, startCodeServer } from '../test/e2e/codeServer';
import { sharedModel } from '../test/e2e/harness';

async function main(): Promise<void> {
  const missing = missingInstall();
  if (missing) {
    console.error(`ffn-lens start: ${missing}`);
    process.exit(1);
  }
  const model = sharedModel();
  const settings: Record<string, unknown> = 'dir' in model ? { 'ffnLens.model': model.dir } : {};
  if ('skip' in model) console.log(`note: ${model.skip}; using the default model setting`);
  const port = process.env.PORT ? Number(process.env.PORT) : undefined;
  const server = await startCodeServer({ settings, port });
  console.log(`FFN Lens is running in code-server: ${server.url}`);
  console.log(`model: ${'dir' in model ? model.dir : 'openai-community/gpt2 (default)'}; code-server log: ${server.tmp}/code-server.log`);
  console.log('Open the URL, open sample.txt, select a sentence and run "FFN Lens: Inspect Selection". Ctrl-C stops.');
  // Ctrl-C: codeServer.ts' exit hooks stop code-server and remove its temp folder.
}

void main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
