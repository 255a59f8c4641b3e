// The modeller bundle: bpmn-js Modeler with the properties panel (Camunda 7 extensions:
// forms, candidate groups, due dates) and bpmnlint. Built by frontend/build.mjs into
// service/static/vendor/modeller.js; page code (service/static/modeller.js) calls
// window.SafeguardBpmn.createModeller.
import Modeler from 'bpmn-js/lib/Modeler';
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
  CamundaPlatformPropertiesProviderModule,
} from 'bpmn-js-properties-panel';
import CamundaBehaviorsModule from 'camunda-bpmn-js-behaviors/lib/camunda-platform';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';
import lintModule from 'bpmn-js-bpmnlint';
import lintConfig from './.bpmnlintrc';
import translate from 'diagram-js/lib/i18n/translate/translate';

// Our due times are working time, not Camunda's EL or ISO dates: say so where the panel asks.
const WORDING = {
  'The due date as an EL expression (e.g. ${someDate}) or an ISO date (e.g. 2015-06-26T09:54:00).':
    'Time allowed, in working time: e.g. 1WD (working days), 4WH (working hours) or same-day.',
};
const WordingModule = {
  translate: ['value', (template, replacements) => translate(WORDING[template] || template, replacements)],
};

// The panel offers only what this engine runs (README, "What the modeller offers"): these
// groups, without the entries below. Listeners, input/output mappings, asynchronous
// continuations, job and history settings, external tasks and Java classes are not run here;
// a file that has them is refused at deploy with the reason (workflows/executable.py).
const GROUPS = new Set([
  'general', 'documentation', 'timer', 'condition', 'multiInstance', 'message', 'signal',
  'error', 'escalation', 'CamundaPlatform__UserAssignment', 'CamundaPlatform__Form',
  'CamundaPlatform__FormData', 'CamundaPlatform__Condition', 'CamundaPlatform__Script',
  'CamundaPlatform__CallActivity', 'CamundaPlatform__ExtensionProperties',
]);
const ENTRIES = new Set([
  'candidateUsers', 'followUpDate', 'versionTag', 'isStartableInTasklist',
  'multiInstanceAsynchronousBefore', 'multiInstanceAsynchronousAfter', 'multiInstanceExclusive',
  'multiInstanceRetryTimeCycle', 'retryTimeCycle', 'jobPriority', 'formRef', 'formRefBinding',
  'formRefVersion', 'calledElementBinding', 'calledElementVersion', 'calledElementVersionTag',
  'calledElementTenantId', 'calledElementBusinessKey', 'calledElementType',
  'calledElementDelegateVariableMappingType',
]);

function SupportedOnly(propertiesPanel) {
  // Priority below the Camunda provider's (500): it runs last and sees every group.
  propertiesPanel.registerProvider(100, {
    getGroups() {
      return (groups) => groups
        .filter((group) => GROUPS.has(group.id))
        .map((group) => (group.entries
          ? { ...group, entries: group.entries.filter((entry) => !ENTRIES.has(entry.id)) }
          : group));
    },
  });
}
SupportedOnly.$inject = ['propertiesPanel'];
const SupportedModule = { __init__: ['supportedOnly'], supportedOnly: ['type', SupportedOnly] };

export function createModeller({ container, propertiesParent }) {
  return new Modeler({
    container,
    propertiesPanel: { parent: propertiesParent },
    linting: { bpmnlint: lintConfig, active: true },
    additionalModules: [
      BpmnPropertiesPanelModule,
      BpmnPropertiesProviderModule,
      CamundaPlatformPropertiesProviderModule,
      CamundaBehaviorsModule,
      lintModule,
      WordingModule,
      SupportedModule,
    ],
    moddleExtensions: { camunda: camundaModdle },
  });
}
