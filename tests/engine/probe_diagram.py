"""A one-script, one-gateway, optional-timer diagram built in code, for the budget and deploy-policy tests."""
from __future__ import annotations

from xml.sax.saxutils import escape

PROCESS_ID = "budget_probe"
FILE = "budget_probe.bpmn"


def probe(script: str = "x = 1", condition: str = "True", timer: str | None = None,
          timer_kind: str = "timeDuration", process_id: str = PROCESS_ID) -> dict[str, str]:
    """Start → script 「计算」 → gateway 「判断」 (condition → [timer 「等待」 →] 「通过」, else 「未通过」)."""
    after_yes = "Wait" if timer is not None else "EndYes"
    timer_xml = ""
    if timer is not None:
        timer_xml = f"""
    <bpmn:intermediateCatchEvent id="Wait" name="等待">
      <bpmn:incoming>G_yes</bpmn:incoming>
      <bpmn:outgoing>W1</bpmn:outgoing>
      <bpmn:timerEventDefinition id="TED_wait">
        <bpmn:{timer_kind} xsi:type="bpmn:tFormalExpression">{escape(timer)}</bpmn:{timer_kind}>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="W1" sourceRef="Wait" targetRef="EndYes"/>"""
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  id="Definitions_probe" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{process_id}" name="预算探针" isExecutable="true">
    <bpmn:startEvent id="Begin" name="开始">
      <bpmn:outgoing>S1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:scriptTask id="Script" name="计算">
      <bpmn:incoming>S1</bpmn:incoming>
      <bpmn:outgoing>S2</bpmn:outgoing>
      <bpmn:script>{escape(script)}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="Gate" name="判断" default="G_no">
      <bpmn:incoming>S2</bpmn:incoming>
      <bpmn:outgoing>G_yes</bpmn:outgoing>
      <bpmn:outgoing>G_no</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="S1" sourceRef="Begin" targetRef="Script"/>
    <bpmn:sequenceFlow id="S2" sourceRef="Script" targetRef="Gate"/>
    <bpmn:sequenceFlow id="G_yes" sourceRef="Gate" targetRef="{after_yes}">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{escape(condition)}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="G_no" sourceRef="Gate" targetRef="EndNo"/>{timer_xml}
    <bpmn:endEvent id="EndYes" name="通过">
      <bpmn:incoming>{"W1" if timer is not None else "G_yes"}</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:endEvent id="EndNo" name="未通过">
      <bpmn:incoming>G_no</bpmn:incoming>
    </bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""
    return {FILE: xml}


def multi_instance(cardinality: str, process_id: str = "budget_many") -> dict[str, str]:
    """Start → script 「逐个处理」 run ``cardinality`` times in sequence → end."""
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  id="Definitions_many" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{process_id}" name="多实例探针" isExecutable="true">
    <bpmn:startEvent id="Begin" name="开始">
      <bpmn:outgoing>M1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:scriptTask id="Each" name="逐个处理">
      <bpmn:incoming>M1</bpmn:incoming>
      <bpmn:outgoing>M2</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics isSequential="true">
        <bpmn:loopCardinality>{escape(cardinality)}</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>
      <bpmn:script>done = 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="Finish" name="完成">
      <bpmn:incoming>M2</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="M1" sourceRef="Begin" targetRef="Each"/>
    <bpmn:sequenceFlow id="M2" sourceRef="Each" targetRef="Finish"/>
  </bpmn:process>
</bpmn:definitions>
"""
    return {"budget_many.bpmn": xml}
