// The modeller page: bpmn-js Modeler (static/vendor/modeller.js) on the deployed XML, the
// properties panel for forms, candidate groups and due dates, bpmnlint, and the actions that
// use the API with the session cookie and the page's CSRF token: Validate, Deploy (after a
// dialog that asks for the change note), Export and the link to the diff page. Problems from
// the server are shown on their elements (overlays) and in a list whose entries select the
// element. Leaving the page with changes not deployed asks first.
'use strict';

(function () {
  const root = document.getElementById('modeller');
  const status = document.getElementById('modeller-status');
  const validateButton = document.getElementById('modeller-validate');
  const deployButton = document.getElementById('modeller-deploy');
  const problemList = document.getElementById('problems-list');
  const problemsNone = document.getElementById('problems-none');
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const dialog = document.getElementById('deploy-dialog');
  const noteInput = document.getElementById('deploy-note');
  const READABLE = 0.75; // the smallest scale at which a step's name can be read
  let modeler = null;
  let unsaved = false; // edits made since the diagram was opened or last deployed

  function say(text, kind) {
    status.textContent = text;
    status.className = kind || '';
  }

  async function send(url, xml, query) {
    const target = new URL(url, window.location.href);
    for (const [name, value] of Object.entries(query || {})) target.searchParams.set(name, value);
    const answer = await fetch(target, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/xml', Accept: 'application/json', 'X-CSRFToken': csrf },
      body: xml,
    });
    let body = null;
    try {
      body = await answer.json();
    } catch (err) {
      body = null;
    }
    return { status: answer.status, body };
  }

  async function currentXml() {
    const { xml } = await modeler.saveXML({ format: true });
    return xml;
  }

  function focusElement(id) {
    const element = modeler.get('elementRegistry').get(id);
    if (!element) return;
    modeler.get('selection').select(element);
    modeler.get('canvas').scrollToElement(element);
  }

  function showProblems(problems) {
    const overlays = modeler.get('overlays');
    const elements = modeler.get('elementRegistry');
    overlays.remove({ type: 'server-problem' });
    problemList.replaceChildren();
    problemsNone.textContent = problems.length ? '' : 'The server found no problem.';
    problemsNone.hidden = problems.length > 0;
    for (const problem of problems) {
      const where = problem.element_id ? `${problem.element_id}` : 'the diagram';
      const line = problem.line ? ` (line ${problem.line})` : '';
      const warning = problem.severity === 'warning';
      const message = warning ? `warning: ${problem.message}` : problem.message;
      const item = document.createElement('li');
      item.dataset.elementId = problem.element_id || '';
      item.dataset.severity = problem.severity || 'error';
      if (problem.element_id && elements.get(problem.element_id)) {
        const button = document.createElement('button');
        button.type = 'button';
        button.textContent = where;
        button.addEventListener('click', () => focusElement(problem.element_id));
        item.append(button, `${line}: ${message}`);
        const marker = document.createElement('div');
        marker.className = 'problem-marker';
        marker.textContent = warning ? '?' : '!';
        marker.title = message;
        overlays.add(problem.element_id, 'server-problem', {
          position: { top: -10, right: 10 },
          html: marker,
        });
      } else {
        item.textContent = `${where}${line}: ${message}`;
      }
      problemList.append(item);
    }
  }

  async function validate() {
    say('Checking…');
    const { status: code, body } = await send(root.dataset.validateUrl, await currentXml());
    if (code !== 200) {
      say(`The server could not check the diagram (HTTP ${code}).`, 'error');
      return;
    }
    showProblems(body.problems);
    const count = body.problems.length;
    const errors = body.problems.filter((p) => p.severity !== 'warning').length;
    const warned = count > errors ? ` (${count - errors} warning${count - errors === 1 ? '' : 's'})` : '';
    say(count ? `${count} problem${count === 1 ? '' : 's'} found${warned}.` : 'No problems found.', errors ? 'error' : 'ok');
  }

  // The new version at the top of the version history, as the server rendered the others.
  function addToHistory(body) {
    const rows = document.getElementById('history-rows');
    const row = document.createElement('tr');
    row.dataset.version = String(body.version);
    const when = document.createElement('time');
    when.dateTime = body.deployed_at;
    when.textContent = `${body.deployed_at.slice(0, 16).replace('T', ' ')} UTC`;
    const cells = [String(body.version), when, `deployed in the modeller or through the API by ${body.deployed_by}`, body.note || ''];
    for (const content of cells) {
      const cell = document.createElement('td');
      cell.append(content);
      row.append(cell);
    }
    row.children[3].className = 'note';
    const actions = document.createElement('td');
    const links = [
      ['Open', `${root.dataset.modellerUrl}?version=${body.version}`],
      ['Export', `${root.dataset.versionsUrl}/${body.version}/xml`],
      ['Changes', `${root.dataset.diffUrl}?to=${body.version}`],
    ];
    for (const [text, href] of links) {
      const link = document.createElement('a');
      link.textContent = text;
      link.href = href;
      if (text === 'Export') link.download = '';
      actions.append(link, ' ');
    }
    row.append(actions);
    rows.prepend(row);
  }

  // The deploy dialog: the change note is required; Cancel deploys nothing.
  function askForNote() {
    return new Promise((resolve) => {
      noteInput.value = '';
      dialog.addEventListener(
        'close',
        () => resolve(dialog.returnValue === 'deploy' ? noteInput.value.trim() : null),
        { once: true },
      );
      dialog.returnValue = '';
      dialog.showModal();
    });
  }

  async function deploy() {
    const note = await askForNote();
    if (note === null) {
      say('Not deployed.');
      return;
    }
    say('Deploying…');
    const before = root.dataset.version;
    const xml = await currentXml();
    const { status: code, body } = await send(root.dataset.deployUrl, xml, { note });
    if (code === 422) {
      showProblems((body && body.error && body.error.details) || []);
      say('Not deployed: the diagram has problems (see the list below).', 'error');
      return;
    }
    if (code !== 200 && code !== 201) {
      const message = body && body.error ? body.error.message : `HTTP ${code}`;
      say(`Not deployed: ${message}`, 'error');
      return;
    }
    showProblems([]);
    unsaved = false;
    const version = String(body.version);
    root.dataset.version = version;
    document.getElementById('modeller-version').textContent = version;
    document.getElementById('deploy-next').textContent = String(body.version + 1);
    const diff = document.getElementById('modeller-diff');
    diff.href = `${root.dataset.diffUrl}?from=${encodeURIComponent(before)}&to=${encodeURIComponent(version)}`;
    const exported = document.getElementById('modeller-export');
    exported.href = `${root.dataset.versionsUrl}/${version}/xml`;
    exported.title = `Download version ${version} as deployed`;
    if (code === 201) {
      addToHistory(body);
      say(`Deployed as version ${version}.`, 'ok');
    } else {
      say(`Nothing changed: version ${version} is the same diagram.`, 'ok');
    }
  }

  function guard(action) {
    return async () => {
      validateButton.disabled = deployButton.disabled = true;
      try {
        await action();
      } catch (err) {
        say(`Sorry, that did not work: ${err.message || err}`, 'error');
      } finally {
        validateButton.disabled = deployButton.disabled = false;
      }
    };
  }

  // The diagram from its left edge, to the right of the tool palette that floats over the
  // canvas: whole if it is legible that way, else at a readable scale (pan for the rest).
  function fitBesidePalette() {
    const canvas = modeler.get('canvas');
    const palette = document.querySelector('#modeller-canvas .djs-palette');
    const left = (palette ? palette.getBoundingClientRect().width : 0) + 30;
    canvas.zoom('fit-viewport', 'auto');
    const { inner, outer } = canvas.viewbox();
    const whole = Math.min((outer.width - left - 20) / inner.width, (outer.height - 40) / inner.height);
    const scale = Math.min(Math.max(whole, READABLE), 1);
    canvas.viewbox({
      x: inner.x - left / scale,
      y: inner.y - 20 / scale,
      width: outer.width / scale,
      height: outer.height / scale,
    });
  }

  async function open() {
    if (!window.SafeguardBpmn) {
      say('The modeller is not installed (run make assets).', 'error');
      return;
    }
    modeler = window.SafeguardBpmn.createModeller({
      container: document.getElementById('modeller-canvas'),
      propertiesParent: document.getElementById('modeller-properties'),
    });
    const answer = await fetch(root.dataset.xmlUrl, { credentials: 'same-origin' });
    if (!answer.ok) {
      say(`The diagram could not be loaded (HTTP ${answer.status}).`, 'error');
      return;
    }
    const { warnings } = await modeler.importXML(await answer.text());
    fitBesidePalette();
    modeler.on('commandStack.changed', () => {
      unsaved = true;
    });
    window.addEventListener('beforeunload', (event) => {
      if (!unsaved) return;
      event.preventDefault();
      event.returnValue = ''; // the browser asks whether to leave; changes not deployed are lost
    });
    validateButton.addEventListener('click', guard(validate));
    deployButton.addEventListener('click', guard(deploy));
    validateButton.disabled = deployButton.disabled = false;
    root.dataset.state = 'ready';
    if (warnings.length) say(`Opened with ${warnings.length} warning(s) from the diagram reader.`);
  }

  function start() {
    open().catch((err) => say(`The diagram could not be opened: ${err.message || err}`, 'error'));
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
