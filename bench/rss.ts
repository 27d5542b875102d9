/**
 * Peak working memory of one step of a benchmark child, with Linux's resettable RSS
 * high-water mark (/proc/self/clear_refs): reset it when the step starts, read the peak
 * above the baseline when it ends.
 */
import * as fs from 'node:fs';

const statusMb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;

/** Resets the high-water mark; returns the RSS now and a reader of the peak above it since. */
export function peakFromHere(): { baseMb: number; extraMb: () => number } {
  fs.writeFileSync('/proc/self/clear_refs', '5');
  const baseMb = statusMb('VmRSS');
  return { baseMb, extraMb: () => statusMb('VmHWM') - baseMb };
}
