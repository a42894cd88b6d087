/** Human-readable byte counts, in the units `ls -h` and huggingface-cli use. */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return '-';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function formatTime(iso: string | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : 'never';
}

/** A plain aligned table; no colors so it pipes cleanly. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function writeJson(stream: NodeJS.WritableStream, value: unknown): void {
  stream.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Beyond this, an expiry is the "never" that Ollama writes as a far-future time (hearth writes year 2318). */
const FOREVER_MS = 100 * 365 * 86_400_000;
const relativeTime = new Intl.RelativeTimeFormat('en', { numeric: 'always' });

/** When a loaded model unloads, as `ollama ps` says it: "in 4 minutes", "forever", "now". */
export function formatUntil(expiresAt: string | null | undefined, now = Date.now()): string {
  if (!expiresAt) return '-';
  const at = Date.parse(expiresAt);
  if (Number.isNaN(at)) return expiresAt;
  const ms = at - now;
  if (ms >= FOREVER_MS) return 'forever';
  if (ms < 1000) return 'now';
  const seconds = Math.round(ms / 1000);
  if (seconds < 90) return relativeTime.format(seconds, 'second');
  if (seconds < 90 * 60) return relativeTime.format(Math.round(seconds / 60), 'minute');
  if (seconds < 48 * 3600) return relativeTime.format(Math.round(seconds / 3600), 'hour');
  return relativeTime.format(Math.round(seconds / 86_400), 'day');
}
