/**
 * When a memory counts as active. An ungated FFN's coefficients f(x·k) are (almost) never
 * negative, so active means above the threshold. A gated FFN's act(gate)·up is negative
 * about half the time, and a memory with m < 0 adds −|m|·v, promoting its value's bottom
 * tokens: there active means |m| above the threshold.
 */
import type { ModelConfig } from '../arch/types';

export type ActiveTest = (coeff: number, threshold: number) => boolean;

export const activeTest = (config: Pick<ModelConfig, 'gated'>): ActiveTest => (config.gated ? (c, t) => Math.abs(c) > t : (c, t) => c > t);
