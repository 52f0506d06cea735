import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from piiguard.v1 import detection_pb2 as _detection_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LifecycleStep(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LIFECYCLE_STEP_UNSPECIFIED: _ClassVar[LifecycleStep]
    LIFECYCLE_STEP_RECEIVED: _ClassVar[LifecycleStep]
    LIFECYCLE_STEP_IGNORED: _ClassVar[LifecycleStep]
    LIFECYCLE_STEP_SCANNED: _ClassVar[LifecycleStep]
    LIFECYCLE_STEP_DELETED: _ClassVar[LifecycleStep]
    LIFECYCLE_STEP_NOTIFIED: _ClassVar[LifecycleStep]
    LIFECYCLE_STEP_RETRIED: _ClassVar[LifecycleStep]
    LIFECYCLE_STEP_DEAD_LETTERED: _ClassVar[LifecycleStep]
    LIFECYCLE_STEP_REPLAYED: _ClassVar[LifecycleStep]
LIFECYCLE_STEP_UNSPECIFIED: LifecycleStep
LIFECYCLE_STEP_RECEIVED: LifecycleStep
LIFECYCLE_STEP_IGNORED: LifecycleStep
LIFECYCLE_STEP_SCANNED: LifecycleStep
LIFECYCLE_STEP_DELETED: LifecycleStep
LIFECYCLE_STEP_NOTIFIED: LifecycleStep
LIFECYCLE_STEP_RETRIED: LifecycleStep
LIFECYCLE_STEP_DEAD_LETTERED: LifecycleStep
LIFECYCLE_STEP_REPLAYED: LifecycleStep

class EntityCount(_message.Message):
    __slots__ = ("entity_type", "count")
    ENTITY_TYPE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    entity_type: str
    count: int
    def __init__(self, entity_type: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class AuditRecord(_message.Message):
    __slots__ = ("correlation_id", "workspace_id", "stage", "step", "time", "verdict", "entities", "findings", "attempt", "reason", "channel_id", "message_ts", "files")
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_TS_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    correlation_id: str
    workspace_id: str
    stage: str
    step: LifecycleStep
    time: _timestamp_pb2.Timestamp
    verdict: _detection_pb2.Verdict
    entities: _containers.RepeatedCompositeFieldContainer[EntityCount]
    findings: _containers.RepeatedCompositeFieldContainer[_detection_pb2.Finding]
    attempt: int
    reason: str
    channel_id: str
    message_ts: str
    files: _containers.RepeatedCompositeFieldContainer[_detection_pb2.FileScan]
    def __init__(self, correlation_id: _Optional[str] = ..., workspace_id: _Optional[str] = ..., stage: _Optional[str] = ..., step: _Optional[_Union[LifecycleStep, str]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., verdict: _Optional[_Union[_detection_pb2.Verdict, str]] = ..., entities: _Optional[_Iterable[_Union[EntityCount, _Mapping]]] = ..., findings: _Optional[_Iterable[_Union[_detection_pb2.Finding, _Mapping]]] = ..., attempt: _Optional[int] = ..., reason: _Optional[str] = ..., channel_id: _Optional[str] = ..., message_ts: _Optional[str] = ..., files: _Optional[_Iterable[_Union[_detection_pb2.FileScan, _Mapping]]] = ...) -> None: ...

class GetEventHistoryRequest(_message.Message):
    __slots__ = ("correlation_id",)
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    correlation_id: str
    def __init__(self, correlation_id: _Optional[str] = ...) -> None: ...

class GetEventHistoryResponse(_message.Message):
    __slots__ = ("records",)
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[AuditRecord]
    def __init__(self, records: _Optional[_Iterable[_Union[AuditRecord, _Mapping]]] = ...) -> None: ...
