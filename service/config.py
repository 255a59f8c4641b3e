"""Configuration objects, in the Flask style: a base, then what differs per environment."""

from __future__ import annotations

import os
import secrets

from storage.database import database_url


class Config:
    DATABASE_URL: str = database_url()
    SECRET_KEY: str = os.environ.get("SECRET_KEY") or secrets.token_hex(32)
    MAX_CONTENT_LENGTH: int = 8 * 1024 * 1024
    JSON_SORT_KEYS = False
    TESTING = False
    BPMN_DIR: str = os.environ.get("BPMN_DIR", "bpmn")


class TestConfig(Config):
    TESTING = True
