/**
 * The workflow bundle, built once and out of the worker's process. Bundling (webpack + swc inside
 * @temporalio/worker) costs a worker about 400 MB of RSS that it never gives back, so the worker
 * loads a prebuilt file instead: `.build/workflows-<key>.js`, where the key is a hash of every
 * source file the workflow code is made of (src/workflows/index.ts and what it imports, followed
 * through relative imports) and the versions of the packages it imports and of the Temporal SDK.
 * A changed workflow file, a new import or an SDK upgrade gives a new key, so a stale bundle is
 * never loaded. When the file for the current key is missing, `prebuiltWorkflowBundle()` builds it
 * in a child process (`node --import tsx src/bundle.ts`, which scripts/setup.sh and the image's
 * build also run) and writes it atomically, so workers starting together never read half a file.
 * When the project folder is not writable (a container whose image lacks the current bundle), the
 * file goes to the system's temporary folder instead.
 *   Usage: node --import tsx src/bundle.ts   (prints the bundle's path)
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
const ENTRY = join(__dirname, 'workflows', 'index.ts');
/** Bump when the bundler options below change. */
const FORMAT = 1;

/** Every local source file the workflow bundle is made of, from the entry through relative imports, and the packages they import. */
export function workflowSources(entry = ENTRY): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    // Type-only imports and exports are erased before bundling: they are not part of the bundle.
    const text = readFileSync(file, 'utf8').replace(/\b(?:import|export)\s+type\s[^;]*;/g, '');
    for (const m of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"]([^'"]+)['"]/g)) {
      const spec = m[1]!;
      if (!spec.startsWith('.')) {
        if (!spec.startsWith('node:')) packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
        continue;
      }
      const base = resolve(dirname(file), spec);
      const found = [`${base}.ts`, `${base.replace(/\.js$/, '')}.ts`, join(base, 'index.ts'), base].find(isFile);
      if (found) visit(found); // (an unresolvable one, e.g. in a comment, is webpack's to report)
    }
  };
  visit(entry);
  return { files: [...files].sort(), packages: [...packages].sort() };
}

const isFile = (p: string): boolean => statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(require.resolve(`${name}/package.json`, { paths: [ROOT] }), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The bundle's key: the workflow sources' contents, the versions of what they import and of the bundler. */
export function workflowBundleKey(): string {
  const { files, packages } = workflowSources();
  const h = createHash('sha256').update(`format ${FORMAT}\n`);
  for (const f of files) h.update(`${relative(ROOT, f)}\n`).update(readFileSync(f)).update('\n');
  let unknown = false;
  for (const p of new Set([...packages, '@temporalio/worker', '@temporalio/workflow', '@temporalio/common'])) {
    const v = packageVersion(p);
    unknown ||= v === 'unknown';
    h.update(`${p}@${v}\n`);
  }
  // A package whose version cannot be read: the lock file stands for it (any dependency change, a new bundle).
  if (unknown && isFile(join(ROOT, 'package-lock.json'))) h.update(readFileSync(join(ROOT, 'package-lock.json')));
  return h.digest('hex').slice(0, 16);
}

const LOCAL_DIR = join(ROOT, '.build');
const TMP_DIR = join(tmpdir(), 'aurora-sync-build');

/** The folder new bundles are written to: .build/ in the project, or the temporary folder when the project is read-only. */
export function bundleDir(): string {
  for (const dir of [LOCAL_DIR, TMP_DIR]) {
    try {
      mkdirSync(dir, { recursive: true });
      accessSync(dir, constants.W_OK);
      return dir;
    } catch {
      // read-only (the container image): the next one
    }
  }
  throw new Error(`no writable folder for the workflow bundle (${LOCAL_DIR}, ${TMP_DIR})`);
}

const fileName = (key: string) => `workflows-${key}.js`;

/** The bundle of this key where it already is (.build/ first: a container image carries one there), or null. */
export function findBundle(key = workflowBundleKey()): string | null {
  return [LOCAL_DIR, TMP_DIR].map((d) => join(d, fileName(key))).find(isFile) ?? null;
}

/** Bundles of other keys are removed once they are this old (a process that just chose one may still be loading it). */
const STALE_AFTER_MS = 60 * 60_000;

/** Builds the bundle in this process and writes it (temporary file, then rename); removes old bundles of other keys. */
export async function buildWorkflowBundle(): Promise<string> {
  const { bundleWorkflowCode, DefaultLogger } = await import('@temporalio/worker');
  const dir = bundleDir();
  const path = join(dir, fileName(workflowBundleKey()));
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('./workflows'), logger: new DefaultLogger('WARN') });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, path);
  for (const f of readdirSync(dir)) {
    const other = join(dir, f);
    if (other !== path && /^workflows-[0-9a-f]+\.js$/.test(f) && Date.now() - statSync(other).mtimeMs > STALE_AFTER_MS) rmSync(other, { force: true });
  }
  return path;
}

/**
 * The prebuilt bundle of the current workflow sources, as a Worker's `workflowBundle` option;
 * built in a child process when missing (so the bundler's memory never becomes this process's).
 */
export async function prebuiltWorkflowBundle(attempts = 3): Promise<{ codePath: string }> {
  const key = workflowBundleKey();
  const found = findBundle(key);
  if (found) return { codePath: found };
  const built = await new Promise<string>((ok, fail) => {
    execFile(process.execPath, ['--import', 'tsx', __filename], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) fail(new Error(`building the workflow bundle failed: ${(stderr || err.message).trim().slice(-2000)}`));
      else ok(stdout.trim().split('\n').pop()!);
    });
  });
  // The sources changed while it was being built: build again, for what is there now.
  if (!built.endsWith(fileName(key)) || !isFile(built)) {
    if (attempts > 1) return prebuiltWorkflowBundle(attempts - 1);
    throw new Error(`the workflow bundle was built as ${built}, not for the current sources (${fileName(key)})`);
  }
  return { codePath: built };
}

if (require.main === module) {
  buildWorkflowBundle().then(
    (path) => console.log(path),
    (err: unknown) => {
      console.error(err instanceof Error ? err.stack : String(err));
      process.exit(1);
    },
  );
}
