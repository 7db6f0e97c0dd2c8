// Builds the browser bundles of the admin pages (bpmn-js / dmn-js editor, the monitoring viewer) into
// web/static/build from the npm packages: nothing is fetched from a CDN at run time.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const compileConfig = require('bpmnlint/lib/support/compile-config');
const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, '..');

// The same bpmnlint rules as `make lint-bpmn`, compiled into the bundle for the browser.
const lintrc = JSON.parse(fs.readFileSync(path.join(root, '.bpmnlintrc'), 'utf8'));
fs.mkdirSync(path.join(here, 'generated'), { recursive: true });
fs.writeFileSync(path.join(here, 'generated', 'bpmnlint-config.js'), await compileConfig(lintrc));

await build({
  entryPoints: { editor: path.join(here, 'editor.js'), viewer: path.join(here, 'viewer.js') },
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  outdir: path.join(root, 'web', 'static', 'build'),
  loader: { '.woff': 'file', '.woff2': 'file', '.eot': 'file', '.ttf': 'file', '.svg': 'file' },
  logLevel: 'warning',
});
console.log('built web/static/build/{editor,viewer}.{js,css}');
