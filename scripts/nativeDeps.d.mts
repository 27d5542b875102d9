// Types of scripts/nativeDeps.mjs (plain JS, run by node without a build step).

export interface NativeInfo {
  format: 'elf' | 'macho' | 'pe';
  /** 'x64' or 'arm64'; otherwise the raw machine number as text. */
  arch: string;
  /** Libraries loaded with the binary, as written in it. */
  needed: string[];
  /** PE only: delay-loaded DLLs (mapped on first call). */
  delayNeeded: string[];
  /** Mach-O LC_RPATH, ELF DT_RPATH/DT_RUNPATH entries. */
  rpaths: string[];
  /** Mach-O install name (LC_ID_DYLIB), ELF DT_SONAME. */
  id: string | undefined;
}

export class NativeFormatError extends Error {}

export function readNative(buf: Buffer, name?: string): NativeInfo;


export function loadClosure(root: string, files: Map<string, NativeInfo>): { load: string[]; delayOnly: string[] };
