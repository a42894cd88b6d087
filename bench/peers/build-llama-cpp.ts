import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT, benchCacheDir } from '../paths.js';

/**
 * llama.cpp's own llama-server and llama-bench, built from the exact source
 * node-llama-cpp ships (its git bundle), so the peer runs the same kernels.
 * Binaries are built statically and cached outside the repository, keyed by
 * the bundle's tag; a build is reused until the cache is deleted.
 */
export interface PeerBinaries {
  tag: string;
  dir: string;
  llamaServer: string;
  llamaBench: string;
}

export type PeerStatus = { built: true; binaries: PeerBinaries } | { built: false; reason: string; dir: string };

const LLAMA_DIR = join(REPO_ROOT, 'node_modules', 'node-llama-cpp', 'llama');
const TARGETS = ['llama-server', 'llama-bench'] as const;

/** The llama.cpp release tag that node-llama-cpp bundles. */
export async function bundledTag(): Promise<string> {
  const info = JSON.parse(await readFile(join(LLAMA_DIR, 'llama.cpp.info.json'), 'utf8')) as { tag?: string };
  if (!info.tag) throw new Error('node-llama-cpp/llama/llama.cpp.info.json has no tag');
  return info.tag;
}

export async function peerDir(): Promise<{ tag: string; dir: string }> {
  const tag = await bundledTag();
  return { tag, dir: join(benchCacheDir(), `llama.cpp-${tag}`) };
}

/** The cached binaries, when a previous build completed. */
export async function findPeers(): Promise<PeerStatus> {
  const { tag, dir } = await peerDir();
  const bin = join(dir, 'bin');
  const llamaServer = join(bin, 'llama-server');
  const llamaBench = join(bin, 'llama-bench');
  if (existsSync(join(bin, 'COMPLETE')) && existsSync(llamaServer) && existsSync(llamaBench)) {
    return { built: true, binaries: { tag, dir, llamaServer, llamaBench } };
  }
  return { built: false, reason: 'not built', dir };
}

/** Whether cmake, git and a C++ compiler are on PATH. */
export async function canBuild(): Promise<string | undefined> {
  for (const tool of ['cmake', 'git', 'c++']) {
    const code = await run('sh', ['-c', `command -v ${tool}`], { quiet: true }).catch(() => 1);
    if (code !== 0) return `${tool} not found`;
  }
  return undefined;
}

export interface BuildOptions {
  jobs?: number;
  /** Receives the build's combined output, line by line (progress). */
  onLine?: (line: string) => void;
}

/** Clones the bundle and builds the two peer targets; resolves with the cached binaries. */
export async function buildPeers(options: BuildOptions = {}): Promise<PeerBinaries> {
  const existing = await findPeers();
  if (existing.built) return existing.binaries;
  const missing = await canBuild();
  if (missing) throw new Error(`cannot build llama.cpp peers: ${missing}`);
  const { tag, dir } = await peerDir();
  const src = join(dir, 'src');
  const build = join(dir, 'build');
  const bin = join(dir, 'bin');
  await mkdir(dir, { recursive: true });
  const log = join(dir, 'build.log');
  await writeFile(log, '');
  const opts = { cwd: dir, onLine: options.onLine, log };
  if (!existsSync(join(src, 'CMakeLists.txt'))) {
    await rm(src, { recursive: true, force: true });
    await check(run('git', ['clone', '--quiet', join(LLAMA_DIR, 'gitRelease.bundle'), src], opts), 'git clone');
  }
  await check(
    run('cmake', ['-S', src, '-B', build, '-DCMAKE_BUILD_TYPE=Release', '-DLLAMA_CURL=OFF', '-DGGML_NATIVE=ON', '-DBUILD_SHARED_LIBS=OFF', '-DLLAMA_BUILD_TESTS=OFF'], opts),
    'cmake configure',
  );
  const jobs = String(options.jobs ?? 2);
  await check(run('cmake', ['--build', build, '--config', 'Release', '-j', jobs, '--target', ...TARGETS], opts), 'cmake build');
  await mkdir(bin, { recursive: true });
  for (const target of TARGETS) await copyFile(join(build, 'bin', target), join(bin, target));
  await run('chmod', ['755', ...TARGETS.map((t) => join(bin, t))], { quiet: true });
  await writeFile(join(bin, 'COMPLETE'), `${tag}\n`);
  return { tag, dir, llamaServer: join(bin, 'llama-server'), llamaBench: join(bin, 'llama-bench') };
}

async function check(p: Promise<number>, what: string): Promise<void> {
  const code = await p;
  if (code !== 0) throw new Error(`${what} failed with exit code ${code} (see the build.log in the peer cache)`);
}

interface RunOptions {
  cwd?: string;
  quiet?: boolean;
  log?: string;
  onLine?: ((line: string) => void) | undefined;
}

function run(cmd: string, args: string[], options: RunOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    const onData = (d: Buffer) => {
      if (options.quiet) return;
      chunks.push(d);
      if (options.onLine) for (const line of d.toString().split('\n')) if (line.trim() !== '') options.onLine(line);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', async (code) => {
      if (options.log) await writeFile(options.log, Buffer.concat(chunks), { flag: 'a' }).catch(() => undefined);
      resolve(code ?? 1);
    });
  });
}
