// The properties panel and palette in Chinese (bpmn-js's `translate` service): analysts read the same
// words as in the rest of the admin pages. Strings not listed stay as bpmn-js writes them.
const ZH = {
  'General': '常规', 'Name': '名称', 'ID': '编号', 'Documentation': '说明', 'Element documentation': '元素说明',
  'Process documentation': '流程说明', 'Timer': '定时器', 'Type': '类型', 'Value': '值', 'Date': '日期',
  'Duration': '时长', 'Cycle': '循环', '<none>': '<无>', 'Condition': '条件', 'Condition Expression': '条件表达式',
  'Message': '消息', 'Global message reference': '消息', 'Signal': '信号', 'Escalation': '上报', 'Error': '错误',
  'Multi-instance': '多实例', 'Loop cardinality': '循环次数', 'Completion condition': '完成条件',
  'Collection': '集合', 'Element variable': '元素变量', 'Script': '脚本', 'Format': '格式',
  'Implementation': '实现', 'Inline script': '内联脚本', 'Process': '流程', 'Executable': '可执行',
  'Version tag': '版本标签', 'Called element': '被调用流程', 'Link': '链接', 'Compensation': '补偿',
  'Create': '创建', 'Delete': '删除', 'Activate the hand tool': '抓手工具', 'Activate the lasso tool': '套索工具',
  'Activate the create/remove space tool': '插入/删除空间', 'Activate the global connect tool': '连接工具',
  'Create StartEvent': '开始事件', 'Create EndEvent': '结束事件', 'Create Intermediate/Boundary Event': '中间/边界事件',
  'Create Gateway': '网关', 'Create Task': '任务', 'Create DataObjectReference': '数据对象',
  'Create DataStoreReference': '数据存储', 'Create expanded SubProcess': '子流程', 'Create Pool/Participant': '池/参与者',
  'Create Group': '分组', 'Append Task': '追加任务', 'Append EndEvent': '追加结束事件', 'Append Gateway': '追加网关',
  'Append Intermediate/Boundary Event': '追加中间事件', 'Connect using Sequence/MessageFlow or Association': '连线',
  'Change type': '更改类型', 'Remove': '删除', 'Add Lane above': '上方加泳道', 'Add Lane below': '下方加泳道',
  'Divide into two Lanes': '拆为两条泳道', 'Divide into three Lanes': '拆为三条泳道',
};

function translate(template, replacements) {
  const text = ZH[template] || template;
  return text.replace(/{([^}]+)}/g, (_, key) => (replacements && key in replacements ? replacements[key] : `{${key}}`));
}

export default { translate: ['value', translate] };
