// The read-only viewer bundle (task page, case view): bpmn-js NavigatedViewer with the Camunda
// descriptor so extension elements load without warnings. Page code calls
// window.SafeguardBpmn.createViewer.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';

export function createViewer({ container }) {
  return new NavigatedViewer({ container, moddleExtensions: { camunda: camundaModdle } });
}
