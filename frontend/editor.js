// The analysts' editor (admin pages): a BPMN or DMN file of the running system or its draft, with the
// properties panel for the engine's settings, bpmnlint while drawing, the server's own check (bindings,
// expression safety and budgets, DMN cells as at run time) marked on the elements, drafts, the difference to
// the running version marked on the diagram, and deploy as a new version with a reason.
import BpmnModeler from 'bpmn-js/lib/Modeler';
import DmnModeler from 'dmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import lintModule from 'bpmn-js-bpmnlint';
import bpmnlintConfig from './generated/bpmnlint-config.js';
import spiffModdle from './spiffworkflow.json';
import spiffProperties from './spiff-properties.js';
import translateZh from './translate-zh.js';

import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css';
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';
import 'bpmn-js-bpmnlint/dist/assets/css/bpmn-js-bpmnlint.css';
import 'dmn-js/dist/assets/dmn-js-shared.css';
import 'dmn-js/dist/assets/dmn-js-drd.css';
import 'dmn-js/dist/assets/dmn-js-decision-table.css';
import 'dmn-js/dist/assets/dmn-js-decision-table-controls.css';
import 'dmn-js/dist/assets/dmn-js-literal-expression.css';
import 'dmn-js/dist/assets/dmn-font/css/dmn-embedded.css';
import './editor.css';

const root = document.getElementById('netsign-editor');
const urls = JSON.parse(root.dataset.urls);
const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
const status = document.getElementById('editor-status');
const problemList = document.getElementById('editor-problems');
const isDmn = root.dataset.kind === 'dmn';

const modeler = isDmn
  ? new DmnModeler({ container: '#editor-canvas', common: { keyboard: { bindTo: window } } })
  : new BpmnModeler({
    container: '#editor-canvas',
    propertiesPanel: { parent: '#editor-properties' },
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, spiffProperties, lintModule,
      ...(document.documentElement.lang === 'en' ? [] : [translateZh])],
    moddleExtensions: { spiffworkflow: spiffModdle },
    linting: { bpmnlint: bpmnlintConfig, active: true },
  });

function say(text, kind) {
  status.textContent = text;
  status.className = 'editor-status ' + (kind || '');
}

async function post(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken },
    body: JSON.stringify(body),
    credentials: 'same-origin',
  });
  let data = {};
  try { data = await response.json(); } catch (err) { data = { message: `服务器返回 ${response.status}` }; }
  return { ok: response.ok, data };
}

async function currentXml() {
  const { xml } = await modeler.saveXML({ format: true });
  return xml;
}

// --- markers on the diagram ----------------------------------------------------------------------------
let marked = [];

function bpmnServices() {
  if (isDmn) {
    const viewer = modeler.getActiveViewer();
    if (!viewer || !viewer.get) return null;
    try { return { canvas: viewer.get('canvas'), overlays: viewer.get('overlays'), registry: viewer.get('elementRegistry') }; } catch (err) { return null; }
  }
  return { canvas: modeler.get('canvas'), overlays: modeler.get('overlays'), registry: modeler.get('elementRegistry') };
}

function clearMarks() {
  const services = bpmnServices();
  if (services) {
    for (const [id, css] of marked) {
      if (services.registry.get(id)) services.canvas.removeMarker(id, css);
    }
    services.overlays.remove({ type: 'netsign' });
  }
  marked = [];
  problemList.innerHTML = '';
}

function mark(id, css, label) {
  const services = bpmnServices();
  if (!services || !services.registry.get(id)) return false;
  services.canvas.addMarker(id, css);
  marked.push([id, css]);
  if (label) {
    const badge = document.createElement('div');
    badge.className = 'netsign-badge ' + css;
    badge.textContent = label;
    services.overlays.add(id, 'netsign', { position: { top: -14, left: 0 }, html: badge });
  }
  return true;
}

function listItem(text, ids, css) {
  const li = document.createElement('li');
  li.className = css;
  li.textContent = text;
  if (ids.length) {
    li.dataset.elements = ids.join(' ');
    li.addEventListener('click', () => {
      const services = bpmnServices();
      const target = services && services.registry.get(ids[0]);
      if (target) {
        if (!isDmn) modeler.get('selection').select(target);
        services.canvas.scrollToElement ? services.canvas.scrollToElement(target) : null;
      }
    });
  }
  problemList.appendChild(li);
}

// --- actions ---------------------------------------------------------------------------------------------
async function check() {
  clearMarks();
  say('正在检查…');
  const { ok, data } = await post(urls.check, { xml: await currentXml() });
  if (!ok) { say(data.message || '检查失败', 'bad'); return false; }
  for (const problem of data.problems) {
    problem.elements.forEach(id => mark(id, 'netsign-problem', '!'));
    listItem(problem.message, problem.elements, 'problem');
  }
  for (const warning of data.lint || []) listItem(warning, [], 'lint');
  if (data.problems.length) {
    say(`发现 ${data.problems.length} 个问题，已在图上标出`, 'bad');
    return false;
  }
  say('检查通过：可以部署', 'good');
  return true;
}

async function saveDraft() {
  const { ok, data } = await post(urls.draft, { xml: await currentXml() });
  say(ok ? `草稿已保存（${data.saved_at}，${data.saved_by}）` : (data.message || '保存失败'), ok ? 'good' : 'bad');
}

async function diff() {
  clearMarks();
  const { ok, data } = await post(urls.diff, { xml: await currentXml() });
  if (!ok) { say(data.message || '比较失败', 'bad'); return; }
  data.added.forEach(e => { mark(e.id, 'netsign-added', '新增'); listItem(`新增：${e.label}`, [e.id], 'added'); });
  data.changed.forEach(e => { mark(e.id, 'netsign-changed', '修改'); listItem(`修改：${e.label}（${e.what.join('、')}）`, [e.id], 'changed'); });
  data.removed.forEach(e => listItem(`删除：${e.label}`, [], 'removed'));
  const total = data.added.length + data.changed.length + data.removed.length;
  say(total ? `与运行版本 v${data.version} 相比：新增 ${data.added.length}，修改 ${data.changed.length}，删除 ${data.removed.length}` :
    `与运行版本 v${data.version} 相同`, total ? '' : 'good');
}

async function deploy(event) {
  event.preventDefault();
  const reason = document.getElementById('deploy-reason').value.trim();
  if (!reason) { say('请填写部署原因', 'bad'); document.getElementById('deploy-reason').focus(); return; }
  if (!(await check())) return;
  if (!window.confirm('确定部署为新版本？新发起的业务将使用新版本。')) return;
  const { ok, data } = await post(urls.deploy, { xml: await currentXml(), reason });
  if (!ok) {
    say(data.message || '部署失败', 'bad');
    ((data.errors && data.errors.problems) || []).forEach(p => { p.elements.forEach(id => mark(id, 'netsign-problem', '!')); listItem(p.message, p.elements, 'problem'); });
    return;
  }
  say(data.message, 'good');
  const next = document.getElementById('editor-next');
  next.innerHTML = '';
  for (const link of data.links) {
    const a = document.createElement('a');
    a.href = link.url;
    a.textContent = link.label;
    next.appendChild(a);
  }
}

async function open() {
  const response = await fetch(urls.xml, { credentials: 'same-origin' });
  const xml = await response.text();
  try {
    const { warnings } = await modeler.importXML(xml);
    say(warnings.length ? `已打开（${warnings.length} 个导入提示）` : '已打开', warnings.length ? 'bad' : '');
    if (!isDmn) modeler.get('canvas').zoom('fit-viewport');
  } catch (err) {
    say('无法打开：' + err.message, 'bad');
  }
  root.dataset.ready = 'true';
}

document.getElementById('editor-check').addEventListener('click', check);
document.getElementById('editor-save').addEventListener('click', saveDraft);
document.getElementById('editor-diff').addEventListener('click', diff);
document.getElementById('editor-deploy').addEventListener('submit', deploy);
window.netsignEditor = { modeler, check, saveDraft, diff, currentXml };
open();
