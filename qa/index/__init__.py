"""The index: one build path (build.py), the store on disk (store.py), and the parts
that each save and load themselves: BM25 (bm25.py), vectors (vectors.py), spans (spans.py)."""
