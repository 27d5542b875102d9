/**
 * English function words and very common words, which recur in almost any prefix and so
 * say nothing about a key's topic. Used by the pattern finder to keep "shared token" and
 * "topic word" patterns about content.
 */
const WORDS = `
a about above after again against all also although am an and another any are around as at
be became because become been before being below between both but by can cannot could
did do does doing done down during each either else even ever every few first for from further
get got had has have having he her here hers herself him himself his how however i if in into is
it its itself just last later least less like made make many may me might more most much must my
myself near neither never new no nor not now of off often on once one only or other others our
ours ourselves out over own per perhaps rather same second several shall she should since so some
still such than that the their theirs them themselves then there these they this those though
three through thus to too two under until up upon us very was we well were what when where whether
which while who whom whose why will with within without would yet you your yours yourself
yourselves s t d ll m re ve
`;

export const STOPWORDS: ReadonlySet<string> = new Set(WORDS.split(/\s+/).filter(Boolean));

/** Lower-cased, trimmed form of a token or word; empty when it has no letter or digit. */
export function normalizeWord(text: string): string {
  const t = text.trim().toLowerCase();
  return /[\p{L}\p{N}]/u.test(t) ? t : '';
}

/** True for a word that carries content: letters or digits, and not a stopword. */
export function isContentWord(text: string): boolean {
  const w = normalizeWord(text);
  return w !== '' && !STOPWORDS.has(w);
}
