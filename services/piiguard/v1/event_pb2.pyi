import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SourcePlatform(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SOURCE_PLATFORM_UNSPECIFIED: _ClassVar[SourcePlatform]
    SOURCE_PLATFORM_SLACK: _ClassVar[SourcePlatform]
    SOURCE_PLATFORM_NOTION: _ClassVar[SourcePlatform]
    SOURCE_PLATFORM_API: _ClassVar[SourcePlatform]

class ChannelType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANNEL_TYPE_UNSPECIFIED: _ClassVar[ChannelType]
    CHANNEL_TYPE_PUBLIC: _ClassVar[ChannelType]
    CHANNEL_TYPE_PRIVATE: _ClassVar[ChannelType]
    CHANNEL_TYPE_MPIM: _ClassVar[ChannelType]
    CHANNEL_TYPE_IM: _ClassVar[ChannelType]

class EventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_KIND_UNSPECIFIED: _ClassVar[EventKind]
    EVENT_KIND_MESSAGE: _ClassVar[EventKind]
    EVENT_KIND_MESSAGE_CHANGED: _ClassVar[EventKind]
    EVENT_KIND_THREAD_BROADCAST: _ClassVar[EventKind]
    EVENT_KIND_FILE_SHARE: _ClassVar[EventKind]

class Priority(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRIORITY_UNSPECIFIED: _ClassVar[Priority]
    PRIORITY_NORMAL: _ClassVar[Priority]
    PRIORITY_URGENT: _ClassVar[Priority]
SOURCE_PLATFORM_UNSPECIFIED: SourcePlatform
SOURCE_PLATFORM_SLACK: SourcePlatform
SOURCE_PLATFORM_NOTION: SourcePlatform
SOURCE_PLATFORM_API: SourcePlatform
CHANNEL_TYPE_UNSPECIFIED: ChannelType
CHANNEL_TYPE_PUBLIC: ChannelType
CHANNEL_TYPE_PRIVATE: ChannelType
CHANNEL_TYPE_MPIM: ChannelType
CHANNEL_TYPE_IM: ChannelType
EVENT_KIND_UNSPECIFIED: EventKind
EVENT_KIND_MESSAGE: EventKind
EVENT_KIND_MESSAGE_CHANGED: EventKind
EVENT_KIND_THREAD_BROADCAST: EventKind
EVENT_KIND_FILE_SHARE: EventKind
PRIORITY_UNSPECIFIED: Priority
PRIORITY_NORMAL: Priority
PRIORITY_URGENT: Priority

class FileRef(_message.Message):
    __slots__ = ("id", "name", "mimetype", "size", "url_private_download")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    MIMETYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    URL_PRIVATE_DOWNLOAD_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    mimetype: str
    size: int
    url_private_download: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., mimetype: _Optional[str] = ..., size: _Optional[int] = ..., url_private_download: _Optional[str] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("event_id", "source", "workspace_id", "channel_id", "channel_type", "user_id", "ts", "thread_ts", "text", "kind", "event_time", "received_time", "files", "priority")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TS_FIELD_NUMBER: _ClassVar[int]
    THREAD_TS_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_TIME_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    source: SourcePlatform
    workspace_id: str
    channel_id: str
    channel_type: ChannelType
    user_id: str
    ts: str
    thread_ts: str
    text: str
    kind: EventKind
    event_time: _timestamp_pb2.Timestamp
    received_time: _timestamp_pb2.Timestamp
    files: _containers.RepeatedCompositeFieldContainer[FileRef]
    priority: Priority
    def __init__(self, event_id: _Optional[str] = ..., source: _Optional[_Union[SourcePlatform, str]] = ..., workspace_id: _Optional[str] = ..., channel_id: _Optional[str] = ..., channel_type: _Optional[_Union[ChannelType, str]] = ..., user_id: _Optional[str] = ..., ts: _Optional[str] = ..., thread_ts: _Optional[str] = ..., text: _Optional[str] = ..., kind: _Optional[_Union[EventKind, str]] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., received_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., files: _Optional[_Iterable[_Union[FileRef, _Mapping]]] = ..., priority: _Optional[_Union[Priority, str]] = ...) -> None: ...
