import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import semver from 'semver';

/*
 * What `npm ci` does in a fresh clone: which dependency install scripts run, which npm it
 * needs, and which Node versions the installed tree supports (README, Set-up).
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Manifest {
  name: string;
  version: string;
  scripts?: Record<string, string>;
  engines?: { node?: string };
  allowScripts?: Record<string, boolean>;
  devEngines?: { packageManager?: { name: string; version: string } };
}

const project = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest;

/** Every package under node_modules, nested ones included, with the folder it sits in. */
function installed(dir = join(ROOT, 'node_modules')): Array<{ dir: string; manifest: Manifest }> {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (!entry.isDirectory() || entry.name.startsWith('.')) return [];
    const path = join(dir, entry.name);
    if (entry.name.startsWith('@')) return installed(path);
    const file = join(path, 'package.json');
    if (!existsSync(file)) return [];
    return [{ dir: path, manifest: JSON.parse(readFileSync(file, 'utf8')) as Manifest }, ...installed(join(path, 'node_modules'))];
  });
}

/** The scripts npm runs when it installs a package: its own, or node-gyp's for a bare binding.gyp. */
function installScripts({ dir, manifest }: { dir: string; manifest: Manifest }): string[] {
  const own = ['preinstall', 'install', 'postinstall'].filter((s) => manifest.scripts?.[s]);
  return own.length === 0 && existsSync(join(dir, 'binding.gyp')) ? ['install (node-gyp)'] : own;
}

function npm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  // A clean environment: `npm test` exports npm_config_* variables that would mask this project's own configuration.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  const result = spawnSync('npm', args, { cwd: ROOT, env, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

const packages = installed();
const npmVersion = npm(['--version']).stdout.trim();

describe('install policy', { skip: packages.length === 0 ? 'node_modules is not installed' : false }, () => {
  test('every dependency with an install script has an explicit allowScripts decision', () => {
    const policy = project.allowScripts ?? {};
    const undecided = packages
      .filter((p) => installScripts(p).length > 0)
      .filter((p) => typeof policy[p.manifest.name] !== 'boolean' && typeof policy[`${p.manifest.name}@${p.manifest.version}`] !== 'boolean')
      .map((p) => `${relative(ROOT, p.dir)} (${installScripts(p).join(', ')})`);
    assert.deepEqual(undecided, [], 'decide each in package.json allowScripts, and say why in the README');
  });

  test('every allowScripts entry names an installed package that has an install script', () => {
    const withScripts = new Set(packages.filter((p) => installScripts(p).length > 0).map((p) => p.manifest.name));
    const stale = Object.keys(project.allowScripts ?? {}).filter((key) => !withScripts.has(key.replace(/(?<=.)@.*$/, '')));
    assert.deepEqual(stale, []);
  });

  test("onnxruntime-node's install script is denied: it downloads CUDA libraries from outside the npm registry", () => {
    assert.equal(project.allowScripts?.['onnxruntime-node'], false);
  });

  test('every installed package supports every Node.js version that engines.node claims', () => {
    const claimed = project.engines?.node;
    assert.ok(claimed && semver.validRange(claimed), `engines.node is a range: ${claimed}`);
    const narrower = packages
      .filter((p) => typeof p.manifest.engines?.node === 'string' && !semver.subset(claimed, p.manifest.engines.node, { includePrerelease: false }))
      .map((p) => `${relative(ROOT, p.dir)}@${p.manifest.version} wants node ${p.manifest.engines?.node}`);
    assert.deepEqual(narrower, []);
  });

  test('this Node.js is one engines.node claims', () => {
    assert.ok(semver.satisfies(process.versions.node, project.engines?.node ?? ''), `${process.versions.node} vs ${project.engines?.node}`);
  });

  test('devEngines asks for an npm that honours allowScripts denials (npm 11.16 and later)', () => {
    const wanted = project.devEngines?.packageManager;
    assert.equal(wanted?.name, 'npm');
    assert.ok(wanted && semver.subset(wanted.version, '>=11.16.0'), wanted?.version);
  });

  test('npm itself finds no install script left to review, and warns about nothing in this project', { skip: semver.valid(npmVersion) && semver.gte(npmVersion, '11.16.0') ? false : `npm ${npmVersion} has no allowScripts` }, () => {
    const pending = npm(['approve-scripts', '--allow-scripts-pending', '--json']);
    assert.equal(pending.status, 0, pending.stderr);
    assert.deepEqual((JSON.parse(pending.stdout) as { allowScripts: unknown[] }).allowScripts, []);
    // Config warnings ("Unknown project config …") come out of every npm command run here.
    assert.doesNotMatch(pending.stderr, /npm warn/i);
  });
});
