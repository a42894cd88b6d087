import cliProgress from 'cli-progress';
import type { PullEvent } from '../store/index.js';
import { formatBytes } from './format.js';

export interface ProgressView {
  onEvent(event: PullEvent): void;
  stop(): void;
}

/**
 * Renders pull events: bars with bytes, rate and ETA on a terminal, and a
 * line per file otherwise, so logs from CI or `| tee` stay readable.
 */
export function createProgressView(stream: NodeJS.WriteStream): ProgressView {
  return stream.isTTY ? barView(stream) : lineView(stream);
}

function barView(stream: NodeJS.WriteStream): ProgressView {
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: ' {file} |{bar}| {percentage}% {done}/{size} {rate}/s ETA {eta_formatted}',
      hideCursor: true,
      clearOnComplete: false,
      autopadding: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, { bar: cliProgress.SingleBar; start: number; first: number }>();
  const payload = (file: string, completed: number, total: number, started: { start: number; first: number }) => ({
    file,
    done: formatBytes(completed),
    size: formatBytes(total),
    rate: formatBytes(Math.max(0, (completed - started.first) / Math.max(0.001, (Date.now() - started.start) / 1000))),
  });
  return {
    onEvent(event) {
      if (event.status === 'waiting') multi.log(`${event.file}: waiting for another hearth process downloading it\n`);
      if (event.status !== 'downloading' && event.status !== 'downloaded') return;
      const total = event.total ?? 0;
      const completed = event.status === 'downloading' ? event.completed : event.total;
      let entry = bars.get(event.file);
      if (!entry) {
        const started = { start: Date.now(), first: completed };
        entry = { bar: multi.create(total, completed, payload(event.file, completed, total, started)), ...started };
        bars.set(event.file, entry);
      }
      entry.bar.setTotal(total);
      entry.bar.update(completed, payload(event.file, completed, total, entry));
    },
    stop: () => multi.stop(),
  };
}

function lineView(stream: NodeJS.WriteStream): ProgressView {
  const lastReport = new Map<string, number>();
  return {
    onEvent(event) {
      switch (event.status) {
        case 'waiting':
          stream.write(`${event.file}: waiting for another hearth process downloading it\n`);
          break;
        case 'downloading': {
          // One line per ~10% so a 10 GB pull does not flood a log.
          const step = event.total ? Math.floor((event.completed / event.total) * 10) : 0;
          if (lastReport.get(event.file) !== step) {
            lastReport.set(event.file, step);
            stream.write(`${event.file}: ${formatBytes(event.completed)} of ${formatBytes(event.total)}\n`);
          }
          break;
        }
        case 'downloaded':
          stream.write(`${event.file}: downloaded ${formatBytes(event.received)}, sha256 verified\n`);
          break;
      }
    },
    stop: () => undefined,
  };
}
