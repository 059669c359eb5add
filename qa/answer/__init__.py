"""The answering stages: Question → Retriever → Extractor → Judge."""
