// Draws each `.diagram[data-diagram-url]` with the bpmn-js viewer (static/vendor/viewer.js) and
// colours its elements from GET /api/process-instances/{id}/diagram: completed, active and
// overdue steps, and `data-current` (the step of the task page) outlined. No inline script:
// the CSP forbids it, so pages include this file.
'use strict';

(function () {
  const MARKERS = ['completed', 'active', 'overdue'];
  const READABLE = 0.9; // the smallest scale at which a step's name can be read

  function statusOf(container) {
    const figure = container.closest('figure');
    return figure ? figure.querySelector('.diagram-status') : null;
  }

  // A wide diagram in a tall box is mostly empty: size the box to the diagram's proportions
  // (within CSS limits), then fit the diagram into it.
  function fitHeight(container, canvas) {
    const { inner } = canvas.viewbox();
    if (inner.width > 0) {
      const wanted = (container.clientWidth * inner.height) / inner.width + 40;
      container.style.height = `${Math.round(Math.min(Math.max(wanted, 160), 560))}px`;
      canvas.resized();
    }
    canvas.zoom('fit-viewport', 'auto');
  }

  // The task page: the whole diagram if it is legible at that size, else this step in the
  // middle at a readable scale (the viewer pans and zooms for the rest).
  function around(canvas, element) {
    canvas.zoom('fit-viewport', 'auto');
    const { outer, scale: fitted } = canvas.viewbox();
    if (fitted >= READABLE) return;
    const width = outer.width / READABLE;
    const height = outer.height / READABLE;
    canvas.viewbox({
      x: element.x + element.width / 2 - width / 2,
      y: element.y + element.height / 2 - height / 2,
      width,
      height,
    });
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
      const current = elements.get(container.dataset.current || '');
      if (current) {
        canvas.addMarker(current.id, 'current');
        around(canvas, current);
      } else {
        fitHeight(container, canvas);
      }
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
