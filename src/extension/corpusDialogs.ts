// Which open dialogs let a person pick a trigger index's corpus: files and folders both (a folder
// contributes every supported file inside it). macOS's dialog picks either at once; on Windows
// and Linux a dialog that may pick folders picks only folders, so the person says which first.
// No vscode import, so the choice is unit-tested.

export interface CorpusDialog {
  /** The quick-pick label, when there is more than one dialog to choose from. */
  label: string;
  canSelectFiles: boolean;
  canSelectFolders: boolean;
}

export function corpusDialogs(platform: NodeJS.Platform): CorpusDialog[] {
  if (platform === 'darwin') return [{ label: 'Corpus files or folders', canSelectFiles: true, canSelectFolders: true }];
  return [
    { label: '$(files) Corpus files…', canSelectFiles: true, canSelectFolders: false },
    { label: '$(folder) Corpus folders… (every supported file inside)', canSelectFiles: false, canSelectFolders: true },
  ];
}
