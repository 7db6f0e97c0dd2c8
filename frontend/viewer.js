// The monitoring diagram (admin instance and definition pages, the test coverage report): bpmn-js's viewer
// draws the deployed XML exactly as a modeler does, and markers and overlays show the path taken, the
// current tasks, the flows a test run missed, and per element how many instances wait there.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css';
import './viewer.css';

function markAll(canvas, registry, ids, css) {
  for (const id of ids || []) if (registry.get(id)) canvas.addMarker(id, css);
}

async function show(container) {
  const data = JSON.parse(container.querySelector('script[type="application/json"]').textContent);
  const target = container.querySelector('.bpmn-canvas');
  const viewer = new NavigatedViewer({ container: target });
  try {
    await viewer.importXML(data.xml);
  } catch (err) {
    target.textContent = '无法显示流程图：' + err.message;
    return;
  }
  const canvas = viewer.get('canvas');
  const registry = viewer.get('elementRegistry');
  const overlays = viewer.get('overlays');
  canvas.zoom('fit-viewport');
  const done = new Set(data.done || []);
  markAll(canvas, registry, done, 'netsign-done');
  markAll(canvas, registry, data.current, 'netsign-current');
  // A flow between two nodes the instance passed was taken (unless the report names the flows itself).
  const taken = data.flows_taken || registry.filter(e => e.type === 'bpmn:SequenceFlow' &&
    done.has(e.source.id) && (done.has(e.target.id) || (data.current || []).includes(e.target.id))).map(e => e.id);
  markAll(canvas, registry, taken, 'netsign-done');
  markAll(canvas, registry, data.flows_missing, 'netsign-missing');
  for (const [id, text] of Object.entries(data.badges || {})) {
    if (!registry.get(id)) continue;
    const badge = document.createElement('div');
    badge.className = 'netsign-count';
    badge.textContent = text;
    badge.dataset.element = id;
    overlays.add(id, { position: { bottom: 4, right: 4 }, html: badge });
  }
  container.dataset.ready = 'true';
}

document.querySelectorAll('.bpmn-monitor').forEach(show);
