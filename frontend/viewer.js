// The monitoring diagram (admin instance and definition pages): bpmn-js's viewer draws the deployed XML as any
// modeler does, and overlays mark the path taken, the current tasks, and per element how many instances wait
// there and their median time.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css';
import './viewer.css';

async function show(container) {
  const data = JSON.parse(container.querySelector('script[type="application/json"]').textContent);
  const viewer = new NavigatedViewer({ container: container.querySelector('.bpmn-canvas') });
  try {
    await viewer.importXML(data.xml);
  } catch (err) {
    container.querySelector('.bpmn-canvas').textContent = '无法显示流程图：' + err.message;
    return;
  }
  const canvas = viewer.get('canvas');
  const registry = viewer.get('elementRegistry');
  const overlays = viewer.get('overlays');
  canvas.zoom('fit-viewport');
  for (const id of data.done || []) if (registry.get(id)) canvas.addMarker(id, 'netsign-done');
  for (const id of data.current || []) if (registry.get(id)) canvas.addMarker(id, 'netsign-current');
  for (const [id, text] of Object.entries(data.badges || {})) {
    if (!registry.get(id)) continue;
    const badge = document.createElement('div');
    badge.className = 'netsign-count';
    badge.textContent = text;
    overlays.add(id, { position: { bottom: 8, right: 8 }, html: badge });
  }
  container.dataset.ready = 'true';
}

document.querySelectorAll('.bpmn-monitor').forEach(show);
