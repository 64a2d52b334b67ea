"""From files to the rows the store keeps: read, detect languages, cut, embed.

loaders.read_document: txt / md / html / pdf / vtt / srt → text and page metadata (captions: and when each line is said) (BadDocument if not)
language.detect: the language of a text, among the configured ones (lingua)
chunking.make_passages: token-sized passages with exact offsets, over sentences
pipeline.ingest_paths: the incremental, resumable ingest of files and folders
pipeline.ingest_text: one text into the store, committed as a source version last
pipeline.IngestReport: what an ingest added, updated, relabelled, skipped and pruned
building.prepare: one text's passages and sentences, with their languages
building.build_rows: one source version's rows and vectors, built and written nowhere
ray_ingest.OnRay: a Builder whose builds are Ray tasks (`assistant ingest --ray`)
uploads.declared_upload: an uploaded file's declared fields checked before it is read
"""
