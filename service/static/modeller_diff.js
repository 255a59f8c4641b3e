// The diff page: both versions drawn side by side with the bpmn-js viewer (static/vendor/
// viewer.js), and what changed coloured. bpmn-js-differ compares the two diagrams in the page
// (added, removed, changed); the elements of the server's list of changes (data-changed, the
// words above the diagrams: workflows/diffing.py) are coloured as changed too, so every change
// the list names is visible. Layout-only moves are not coloured.
'use strict';

(function () {
  const root = document.getElementById('diff-diagrams');
  if (!root) return;
  const status = document.getElementById('diff-status');

  async function draw(container, url) {
    const viewer = window.SafeguardBpmn.createViewer({ container });
    const answer = await fetch(url, { credentials: 'same-origin' });
    if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
    await viewer.importXML(await answer.text());
    viewer.get('canvas').zoom('fit-viewport', 'auto');
    return viewer;
  }

  function mark(viewer, ids, marker) {
    const registry = viewer.get('elementRegistry');
    const canvas = viewer.get('canvas');
    for (const id of ids) {
      if (registry.get(id)) canvas.addMarker(id, marker);
    }
  }

  async function show() {
    if (!window.SafeguardBpmn) {
      status.textContent = 'The diagram viewer is not installed (run make assets).';
      return;
    }
    const [before, after] = await Promise.all([
      draw(document.getElementById('diff-old'), root.dataset.oldUrl),
      draw(document.getElementById('diff-new'), root.dataset.newUrl),
    ]);
    const found = window.SafeguardBpmn.diff(before, after);
    const listed = (root.dataset.changed || '').split(' ').filter(Boolean);
    const whole = new Set([...found.added, ...found.removed]);
    const changed = [...new Set([...found.changed, ...listed])].filter((id) => !whole.has(id));
    mark(before, found.removed, 'diff-removed');
    mark(after, found.added, 'diff-added');
    mark(before, changed, 'diff-changed');
    mark(after, changed, 'diff-changed');
    root.dataset.state = 'ready';
  }

  function start() {
    show().catch((err) => {
      status.textContent = `The diagrams could not be drawn: ${err.message || err}`;
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
