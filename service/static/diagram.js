// Draws each `.diagram[data-diagram-url]` with the bpmn-js viewer (static/vendor/viewer.js) and
// colours its elements from GET /api/process-instances/{id}/diagram: completed, active and
// overdue steps, and `data-current` (the step of the task page) outlined. No inline script:
// the CSP forbids it, so pages include this file.
'use strict';

(function () {
  const MARKERS = ['completed', 'active', 'overdue'];

  function statusOf(container) {
    const figure = container.closest('figure');
    return figure ? figure.querySelector('.diagram-status') : null;
  }

  async function draw(container) {
    const status = statusOf(container);
    try {
      const answer = await fetch(container.dataset.diagramUrl, {
        credentials: 'same-origin',
        headers: { Accept: 'application/json' },
      });
      if (!answer.ok) {
        throw new Error(`the diagram could not be loaded (HTTP ${answer.status})`);
      }
      const diagram = await answer.json();
      const viewer = window.SafeguardBpmn.createViewer({ container });
      await viewer.importXML(diagram.xml);
      const canvas = viewer.get('canvas');
      const elements = viewer.get('elementRegistry');
      for (const marker of MARKERS) {
        for (const id of diagram[marker] || []) {
          if (elements.get(id)) canvas.addMarker(id, marker);
        }
      }
      const current = container.dataset.current;
      if (current && elements.get(current)) canvas.addMarker(current, 'current');
      canvas.zoom('fit-viewport', 'auto');
      container.dataset.state = 'ready';
    } catch (err) {
      container.dataset.state = 'failed';
      if (status) status.textContent = `Sorry, ${err.message || err}.`;
    }
  }

  function start() {
    if (!window.SafeguardBpmn) {
      document.querySelectorAll('.diagram-status').forEach((s) => {
        s.textContent = 'The diagram viewer is not installed (run make assets).';
      });
      return;
    }
    document.querySelectorAll('.diagram[data-diagram-url]').forEach(draw);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
