/** config.json as parsed, before any family reads it, and how its values appear in errors. */
export type RawConfig = Record<string, unknown>;

/** A config value for an error message: short, and safe on hostile nesting. */
export function preview(v: unknown): string {
  try {
    const text = JSON.stringify(v) ?? String(v);
    return text.length > 80 ? `${text.slice(0, 77)}…` : text;
  } catch {
    return '(too deeply nested to show)';
  }
}
