// The engine's own settings of an element (the `spiffworkflow` extensions it reads), in the properties panel:
// form key, four-eyes rule and due date of a person's task; operator, result and parameters of a service task;
// scripts before/after a task; the variable a message lands in; the decision table of a rule task.
// Timer expressions and gateway conditions are standard BPMN and edited by bpmn-js's own groups.
import { h } from '@bpmn-io/properties-panel/preact';
import { TextFieldEntry, TextAreaEntry, isTextFieldEntryEdited, isTextAreaEntryEdited } from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { getBusinessObject, is, isAny } from 'bpmn-js/lib/util/ModelUtil';

const PERSON_TASKS = ['bpmn:UserTask', 'bpmn:ManualTask'];

function extensionOf(bo, type) {
  return ((bo.extensionElements && bo.extensionElements.get('values')) || []).find(v => is(v, type));
}

// Create the extension element of `type` under `element` when it is missing; returns it.
function ensureExtension(element, type, bpmnFactory, modeling) {
  const bo = getBusinessObject(element);
  let extensions = bo.extensionElements;
  if (!extensions) {
    extensions = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
    extensions.$parent = bo;
    modeling.updateModdleProperties(element, bo, { extensionElements: extensions });
  }
  let item = extensionOf(bo, type);
  if (!item) {
    item = bpmnFactory.create(type);
    item.$parent = extensions;
    modeling.updateModdleProperties(element, extensions, { values: [...extensions.get('values'), item] });
  }
  return item;
}

function removeExtension(element, item, modeling) {
  const extensions = getBusinessObject(element).extensionElements;
  modeling.updateModdleProperties(element, extensions, { values: extensions.get('values').filter(v => v !== item) });
}

function propertyValue(element, name) {
  const properties = extensionOf(getBusinessObject(element), 'spiffworkflow:Properties');
  const found = properties && properties.get('properties').find(p => p.name === name);
  return found ? found.value : '';
}

function PropertyEntry(props) {
  const { element, id, name, label, description } = props;
  const modeling = useService('modeling');
  const bpmnFactory = useService('bpmnFactory');
  const debounce = useService('debounceInput');
  const setValue = (value) => {
    const properties = ensureExtension(element, 'spiffworkflow:Properties', bpmnFactory, modeling);
    const list = properties.get('properties');
    const existing = list.find(p => p.name === name);
    if (!value) {
      if (existing) modeling.updateModdleProperties(element, properties, { properties: list.filter(p => p !== existing) });
    } else if (existing) {
      modeling.updateModdleProperties(element, existing, { value });
    } else {
      const property = bpmnFactory.create('spiffworkflow:Property', { name, value });
      property.$parent = properties;
      modeling.updateModdleProperties(element, properties, { properties: [...list, property] });
    }
  };
  return h(TextFieldEntry, { element, id, label, description, debounce, getValue: () => propertyValue(element, name), setValue });
}

function BodyEntry(props) {
  const { element, id, type, label, description, rows } = props;
  const modeling = useService('modeling');
  const bpmnFactory = useService('bpmnFactory');
  const debounce = useService('debounceInput');
  const getValue = () => {
    const item = extensionOf(getBusinessObject(element), type);
    return item ? item.value || '' : '';
  };
  const setValue = (value) => {
    const existing = extensionOf(getBusinessObject(element), type);
    if (!value) {
      if (existing) removeExtension(element, existing, modeling);
      return;
    }
    const item = existing || ensureExtension(element, type, bpmnFactory, modeling);
    modeling.updateModdleProperties(element, item, { value });
  };
  const entry = rows ? TextAreaEntry : TextFieldEntry;
  return h(entry, { element, id, label, description, debounce, getValue, setValue, rows, monospace: !!rows });
}

function operatorOf(element) {
  return extensionOf(getBusinessObject(element), 'spiffworkflow:ServiceTaskOperator');
}

function OperatorEntry(props) {
  const { element, id, attribute, label, description } = props;
  const modeling = useService('modeling');
  const bpmnFactory = useService('bpmnFactory');
  const debounce = useService('debounceInput');
  const getValue = () => (operatorOf(element) && operatorOf(element).get(attribute)) || '';
  const setValue = (value) => {
    const operator = ensureExtension(element, 'spiffworkflow:ServiceTaskOperator', bpmnFactory, modeling);
    modeling.updateModdleProperties(element, operator, { [attribute]: value || undefined });
  };
  return h(TextFieldEntry, { element, id, label, description, debounce, getValue, setValue });
}

// One line per parameter, `name = expression`: an analyst changes an expression or adds a parameter here.
export function parseParameterLines(text) {
  const parameters = [];
  for (const line of (text || '').split('\n')) {
    const index = line.indexOf('=');
    if (!line.trim()) continue;
    if (index < 1) throw new Error(`「${line.trim()}」应写成「参数名 = 表达式」`);
    parameters.push({ id: line.slice(0, index).trim(), value: line.slice(index + 1).trim() });
  }
  return parameters;
}

function ParametersEntry(props) {
  const { element, id } = props;
  const modeling = useService('modeling');
  const bpmnFactory = useService('bpmnFactory');
  const debounce = useService('debounceInput');
  const getValue = () => {
    const operator = operatorOf(element);
    const list = operator && operator.parameters ? operator.parameters.get('parameters') : [];
    return list.map(p => `${p.id} = ${p.value}`).join('\n');
  };
  const setValue = (text) => {
    let parsed;
    try {
      parsed = parseParameterLines(text);
    } catch (err) {
      return; // the validate hook below shows the message; nothing is written
    }
    const operator = ensureExtension(element, 'spiffworkflow:ServiceTaskOperator', bpmnFactory, modeling);
    const container = bpmnFactory.create('spiffworkflow:Parameters', { parameters: [] });
    container.$parent = operator;
    const parameters = parsed.map(p => {
      const parameter = bpmnFactory.create('spiffworkflow:Parameter', { id: p.id, type: 'any', value: p.value });
      parameter.$parent = container;
      return parameter;
    });
    container.set('parameters', parameters);
    modeling.updateModdleProperties(element, operator, { parameters: container });
  };
  const validate = (text) => {
    try { parseParameterLines(text); return null; } catch (err) { return err.message; }
  };
  return h(TextAreaEntry, {
    element, id, label: '参数（每行「参数名 = 表达式」）', debounce, getValue, setValue, validate, rows: 4, monospace: true,
  });
}

function entriesFor(element) {
  const entries = [];
  // The panel renders each entry's component with the entry itself as props, so the components stay the same
  // functions from render to render (a new function would remount the field and lose the cursor).
  const add = (id, component, props, isEdited) => entries.push({ id, component, isEdited, ...props });
  if (isAny(element, [...PERSON_TASKS, 'bpmn:Task']) && element.type !== 'bpmn:ServiceTask' &&
      !isAny(element, ['bpmn:ScriptTask', 'bpmn:BusinessRuleTask', 'bpmn:SendTask', 'bpmn:ReceiveTask'])) {
    add('spiff-formKey', PropertyEntry, { name: 'formKey', label: '表单（formKey）', description: '办理人填写的表单；须在系统中登记' }, isTextFieldEntryEdited);
    add('spiff-notCompletedBy', PropertyEntry, { name: 'notCompletedBy', label: '不得由以下任务的办理人办理', description: '任务编号，逗号分隔（四眼原则）' }, isTextFieldEntryEdited);
    add('spiff-dueIn', PropertyEntry, { name: 'dueIn', label: '办理时限', description: 'ISO 8601 时长，例如 P3D（三天）' }, isTextFieldEntryEdited);
  }
  if (is(element, 'bpmn:ServiceTask')) {
    add('spiff-operator', OperatorEntry, { attribute: 'id', label: '服务操作', description: '系统中登记的处理程序' }, isTextFieldEntryEdited);
    add('spiff-result', OperatorEntry, { attribute: 'resultVariable', label: '结果变量' }, isTextFieldEntryEdited);
    add('spiff-parameters', ParametersEntry, {}, isTextAreaEntryEdited);
  }
  if (is(element, 'bpmn:BusinessRuleTask')) {
    add('spiff-decision', BodyEntry, { type: 'spiffworkflow:CalledDecisionId', label: '决策表编号' }, isTextFieldEntryEdited);
  }
  if (isAny(element, ['bpmn:ReceiveTask', 'bpmn:IntermediateCatchEvent', 'bpmn:BoundaryEvent', 'bpmn:StartEvent'])) {
    const definitions = getBusinessObject(element).eventDefinitions || [];
    if (is(element, 'bpmn:ReceiveTask') || definitions.some(d => is(d, 'bpmn:MessageEventDefinition'))) {
      add('spiff-messageVariable', BodyEntry, { type: 'spiffworkflow:MessageVariable', label: '消息内容存入变量' }, isTextFieldEntryEdited);
    }
  }
  if (is(element, 'bpmn:Activity')) {
    add('spiff-preScript', BodyEntry, { type: 'spiffworkflow:PreScript', label: '任务前脚本', rows: 3 }, isTextAreaEntryEdited);
    add('spiff-postScript', BodyEntry, { type: 'spiffworkflow:PostScript', label: '任务后脚本', rows: 3 }, isTextAreaEntryEdited);
  }
  return entries;
}

function SpiffPropertiesProvider(propertiesPanel) {
  propertiesPanel.registerProvider(400, this);
}

SpiffPropertiesProvider.$inject = ['propertiesPanel'];

SpiffPropertiesProvider.prototype.getGroups = function(element) {
  return function(groups) {
    const entries = entriesFor(element);
    if (entries.length) {
      groups.splice(1, 0, { id: 'spiffworkflow', label: '引擎设置', entries });
    }
    return groups;
  };
};

export default {
  __init__: ['spiffPropertiesProvider'],
  spiffPropertiesProvider: ['type', SpiffPropertiesProvider],
};
