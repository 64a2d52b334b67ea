"""The index in Chroma: versioned rows, committed per source, and their language tallies.

chroma.Store: the collections, writes in batches, commit records, the generation marker
records.SourceRecord: a committed source's labels and version, as the index keeps it
client.connect: Chroma embedded at a directory or a server at a URL; errors say the fix
failures.explained: a failing Chroma call as the StoreUnavailable that names its remedy
rows.Sentence: a stored sentence row; rows also owns every row id and its metadata
centroids.Centroids: each language's centroid from per-source tallies (its baseline)
"""
