from piiguard.v1 import event_pb2 as _event_pb2
from piiguard.v1 import detection_pb2 as _detection_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StepStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STEP_STATUS_UNSPECIFIED: _ClassVar[StepStatus]
    STEP_STATUS_DONE: _ClassVar[StepStatus]
    STEP_STATUS_ALREADY_DONE: _ClassVar[StepStatus]
    STEP_STATUS_SKIPPED: _ClassVar[StepStatus]
STEP_STATUS_UNSPECIFIED: StepStatus
STEP_STATUS_DONE: StepStatus
STEP_STATUS_ALREADY_DONE: StepStatus
STEP_STATUS_SKIPPED: StepStatus

class ActionRequest(_message.Message):
    __slots__ = ("event", "result")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    event: _event_pb2.Event
    result: _detection_pb2.DetectionResult
    def __init__(self, event: _Optional[_Union[_event_pb2.Event, _Mapping]] = ..., result: _Optional[_Union[_detection_pb2.DetectionResult, _Mapping]] = ...) -> None: ...

class ActionOutcome(_message.Message):
    __slots__ = ("event_id", "delete", "notify")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    DELETE_FIELD_NUMBER: _ClassVar[int]
    NOTIFY_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    delete: StepStatus
    notify: StepStatus
    def __init__(self, event_id: _Optional[str] = ..., delete: _Optional[_Union[StepStatus, str]] = ..., notify: _Optional[_Union[StepStatus, str]] = ...) -> None: ...
