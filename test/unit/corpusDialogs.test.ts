/** The Build Trigger Index picker offers folders as well as files on every platform. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpusDialogs } from '../../src/extension/corpusDialogs';

test('corpus dialogs: files and folders everywhere, in one dialog only where the platform allows both', () => {
  for (const platform of ['darwin', 'linux', 'win32'] as const) {
    const dialogs = corpusDialogs(platform);
    assert.ok(dialogs.some((d) => d.canSelectFiles), `${platform}: files can be picked`);
    assert.ok(dialogs.some((d) => d.canSelectFolders), `${platform}: folders can be picked`);
    // VS Code shows only a folder dialog on Windows and Linux when both are asked for
    if (platform !== 'darwin') assert.ok(dialogs.every((d) => d.canSelectFiles !== d.canSelectFolders), `${platform}: each dialog picks one kind`);
  }
  assert.equal(corpusDialogs('darwin').length, 1);
});
