"""Values that more than one web module shares."""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"  # shipped as package data
EXAMPLES = (
    "签约了多少个项目？",
    "2016年至2020年全区累计实施了多少个产业扶贫项目？",
    "吸引了多少名人才回乡？",
    "生活垃圾焚烧发电项目每天处理多少吨垃圾？",
)
