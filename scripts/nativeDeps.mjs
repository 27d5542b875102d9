// What a native binary is and which libraries it asks the loader for, read from its headers:
// ELF (DT_NEEDED of the dynamic segment), Mach-O (LC_LOAD_DYLIB and friends, LC_RPATH, LC_ID_DYLIB)
// and PE (the import table; the delay-import table separately, since a delay-loaded DLL is only
// loaded when one of its functions is first called). scripts/package.mjs decides from this which
// of onnxruntime-node's files each platform's .vsix must carry, and test/unit/package.test.ts
// checks the packed files with it. No library reads all three formats, and the part needed here
// is small: headers and one table each, 64-bit little-endian only (all five targets are).

// Types: nativeDeps.d.mts.

export class NativeFormatError extends Error {}

/** Reads a binary's format, architecture and load-time dependencies; throws NativeFormatError otherwise. */
export function readNative(buf, name = 'binary') {
  const fail = (why) => {
    throw new NativeFormatError(`${name}: ${why}`);
  };
  const check = (off, len) => {
    if (!(off >= 0 && len >= 0 && off + len <= buf.length)) fail('truncated or corrupt headers');
  };
  const cstr = (off) => {
    check(off, 1);
    const end = buf.indexOf(0, off);
    if (end < 0) fail('unterminated string');
    return buf.toString('latin1', off, end);
  };
  if (buf.length >= 4 && buf.readUInt32BE(0) === 0x7f454c46) return readElf(buf, check, cstr, fail);
  if (buf.length >= 4 && buf.readUInt32LE(0) === 0xfeedfacf) return readMachO(buf, check, cstr, fail);
  if (buf.length >= 4 && (buf.readUInt32BE(0) === 0xcafebabe || buf.readUInt32BE(0) === 0xcafebabf)) fail('universal (fat) Mach-O binaries are not supported');
  if (buf.length >= 2 && buf.readUInt16LE(0) === 0x5a4d) return readPe(buf, check, cstr, fail);
  return fail('not an ELF, 64-bit Mach-O or PE file');
}

function readElf(buf, check, cstr, fail) {
  check(0, 64);
  if (buf[4] !== 2 || buf[5] !== 1) fail('only 64-bit little-endian ELF is supported');
  const machine = buf.readUInt16LE(0x12);
  const arch = machine === 0x3e ? 'x64' : machine === 0xb7 ? 'arm64' : String(machine);
  const phoff = Number(buf.readBigUInt64LE(0x20));
  const phentsize = buf.readUInt16LE(0x36);
  const phnum = buf.readUInt16LE(0x38);
  check(phoff, phentsize * phnum);
  const loads = [];
  let dynamic;
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    const type = buf.readUInt32LE(p);
    const seg = { offset: Number(buf.readBigUInt64LE(p + 8)), vaddr: Number(buf.readBigUInt64LE(p + 16)), filesz: Number(buf.readBigUInt64LE(p + 32)) };
    if (type === 1) loads.push(seg);
    if (type === 2) dynamic = seg;
  }
  const info = { format: 'elf', arch, needed: [], delayNeeded: [], rpaths: [], id: undefined };
  if (!dynamic) return info; // statically linked
  check(dynamic.offset, dynamic.filesz);
  const entries = [];
  let strtab;
  for (let p = dynamic.offset; p + 16 <= dynamic.offset + dynamic.filesz; p += 16) {
    const tag = Number(buf.readBigInt64LE(p));
    const val = Number(buf.readBigUInt64LE(p + 8));
    if (tag === 0) break;
    if (tag === 5) strtab = val;
    entries.push([tag, val]);
  }
  if (strtab === undefined) fail('dynamic segment without a string table');
  // DT_STRTAB is a virtual address: map it to a file offset through the loadable segments.
  const seg = loads.find((s) => strtab >= s.vaddr && strtab < s.vaddr + s.filesz);
  if (!seg) fail('the string table lies outside every loadable segment');
  const base = strtab - seg.vaddr + seg.offset;
  for (const [tag, val] of entries) {
    if (tag === 1) info.needed.push(cstr(base + val)); // DT_NEEDED
    if (tag === 14) info.id = cstr(base + val); // DT_SONAME
    if (tag === 15 || tag === 29) info.rpaths.push(...cstr(base + val).split(':')); // DT_RPATH, DT_RUNPATH
  }
  return info;
}

const LC_LOAD_DYLIB = 0xc;
const LC_ID_DYLIB = 0xd;
const LC_LOAD_WEAK_DYLIB = 0x80000018;
const LC_RPATH = 0x8000001c;
const LC_REEXPORT_DYLIB = 0x8000001f;
const LC_LOAD_UPWARD_DYLIB = 0x80000023;

function readMachO(buf, check, cstr, fail) {
  check(0, 32);
  const cpu = buf.readUInt32LE(4);
  const arch = cpu === 0x0100000c ? 'arm64' : cpu === 0x01000007 ? 'x64' : String(cpu);
  const ncmds = buf.readUInt32LE(16);
  const info = { format: 'macho', arch, needed: [], delayNeeded: [], rpaths: [], id: undefined };
  let p = 32;
  for (let i = 0; i < ncmds; i++) {
    check(p, 8);
    const cmd = buf.readUInt32LE(p);
    const size = buf.readUInt32LE(p + 4);
    if (size < 8) fail('corrupt load command');
    check(p, size);
    // dylib_command and rpath_command both keep their string's offset (from the command) at +8
    const str = () => cstr(p + buf.readUInt32LE(p + 8));
    if (cmd === LC_LOAD_DYLIB || cmd === LC_LOAD_WEAK_DYLIB || cmd === LC_REEXPORT_DYLIB || cmd === LC_LOAD_UPWARD_DYLIB) info.needed.push(str());
    else if (cmd === LC_ID_DYLIB) info.id = str();
    else if (cmd === LC_RPATH) info.rpaths.push(str());
    p += size;
  }
  return info;
}

function readPe(buf, check, cstr, fail) {
  check(0, 0x40);
  const pe = buf.readUInt32LE(0x3c);
  check(pe, 24);
  if (buf.readUInt32LE(pe) !== 0x00004550) fail('MZ header without a PE signature');
  const machine = buf.readUInt16LE(pe + 4);
  const arch = machine === 0x8664 ? 'x64' : machine === 0xaa64 ? 'arm64' : String(machine);
  const nsections = buf.readUInt16LE(pe + 6);
  const optSize = buf.readUInt16LE(pe + 20);
  const opt = pe + 24;
  check(opt, optSize);
  if (buf.readUInt16LE(opt) !== 0x20b) fail('only PE32+ (64-bit) is supported');
  const imageBase = Number(buf.readBigUInt64LE(opt + 24));
  const ndirs = buf.readUInt32LE(opt + 108);
  const dir = (i) => (i < ndirs ? { rva: buf.readUInt32LE(opt + 112 + i * 8), size: buf.readUInt32LE(opt + 116 + i * 8) } : { rva: 0, size: 0 });
  const sections = [];
  const sh = opt + optSize;
  check(sh, nsections * 40);
  for (let i = 0; i < nsections; i++) {
    const s = sh + i * 40;
    sections.push({ vaddr: buf.readUInt32LE(s + 12), vsize: Math.max(buf.readUInt32LE(s + 8), buf.readUInt32LE(s + 16)), raw: buf.readUInt32LE(s + 20) });
  }
  const offsetOf = (rva) => {
    const s = sections.find((x) => rva >= x.vaddr && rva < x.vaddr + x.vsize);
    if (!s) fail(`RVA 0x${rva.toString(16)} lies outside every section`);
    return rva - s.vaddr + s.raw;
  };
  const info = { format: 'pe', arch, needed: [], delayNeeded: [], rpaths: [], id: undefined };
  const imports = dir(1);
  if (imports.rva) {
    // IMAGE_IMPORT_DESCRIPTOR: 20 bytes, Name RVA at +12, ends with an all-zero entry
    for (let p = offsetOf(imports.rva); ; p += 20) {
      check(p, 20);
      const nameRva = buf.readUInt32LE(p + 12);
      if (nameRva === 0 && buf.readUInt32LE(p) === 0) break;
      info.needed.push(cstr(offsetOf(nameRva)));
    }
  }
  const delay = dir(13);
  if (delay.rva) {
    // ImgDelayDescr: 32 bytes, attributes at +0 (bit 0: RVAs, else old-style VAs), name at +4
    for (let p = offsetOf(delay.rva); ; p += 32) {
      check(p, 32);
      const attrs = buf.readUInt32LE(p);
      const name = buf.readUInt32LE(p + 4);
      if (name === 0) break;
      info.delayNeeded.push(cstr(offsetOf(attrs & 1 ? name : name - imageBase)));
    }
  }
  return info;
}

/**
 * The files of `files` (names in one folder → their NativeInfo) that loading `root` brings in:
 * its load-time dependencies, transitively, that the folder itself provides. A Mach-O name is
 * matched through @rpath/@loader_path when the binary's rpaths include @loader_path (the folder
 * itself); PE names case-insensitively, as Windows does. Delay-loaded DLLs are not followed: the
 * loader maps them only when code calls into them (for onnxruntime, the DirectML provider).
 * Returns the names in load order, root first, plus the delay-loaded names that were left out.
 */
export function loadClosure(root, files) {
  const byKey = new Map([...files.keys()].map((n) => [n.toLowerCase(), n]));
  const order = [];
  const delayed = new Set();
  const visit = (name) => {
    if (order.includes(name)) return;
    order.push(name);
    const info = files.get(name);
    const local = (dep) => {
      if (info.format === 'pe') return byKey.get(dep.toLowerCase());
      if (info.format === 'macho') {
        const m = /^@(rpath|loader_path)\/([^/]+)$/.exec(dep);
        if (!m) return undefined;
        const viaLoader = m[1] === 'loader_path' || info.rpaths.some((r) => r === '@loader_path' || r === '@loader_path/');
        return viaLoader && files.has(m[2]) ? m[2] : undefined;
      }
      // ELF: a bare soname is found in the binary's own folder only through an rpath of $ORIGIN
      const viaOrigin = info.rpaths.some((r) => r === '$ORIGIN' || r === '$ORIGIN/');
      return viaOrigin && !dep.includes('/') && files.has(dep) ? dep : undefined;
    };
    for (const dep of info.needed) {
      const hit = local(dep);
      if (hit) visit(hit);
    }
    for (const dep of info.delayNeeded) {
      const hit = local(dep);
      if (hit) delayed.add(hit);
    }
  };
  if (!files.has(root)) throw new Error(`${root} is not among the files`);
  visit(root);
  return { load: order, delayOnly: [...delayed].filter((d) => !order.includes(d)) };
}
