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
      // Speed and ETA are ours (transferText), not cli-progress's {eta_formatted}: that one renders its
      // "NULL" placeholder as "LLs" until it has two samples, and cli-progress has no speed token at all.
      // (Payload keys must not be cli-progress's own token names, such as eta or total: those win.)
      format: ' {file} |{bar}| {percentage}% {done}/{size} {speed} {remaining}',
      hideCursor: true,
      clearOnComplete: false,
      autopadding: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, { bar: cliProgress.SingleBar; start: number; first: number }>();
  const payload = (file: string, completed: number, total: number, started: { start: number; first: number }) => ({
    file,
    done: formatBytes(completed),
    size: formatBytes(total),
    ...transferText({ elapsedMs: Date.now() - started.start, moved: completed - started.first, completed, total: total || undefined }),
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

/** Below this much time a speed is noise (the first chunks land in a burst), so it is not shown yet. */
const MIN_SAMPLE_MS = 1000;
const UNMEASURED = '…';

export interface TransferSample {
  /** Since this bar appeared. */
  elapsedMs: number;
  /** Bytes received since this bar appeared (a resumed download starts above zero). */
  moved: number;
  completed: number;
  total: number | undefined;
}

/** A bar's speed and ETA: "…" until there is something measured to show, never a placeholder number. */
export function transferText({ elapsedMs, moved, completed, total }: TransferSample): { speed: string; remaining: string } {
  const done = total !== undefined && completed >= total;
  const measured = elapsedMs >= MIN_SAMPLE_MS || (done && elapsedMs > 0 && moved > 0);
  const bytesPerSecond = measured ? Math.max(0, moved) / (elapsedMs / 1000) : undefined;
  const speed = bytesPerSecond === undefined ? UNMEASURED : `${formatBytes(Math.round(bytesPerSecond))}/s`;
  if (done) return { speed, remaining: 'done' };
  if (!bytesPerSecond || total === undefined) return { speed, remaining: `ETA ${UNMEASURED}` };
  return { speed, remaining: `ETA ${formatSeconds(Math.ceil((total - completed) / bytesPerSecond))}` };
}

function formatSeconds(seconds: number): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  if (seconds >= 3600) return `${Math.floor(seconds / 3600)}h${pad(Math.floor((seconds % 3600) / 60))}m`;
  if (seconds >= 60) return `${Math.floor(seconds / 60)}m${pad(seconds % 60)}s`;
  return `${seconds}s`;
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

/** Progress of a count (chunks, documents): a bar on a terminal, and a line per step otherwise. */
export interface CountView {
  update(done: number, total: number): void;
  stop(): void;
}

export function createCountView(stream: NodeJS.WriteStream, label: string, unit: string): CountView {
  if (!stream.isTTY) {
    let last = -1;
    return {
      update(done, total) {
        if (done === last) return;
        last = done;
        stream.write(`${label}: ${done}/${total} ${unit}\n`);
      },
      stop: () => undefined,
    };
  }
  const bar = new cliProgress.SingleBar({ stream, format: ` ${label} |{bar}| {value}/{total} ${unit} {remaining}`, hideCursor: true, clearOnComplete: false }, cliProgress.Presets.shades_classic);
  const started = Date.now();
  let shown = false;
  return {
    update(done, total) {
      const elapsed = (Date.now() - started) / 1000;
      const remaining = done > 0 && done < total ? `ETA ${Math.round((elapsed / done) * (total - done))}s` : '';
      if (!shown) {
        bar.start(total, done, { remaining });
        shown = true;
      } else bar.update(done, { remaining });
    },
    stop: () => {
      if (shown) bar.stop();
    },
  };
}

/** Progress of an ingestion: files done of all, with files/s, chunks/s and an ETA from the files' rate. */
export interface IngestView {
  update(sample: { files: number; totalFiles: number; chunks: number }): void;
  stop(): void;
}

export function createIngestView(stream: NodeJS.WriteStream): IngestView {
  const started = performance.now();
  const rates = (files: number, totalFiles: number, chunks: number) => {
    const seconds = (performance.now() - started) / 1000;
    // A short sample is noise while running; the last line reports the whole run, however short.
    const measured = files > 0 && seconds > 0 && (seconds * 1000 >= MIN_SAMPLE_MS || files >= totalFiles);
    if (!measured) return { rate: `${UNMEASURED} files/s ${UNMEASURED} chunks/s`, remaining: files >= totalFiles ? 'done' : `ETA ${UNMEASURED}` };
    const filesPerSecond = files / seconds;
    return {
      rate: `${filesPerSecond.toFixed(1)} files/s ${(chunks / seconds).toFixed(1)} chunks/s`,
      remaining: files >= totalFiles ? 'done' : `ETA ${formatSeconds(Math.ceil((totalFiles - files) / filesPerSecond))}`,
    };
  };
  if (!stream.isTTY) {
    // A line per tenth, so a million files do not flood a log.
    let lastStep = -1;
    return {
      update({ files, totalFiles, chunks }) {
        const step = totalFiles === 0 ? 10 : Math.floor((files / totalFiles) * 10);
        if (step === lastStep) return;
        lastStep = step;
        const { rate, remaining } = rates(files, totalFiles, chunks);
        stream.write(`ingesting: ${files}/${totalFiles} files, ${chunks} chunks, ${rate}, ${remaining}\n`);
      },
      stop: () => undefined,
    };
  }
  const bar = new cliProgress.SingleBar({ stream, format: ' ingesting |{bar}| {value}/{total} files {chunkCount} chunks {rate} {remaining}', hideCursor: true, clearOnComplete: false }, cliProgress.Presets.shades_classic);
  let shown = false;
  return {
    update({ files, totalFiles, chunks }) {
      const payload = { chunkCount: chunks, ...rates(files, totalFiles, chunks) };
      if (!shown) {
        bar.start(totalFiles, files, payload);
        shown = true;
      } else bar.update(files, payload);
    },
    stop: () => {
      if (shown) bar.stop();
    },
  };
}
