// Bundles the bpmn-js viewer and modeller into service/static/vendor/ (run by `make`, never a
// CDN: the service runs on closed networks). The bpmnlint configuration (.bpmnlintrc) is
// compiled here, at build time, into the modeller bundle with the rules it names.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const compileConfig = require('bpmnlint/lib/support/compile-config');
const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.join(here, '..', 'service', 'static', 'vendor');

const bpmnlintConfig = {
  name: 'bpmnlint-config',
  setup(builder) {
    builder.onResolve({ filter: /\.bpmnlintrc$/ }, (args) => ({
      path: path.join(args.resolveDir, args.path),
      namespace: 'bpmnlint',
    }));
    builder.onLoad({ filter: /.*/, namespace: 'bpmnlint' }, async (args) => ({
      contents: await compileConfig(JSON.parse(await readFile(args.path, 'utf8'))),
      resolveDir: here,
      loader: 'js',
    }));
  },
};

await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: {
    viewer: path.join(here, 'viewer.js'),
    modeller: path.join(here, 'modeller.js'),
  },
  bundle: true,
  minify: true,
  format: 'iife',
  globalName: 'SafeguardBpmn',
  target: ['es2020'],
  outdir,
  plugins: [bpmnlintConfig],
  define: { 'process.env.NODE_ENV': '"production"' },
  legalComments: 'linked',
  logLevel: 'warning',
});
await build({
  entryPoints: {
    'viewer-styles': path.join(here, 'viewer.css'),
    'modeller-styles': path.join(here, 'modeller.css'),
  },
  bundle: true,
  minify: true,
  outdir,
  loader: { '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.eot': 'file', '.svg': 'file' },
  assetNames: 'fonts/[name]-[hash]',
  logLevel: 'warning',
});
console.log(`built ${path.relative(process.cwd(), outdir)}`);
