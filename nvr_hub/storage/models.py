"""SQLAlchemy 2 typed models; Alembic revisions in `migrations/` own the schema."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""

    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Stream(Base):
    """A camera and how it is recorded; the columns mirror the documented stream object."""

    __tablename__ = "streams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(String(2048))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    streaming_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    width: Mapped[int] = mapped_column(Integer, default=1280)
    height: Mapped[int] = mapped_column(Integer, default=720)
    fps: Mapped[int] = mapped_column(Integer, default=15)
    codec: Mapped[str] = mapped_column(String(16), default="h264")
    priority: Mapped[int] = mapped_column(Integer, default=5)
    record: Mapped[bool] = mapped_column(Boolean, default=True)
    segment_duration: Mapped[int] = mapped_column(Integer, default=60)
    protocol: Mapped[int] = mapped_column(Integer, default=0)
    record_audio: Mapped[bool] = mapped_column(Boolean, default=True)
    detection_based_recording: Mapped[bool] = mapped_column(Boolean, default=False)
    detection_model: Mapped[str] = mapped_column(String(256), default="")
    detection_threshold: Mapped[float] = mapped_column(Float, default=0.5)
    detection_interval: Mapped[int] = mapped_column(Integer, default=10)
    pre_detection_buffer: Mapped[int] = mapped_column(Integer, default=5)
    post_detection_buffer: Mapped[int] = mapped_column(Integer, default=10)
    detection_api_url: Mapped[str] = mapped_column(String(2048), default="")
    is_onvif: Mapped[bool] = mapped_column(Boolean, default=False)
    onvif_username: Mapped[str] = mapped_column(String(128), default="")
    onvif_password: Mapped[str] = mapped_column(String(128), default="")
    onvif_profile: Mapped[str] = mapped_column(String(128), default="")
    ptz_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    backchannel_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    buffer_strategy: Mapped[str] = mapped_column(String(32), default="auto")
    retention_days: Mapped[int] = mapped_column(Integer, default=0)
    detection_retention_days: Mapped[int] = mapped_column(Integer, default=0)
    max_storage_mb: Mapped[int] = mapped_column(BigInteger, default=0)
    detection_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    sub_stream_url: Mapped[str] = mapped_column(String(2048), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DetectionZone(Base):
    """A polygon (normalised 0–1) that includes an area for detection."""

    __tablename__ = "detection_zones"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    zone_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    color: Mapped[str] = mapped_column(String(32), default="#ff0000")
    polygon: Mapped[list[Any]] = mapped_column(JSON)
    filter_classes: Mapped[list[Any]] = mapped_column(JSON)
    min_confidence: Mapped[float] = mapped_column(Float, default=0.0)

    __table_args__ = (Index("ix_zones_stream", "stream_id"),)


class MotionConfig(Base):
    """Per-stream motion recording configuration."""

    __tablename__ = "motion_configs"

    stream_id: Mapped[int] = mapped_column(
        ForeignKey("streams.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    pre_buffer_seconds: Mapped[int] = mapped_column(Integer, default=5)
    post_buffer_seconds: Mapped[int] = mapped_column(Integer, default=10)
    max_file_duration: Mapped[int] = mapped_column(Integer, default=300)
    retention_days: Mapped[int] = mapped_column(Integer, default=7)
    max_storage_mb: Mapped[int] = mapped_column(BigInteger, default=0)


class Recording(Base):
    """One recorded segment file; a row exists from the moment its file opens."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The stream's name, not a foreign key: recordings outlive their stream.
    stream_name: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(1024), unique=True)
    start_time: Mapped[datetime] = mapped_column()
    end_time: Mapped[datetime | None] = mapped_column(nullable=True)
    duration: Mapped[float] = mapped_column(Float, default=0.0)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    codec: Mapped[str] = mapped_column(String(16), default="")
    capture_method: Mapped[str] = mapped_column(String(16), default="continuous")
    has_detection: Mapped[bool] = mapped_column(Boolean, default=False)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    retention_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    is_complete: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        Index("ix_recordings_stream_start", "stream_name", "start_time"),
        Index("ix_recordings_start", "start_time"),
        Index("ix_recordings_protected", "protected", "start_time"),
        Index("ix_recordings_detection", "has_detection", "start_time"),
        # One stream's detections over a time range: the two indexes above each narrow
        # only one of stream and detection (bench/README.md, "Database").
        Index("ix_recordings_stream_detection", "stream_name", "has_detection", "start_time"),
    )


class Detection(Base):
    """One detected object or motion box, normalised to 0–1."""

    __tablename__ = "detections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stream_name: Mapped[str] = mapped_column(String(64))
    time: Mapped[datetime] = mapped_column()
    label: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float)
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    width: Mapped[float] = mapped_column(Float)
    height: Mapped[float] = mapped_column(Float)
    zone_id: Mapped[str] = mapped_column(String(64), default="")
    recording_id: Mapped[int | None] = mapped_column(
        ForeignKey("recordings.id", ondelete="SET NULL"), nullable=True
    )

    __table_args__ = (Index("ix_detections_stream_time", "stream_name", "time"),)


class MotionEvent(Base):
    """One motion or detection event: from the first detection to the end of its quiet time."""

    __tablename__ = "motion_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stream_name: Mapped[str] = mapped_column(String(64))
    start_time: Mapped[datetime] = mapped_column()
    end_time: Mapped[datetime | None] = mapped_column(nullable=True)
    source: Mapped[str] = mapped_column(String(16), default="motion")  # motion, api, test
    labels: Mapped[list[Any]] = mapped_column(JSON)
    max_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    # The JPEG of the triggering frame, relative to the storage folder ("" = none).
    snapshot: Mapped[str] = mapped_column(String(1024), default="")
    recording_id: Mapped[int | None] = mapped_column(
        ForeignKey("recordings.id", ondelete="SET NULL"), nullable=True
    )

    __table_args__ = (Index("ix_motion_events_stream_start", "stream_name", "start_time"),)


class User(Base):
    """An account; the password is an argon2id hash."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(255), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="user")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_change_locked: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last TOTP time step accepted, so a code cannot be replayed in its window.
    totp_last_step: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login: Mapped[datetime | None] = mapped_column(nullable=True)


class Session(Base):
    """A login session; only the SHA-256 of its token is stored."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    address: Mapped[str] = mapped_column(String(64), default="")

    __table_args__ = (Index("ix_sessions_user", "user_id"),)


class ApiKey(Base):
    """An API key; only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used: Mapped[datetime | None] = mapped_column(nullable=True)

    __table_args__ = (Index("ix_api_keys_user", "user_id"),)


class Setting(Base):
    """One runtime setting, stored as JSON; absent rows fall back to the config file."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
