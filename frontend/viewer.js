// The read-only viewer bundle (task page, case view): bpmn-js NavigatedViewer with the Camunda
// descriptor so extension elements load without warnings. Page code calls
// window.SafeguardBpmn.createViewer; the diff page also calls window.SafeguardBpmn.diff
// (bpmn-js-differ) on two viewers' definitions to colour what changed.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import { diff as diffDefinitions } from 'bpmn-js-differ';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';

export function createViewer({ container }) {
  return new NavigatedViewer({ container, moddleExtensions: { camunda: camundaModdle } });
}

// The elements added, removed, changed and moved between two loaded diagrams, by id.
export function diff(oldViewer, newViewer) {
  const found = diffDefinitions(oldViewer.getDefinitions(), newViewer.getDefinitions());
  const ids = (byId) => Object.keys(byId);
  return {
    added: ids(found._added),
    removed: ids(found._removed),
    changed: ids(found._changed),
    layoutChanged: ids(found._layoutChanged),
  };
}
