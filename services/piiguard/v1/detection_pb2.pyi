from piiguard.v1 import event_pb2 as _event_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Verdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERDICT_UNSPECIFIED: _ClassVar[Verdict]
    VERDICT_ALLOW: _ClassVar[Verdict]
    VERDICT_DELETE: _ClassVar[Verdict]
    VERDICT_NOTIFY: _ClassVar[Verdict]

class EntityAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENTITY_ACTION_UNSPECIFIED: _ClassVar[EntityAction]
    ENTITY_ACTION_IGNORE: _ClassVar[EntityAction]
    ENTITY_ACTION_NOTIFY: _ClassVar[EntityAction]
    ENTITY_ACTION_DELETE: _ClassVar[EntityAction]
VERDICT_UNSPECIFIED: Verdict
VERDICT_ALLOW: Verdict
VERDICT_DELETE: Verdict
VERDICT_NOTIFY: Verdict
ENTITY_ACTION_UNSPECIFIED: EntityAction
ENTITY_ACTION_IGNORE: EntityAction
ENTITY_ACTION_NOTIFY: EntityAction
ENTITY_ACTION_DELETE: EntityAction

class Finding(_message.Message):
    __slots__ = ("entity_type", "start", "end", "score", "action", "file_id", "page", "file_name")
    ENTITY_TYPE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    entity_type: str
    start: int
    end: int
    score: float
    action: EntityAction
    file_id: str
    page: int
    file_name: str
    def __init__(self, entity_type: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ..., score: _Optional[float] = ..., action: _Optional[_Union[EntityAction, str]] = ..., file_id: _Optional[str] = ..., page: _Optional[int] = ..., file_name: _Optional[str] = ...) -> None: ...

class FileKindCount(_message.Message):
    __slots__ = ("entity_type", "count")
    ENTITY_TYPE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    entity_type: str
    count: int
    def __init__(self, entity_type: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class FileScan(_message.Message):
    __slots__ = ("file_id", "name", "detected_type", "declared_mimetype", "size", "pages", "pages_scanned", "method", "scanned", "reason", "kinds", "elapsed_ms")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DETECTED_TYPE_FIELD_NUMBER: _ClassVar[int]
    DECLARED_MIMETYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGES_FIELD_NUMBER: _ClassVar[int]
    PAGES_SCANNED_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    SCANNED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_MS_FIELD_NUMBER: _ClassVar[int]
    file_id: str
    name: str
    detected_type: str
    declared_mimetype: str
    size: int
    pages: int
    pages_scanned: int
    method: str
    scanned: bool
    reason: str
    kinds: _containers.RepeatedCompositeFieldContainer[FileKindCount]
    elapsed_ms: int
    def __init__(self, file_id: _Optional[str] = ..., name: _Optional[str] = ..., detected_type: _Optional[str] = ..., declared_mimetype: _Optional[str] = ..., size: _Optional[int] = ..., pages: _Optional[int] = ..., pages_scanned: _Optional[int] = ..., method: _Optional[str] = ..., scanned: _Optional[bool] = ..., reason: _Optional[str] = ..., kinds: _Optional[_Iterable[_Union[FileKindCount, _Mapping]]] = ..., elapsed_ms: _Optional[int] = ...) -> None: ...

class DetectionResult(_message.Message):
    __slots__ = ("event_id", "verdict", "findings", "files")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    verdict: Verdict
    findings: _containers.RepeatedCompositeFieldContainer[Finding]
    files: _containers.RepeatedCompositeFieldContainer[FileScan]
    def __init__(self, event_id: _Optional[str] = ..., verdict: _Optional[_Union[Verdict, str]] = ..., findings: _Optional[_Iterable[_Union[Finding, _Mapping]]] = ..., files: _Optional[_Iterable[_Union[FileScan, _Mapping]]] = ...) -> None: ...

class ScanRequest(_message.Message):
    __slots__ = ("event", "dry_run")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    event: _event_pb2.Event
    dry_run: bool
    def __init__(self, event: _Optional[_Union[_event_pb2.Event, _Mapping]] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class ScanResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: DetectionResult
    def __init__(self, result: _Optional[_Union[DetectionResult, _Mapping]] = ...) -> None: ...
